//! Compiles the sandbox program (`sandbox/pause.rs`) into a static executable that the driver embeds
//! and imports as the sandbox image of multi-container instances (see `sandbox_image`). Built here,
//! not as a workspace binary, because it must be static (`+crt-static`) while the rest is not, and
//! Cargo has no per-crate target features.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let src = manifest.join("sandbox").join("pause.rs");
    println!("cargo:rerun-if-changed={}", src.display());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = std::env::var("TARGET").expect("TARGET");
    let status = Command::new(rustc)
        .args(["--edition=2024", "--crate-type=bin", "--target", &target])
        .args(["-C", "opt-level=2", "-C", "panic=abort", "-C", "strip=symbols", "-C", "target-feature=+crt-static"])
        .arg("-o")
        .arg(out.join("floe-sandbox"))
        .arg(&src)
        .status()
        .expect("run rustc for the sandbox program");
    assert!(status.success(), "building the static sandbox program failed (needs the C library's static archive, libc6-dev)");
}
