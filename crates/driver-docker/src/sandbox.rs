//! The sandbox image: one static program (`sandbox/pause.rs`, compiled by `build.rs`) that holds the
//! network namespace of a multi-container instance. Imported into the engine on first use (`docker
//! import` of a one-file root filesystem), named by the program's hash so that a new floe version
//! brings its own.

use sha2::{Digest, Sha256};

/// The static sandbox program.
static PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/floe-sandbox"));

/// `floe-sandbox:<first 12 hex digits of the program's SHA-256>`.
pub(crate) fn image_name() -> String {
    let hash = Sha256::digest(PROGRAM);
    let hex: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("floe-sandbox:{hex}")
}

/// The image's root filesystem as a tar archive: the program at `driver::SANDBOX_ENTRYPOINT`.
pub(crate) fn rootfs_tar() -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(PROGRAM.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, driver::SANDBOX_ENTRYPOINT.trim_start_matches('/'), PROGRAM)?;
    tar.into_inner()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rootfs_holds_the_static_program_alone() {
        let bytes = super::rootfs_tar().unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap(), e.header().size().unwrap())
            })
            .collect();
        assert_eq!(entries, vec![("floe-sandbox".to_string(), 0o755, super::PROGRAM.len() as u64)]);
        // An ELF executable without an interpreter (static): no PT_INTERP program header.
        assert_eq!(&super::PROGRAM[..4], b"\x7fELF");
        let p = super::PROGRAM;
        let u16_at = |at: usize| u16::from_le_bytes([p[at], p[at + 1]]) as usize;
        let phoff = u64::from_le_bytes(p[32..40].try_into().unwrap()) as usize;
        let (phentsize, phnum) = (u16_at(54), u16_at(56));
        let types: Vec<u32> = (0..phnum).map(|i| u32::from_le_bytes(p[phoff + i * phentsize..][..4].try_into().unwrap())).collect();
        assert!(!types.is_empty() && !types.contains(&3), "the sandbox program must be static (PT_INTERP found)");
        assert!(super::image_name().starts_with("floe-sandbox:"));
    }
}
