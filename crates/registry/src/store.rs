//! The registry's storage under `<data-dir>/registry/`:
//! - `blobs/sha256/<xx>/<hex>`: content-addressed blobs (layers, configs, manifests), written as a
//!   `.tmp-*` file in `uploads/`, verified against their digest, fsynced and renamed into place;
//! - `uploads/<uuid>`: in-progress uploads (appended by PATCH, committed by PUT);
//! - `registry.db` (SQLite, WAL): which blobs and manifests each repository has (`links`, `manifests`),
//!   its tags, the blobs each manifest references (`refs`) and the open uploads.
//!
//! A repository is scoped by its image repository's incarnation (the object's `created_on`), so images
//! of a dropped or replaced repository are invisible at once, whatever the garbage collector has done.
//! Every write of the tables, every blob commit and the garbage collector hold one mutex (the
//! connection's), so a collection never deletes a blob between its commit and its link.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::{RegistryError, Result};

/// A repository name within an image repository's incarnation: `<db>/<schema>/<repo>` + `<image…>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// `<db>/<schema>/<repo>`, lower case.
    pub repository: String,
    /// The image repository's incarnation (its `created_on`).
    pub incarnation: i64,
    /// The image path below the repository (`my_image`, `team/app`).
    pub image: String,
}

impl Scope {
    /// The OCI repository name (`db/schema/repo/image`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.repository, self.image)
    }
}

/// Manifest media types floe accepts (Docker schema 2 and OCI; Docker schema 1 is not supported).
pub const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// A stored manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its media type, as pushed.
    pub media_type: String,
    /// Its bytes, exactly as pushed.
    pub body: Vec<u8>,
}

/// One tagged image, as SHOW IMAGES lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRow {
    /// Image path below the repository.
    pub image: String,
    /// The tag.
    pub tag: String,
    /// The tagged manifest's digest.
    pub digest: String,
    /// When the tag was last pushed, epoch ms.
    pub pushed_ms: i64,
}

/// What a collection removed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GcStats {
    /// Blob files deleted.
    pub blobs: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Abandoned uploads deleted.
    pub uploads: usize,
}

/// Uploads untouched for this long are abandoned and collected.
const UPLOAD_EXPIRY_MS: i64 = 24 * 3600 * 1000;

/// `sha256:<64 lower-case hex>` → the hex; anything else (other algorithms included) is DIGEST_INVALID.
pub fn parse_digest(digest: &str) -> Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => Ok(hex),
        _ => Err(RegistryError::digest_invalid(format!("unsupported or malformed digest: {digest}"))),
    }
}

/// The digest of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty() && b.len() <= 128 && (b[0].is_ascii_alphanumeric() || b[0] == b'_') && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The registry's files and tables.
pub struct Storage {
    root: PathBuf,
    db: Mutex<Connection>,
}

impl Storage {
    /// Opens (creating) `<root>` = `<data-dir>/registry`.
    pub fn open(root: &Path) -> Result<Storage> {
        std::fs::create_dir_all(root.join("blobs").join("sha256"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        let conn = Connection::open(root.join("registry.db"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS links(repository TEXT NOT NULL, incarnation INTEGER NOT NULL, image TEXT NOT NULL,
                 digest TEXT NOT NULL, PRIMARY KEY(repository, incarnation, image, digest));
             CREATE TABLE IF NOT EXISTS manifests(repository TEXT NOT NULL, incarnation INTEGER NOT NULL, image TEXT NOT NULL,
                 digest TEXT NOT NULL, media_type TEXT NOT NULL, created_ms INTEGER NOT NULL,
                 PRIMARY KEY(repository, incarnation, image, digest));
             CREATE TABLE IF NOT EXISTS tags(repository TEXT NOT NULL, incarnation INTEGER NOT NULL, image TEXT NOT NULL,
                 tag TEXT NOT NULL, digest TEXT NOT NULL, pushed_ms INTEGER NOT NULL,
                 PRIMARY KEY(repository, incarnation, image, tag));
             CREATE TABLE IF NOT EXISTS refs(manifest TEXT NOT NULL, blob TEXT NOT NULL, PRIMARY KEY(manifest, blob));
             CREATE TABLE IF NOT EXISTS uploads(uuid TEXT PRIMARY KEY, repository TEXT NOT NULL, incarnation INTEGER NOT NULL,
                 image TEXT NOT NULL, started_ms INTEGER NOT NULL);",
        )?;
        Ok(Storage { root: root.to_path_buf(), db: Mutex::new(conn) })
    }

    /// Where a blob's bytes live.
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        let hex = parse_digest(digest)?;
        Ok(self.root.join("blobs").join("sha256").join(&hex[..2]).join(hex))
    }

    /// The file of an upload.
    pub fn upload_path(&self, uuid: &str) -> PathBuf {
        self.root.join("uploads").join(uuid)
    }

    /// The size of a blob the repository has (linked to it and present), or `None`.
    pub fn blob_size(&self, scope: &Scope, digest: &str) -> Result<Option<u64>> {
        let path = self.blob_path(digest)?;
        let db = self.db.lock();
        let linked: bool = db
            .query_row(
                "SELECT 1 FROM links WHERE repository=?1 AND incarnation=?2 AND image=?3 AND digest=?4",
                params![scope.repository, scope.incarnation, scope.image, digest],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if !linked {
            return Ok(None);
        }
        Ok(std::fs::metadata(&path).ok().map(|m| m.len()))
    }

    /// Opens an upload session for the repository: an empty file and its row.
    pub fn start_upload(&self, scope: &Scope) -> Result<String> {
        let uuid = uuid::Uuid::new_v4().to_string();
        // Under the lock: the collector deletes upload files without a row.
        let db = self.db.lock();
        std::fs::File::create(self.upload_path(&uuid))?;
        db.execute(
            "INSERT INTO uploads(uuid, repository, incarnation, image, started_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
            params![uuid, scope.repository, scope.incarnation, scope.image, now_ms()],
        )?;
        Ok(uuid)
    }

    /// The upload's bytes so far, if the session exists for this repository.
    pub fn upload_size(&self, scope: &Scope, uuid: &str) -> Result<u64> {
        if uuid::Uuid::parse_str(uuid).is_err() {
            return Err(RegistryError::upload_unknown());
        }
        let found: Option<(String, i64, String)> = self
            .db
            .lock()
            .query_row("SELECT repository, incarnation, image FROM uploads WHERE uuid=?1", params![uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        match found {
            Some((repository, incarnation, image)) if repository == scope.repository && incarnation == scope.incarnation && image == scope.image => {
                std::fs::metadata(self.upload_path(uuid)).map(|m| m.len()).map_err(|_| RegistryError::upload_unknown())
            }
            _ => Err(RegistryError::upload_unknown()),
        }
    }

    /// Cancels an upload.
    pub fn cancel_upload(&self, scope: &Scope, uuid: &str) -> Result<()> {
        self.upload_size(scope, uuid)?;
        self.db.lock().execute("DELETE FROM uploads WHERE uuid=?1", params![uuid])?;
        let _ = std::fs::remove_file(self.upload_path(uuid));
        Ok(())
    }

    /// Completes an upload whose bytes hash to `actual`: refuses a digest mismatch (removing the upload),
    /// else fsyncs and renames the file into the blob store (or drops it when the blob is there) and
    /// links the blob to the repository. Blocking (fsync).
    pub fn commit_upload(&self, scope: &Scope, uuid: &str, expected: &str, actual: &str) -> Result<()> {
        parse_digest(expected)?;
        let file = self.upload_path(uuid);
        if expected != actual {
            self.db.lock().execute("DELETE FROM uploads WHERE uuid=?1", params![uuid])?;
            let _ = std::fs::remove_file(&file);
            return Err(RegistryError::digest_invalid(format!("content does not match digest {expected} (it is {actual})")));
        }
        std::fs::File::open(&file)?.sync_all()?;
        let target = self.blob_path(expected)?;
        let dir = target.parent().expect("blob dir");
        std::fs::create_dir_all(dir)?;
        let mut db = self.db.lock();
        if target.exists() {
            std::fs::remove_file(&file)?;
        } else {
            std::fs::rename(&file, &target)?;
            std::fs::File::open(dir)?.sync_all()?;
        }
        let tx = db.transaction()?;
        tx.execute("DELETE FROM uploads WHERE uuid=?1", params![uuid])?;
        tx.execute(
            "INSERT OR IGNORE INTO links(repository, incarnation, image, digest) VALUES(?1, ?2, ?3, ?4)",
            params![scope.repository, scope.incarnation, scope.image, expected],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Cross-repository mount: links a blob `from` has into `to`. False when `from` lacks it.
    pub fn mount(&self, to: &Scope, from: &Scope, digest: &str) -> Result<bool> {
        if self.blob_size(from, digest)?.is_none() {
            return Ok(false);
        }
        self.db.lock().execute(
            "INSERT OR IGNORE INTO links(repository, incarnation, image, digest) VALUES(?1, ?2, ?3, ?4)",
            params![to.repository, to.incarnation, to.image, digest],
        )?;
        Ok(true)
    }

    /// Stores a manifest under a tag or its own digest. Checks that it parses, that its media type is
    /// supported, that a digest reference matches the content, and that every blob (image manifests)
    /// or child manifest (indexes) it references is in the repository. Returns its digest.
    pub fn put_manifest(&self, scope: &Scope, reference: &str, content_type: Option<&str>, body: &[u8]) -> Result<String> {
        let digest = digest_of(body);
        let is_digest = reference.contains(':');
        if is_digest {
            parse_digest(reference)?;
            if reference != digest {
                return Err(RegistryError::digest_invalid(format!("manifest digest {reference} does not match its content ({digest})")));
            }
        } else if !valid_tag(reference) {
            return Err(RegistryError::tag_invalid(reference));
        }
        let json: Value = serde_json::from_slice(body).map_err(|e| RegistryError::manifest_invalid(format!("manifest is not JSON: {e}")))?;
        let media_type = json["mediaType"]
            .as_str()
            .or(content_type.filter(|c| MANIFEST_TYPES.contains(c)))
            .ok_or_else(|| RegistryError::manifest_invalid("manifest has no mediaType"))?
            .to_string();
        if !MANIFEST_TYPES.contains(&media_type.as_str()) {
            return Err(RegistryError::manifest_invalid(format!("unsupported manifest media type {media_type}")));
        }
        if json["schemaVersion"].as_i64() != Some(2) {
            return Err(RegistryError::manifest_invalid("schemaVersion must be 2"));
        }
        let is_index = media_type.ends_with("manifest.list.v2+json") || media_type.ends_with("image.index.v1+json");
        let descriptor_digest = |d: &Value| -> Result<String> {
            let digest = d["digest"].as_str().ok_or_else(|| RegistryError::manifest_invalid("descriptor without digest"))?;
            parse_digest(digest)?;
            Ok(digest.to_string())
        };
        // (digest, whether it must be a manifest of the repository rather than a blob)
        let mut references: Vec<(String, bool)> = Vec::new();
        if is_index {
            for m in json["manifests"].as_array().ok_or_else(|| RegistryError::manifest_invalid("index without manifests"))? {
                references.push((descriptor_digest(m)?, true));
            }
        } else {
            references.push((descriptor_digest(&json["config"])?, false));
            for layer in json["layers"].as_array().ok_or_else(|| RegistryError::manifest_invalid("manifest without layers"))? {
                // Non-distributable layers (with `urls`) are fetched from elsewhere by clients.
                if layer.get("urls").is_none() {
                    references.push((descriptor_digest(layer)?, false));
                }
            }
        }
        let target = self.blob_path(&digest)?;
        let dir = target.parent().expect("blob dir");
        std::fs::create_dir_all(dir)?;
        let mut db = self.db.lock();
        for (d, manifest) in &references {
            let table = if *manifest { "manifests" } else { "links" };
            let present: bool = db
                .query_row(
                    &format!("SELECT 1 FROM {table} WHERE repository=?1 AND incarnation=?2 AND image=?3 AND digest=?4"),
                    params![scope.repository, scope.incarnation, scope.image, d],
                    |_| Ok(true),
                )
                .optional()?
                .unwrap_or(false);
            if !present || (!manifest && !self.blob_path(d)?.exists()) {
                return Err(RegistryError::manifest_blob_unknown(d));
            }
        }
        if !target.exists() {
            let temp = self.root.join("uploads").join(format!(".tmp-{}", uuid::Uuid::new_v4()));
            let mut f = std::fs::File::create(&temp)?;
            f.write_all(body)?;
            f.sync_all()?;
            std::fs::rename(&temp, &target)?;
            std::fs::File::open(dir)?.sync_all()?;
        }
        let now = now_ms();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO manifests(repository, incarnation, image, digest, media_type, created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            params![scope.repository, scope.incarnation, scope.image, digest, media_type, now],
        )?;
        for (d, _) in &references {
            tx.execute("INSERT OR IGNORE INTO refs(manifest, blob) VALUES(?1, ?2)", params![digest, d])?;
        }
        if !is_digest {
            tx.execute(
                "INSERT OR REPLACE INTO tags(repository, incarnation, image, tag, digest, pushed_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                params![scope.repository, scope.incarnation, scope.image, reference, digest, now],
            )?;
        }
        tx.commit()?;
        Ok(digest)
    }

    /// A manifest by tag or digest.
    pub fn manifest(&self, scope: &Scope, reference: &str) -> Result<Option<Manifest>> {
        let db = self.db.lock();
        let digest: Option<String> = if reference.contains(':') {
            parse_digest(reference)?;
            Some(reference.to_string())
        } else {
            if !valid_tag(reference) {
                return Err(RegistryError::tag_invalid(reference));
            }
            db.query_row(
                "SELECT digest FROM tags WHERE repository=?1 AND incarnation=?2 AND image=?3 AND tag=?4",
                params![scope.repository, scope.incarnation, scope.image, reference],
                |r| r.get(0),
            )
            .optional()?
        };
        let Some(digest) = digest else { return Ok(None) };
        let media_type: Option<String> = db
            .query_row(
                "SELECT media_type FROM manifests WHERE repository=?1 AND incarnation=?2 AND image=?3 AND digest=?4",
                params![scope.repository, scope.incarnation, scope.image, digest],
                |r| r.get(0),
            )
            .optional()?;
        drop(db);
        let Some(media_type) = media_type else { return Ok(None) };
        let mut body = Vec::new();
        match std::fs::File::open(self.blob_path(&digest)?) {
            Ok(mut f) => f.read_to_end(&mut body)?,
            Err(_) => return Ok(None),
        };
        Ok(Some(Manifest { digest, media_type, body }))
    }

    /// The repository's tags, sorted.
    pub fn tags(&self, scope: &Scope) -> Result<Vec<String>> {
        let db = self.db.lock();
        let mut stmt = db.prepare("SELECT tag FROM tags WHERE repository=?1 AND incarnation=?2 AND image=?3 ORDER BY tag")?;
        let rows = stmt.query_map(params![scope.repository, scope.incarnation, scope.image], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    /// Every repository name (scope) holding a manifest, for `_catalog`.
    pub fn names(&self) -> Result<Vec<Scope>> {
        let db = self.db.lock();
        let mut stmt = db.prepare("SELECT DISTINCT repository, incarnation, image FROM manifests ORDER BY repository, image")?;
        let rows = stmt.query_map([], |r| Ok(Scope { repository: r.get(0)?, incarnation: r.get(1)?, image: r.get(2)? }))?;
        Ok(rows.collect::<rusqlite::Result<Vec<Scope>>>()?)
    }

    /// The tagged images of an image repository's incarnation, by image then tag.
    pub fn images(&self, repository: &str, incarnation: i64) -> Result<Vec<ImageRow>> {
        let db = self.db.lock();
        let mut stmt = db.prepare("SELECT image, tag, digest, pushed_ms FROM tags WHERE repository=?1 AND incarnation=?2 ORDER BY image, tag")?;
        let rows = stmt.query_map(params![repository, incarnation], |r| Ok(ImageRow { image: r.get(0)?, tag: r.get(1)?, digest: r.get(2)?, pushed_ms: r.get(3)? }))?;
        Ok(rows.collect::<rusqlite::Result<Vec<ImageRow>>>()?)
    }

    /// Garbage collection. Forgets every repository not in `live` (dropped or replaced image
    /// repositories: their links, manifests and tags), deletes abandoned uploads, then deletes every blob
    /// file no live repository links or holds as a manifest. Holds the storage mutex throughout, so a
    /// concurrent blob commit happens entirely before or after it; bytes still being uploaded are in
    /// `uploads/`, which only abandoned sessions leave.
    pub fn gc(&self, live: &[(String, i64)]) -> Result<GcStats> {
        let mut stats = GcStats::default();
        let mut db = self.db.lock();
        let tx = db.transaction()?;
        tx.execute_batch("CREATE TEMP TABLE IF NOT EXISTS live(repository TEXT, incarnation INTEGER); DELETE FROM live;")?;
        for (repository, incarnation) in live {
            tx.execute("INSERT INTO live(repository, incarnation) VALUES(?1, ?2)", params![repository, incarnation])?;
        }
        for table in ["links", "manifests", "tags", "uploads"] {
            tx.execute(&format!("DELETE FROM {table} WHERE (repository, incarnation) NOT IN (SELECT repository, incarnation FROM live)"), [])?;
        }
        let expired: Vec<String> = {
            let mut stmt = tx.prepare("SELECT uuid FROM uploads WHERE started_ms < ?1")?;
            stmt.query_map(params![now_ms() - UPLOAD_EXPIRY_MS], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        tx.execute("DELETE FROM uploads WHERE started_ms < ?1", params![now_ms() - UPLOAD_EXPIRY_MS])?;
        tx.execute("DELETE FROM refs WHERE manifest NOT IN (SELECT digest FROM manifests)", [])?;
        let keep: HashSet<String> = {
            let mut stmt = tx.prepare("SELECT digest FROM links UNION SELECT digest FROM manifests UNION SELECT blob FROM refs")?;
            stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        let open: HashSet<String> = {
            let mut stmt = tx.prepare("SELECT uuid FROM uploads")?;
            stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        tx.commit()?;
        for uuid in &expired {
            if std::fs::remove_file(self.upload_path(uuid)).is_ok() {
                stats.uploads += 1;
            }
        }
        // Upload files with no session row (a crash between file and row, or an interrupted manifest write).
        for entry in std::fs::read_dir(self.root.join("uploads"))?.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !open.contains(&name) && !expired.contains(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        for dir in std::fs::read_dir(self.root.join("blobs").join("sha256"))?.flatten() {
            for entry in std::fs::read_dir(dir.path())?.flatten() {
                let digest = format!("sha256:{}", entry.file_name().to_string_lossy());
                if !keep.contains(&digest) {
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    if std::fs::remove_file(entry.path()).is_ok() {
                        stats.blobs += 1;
                        stats.bytes += size;
                    }
                }
            }
        }
        drop(db);
        Ok(stats)
    }
}
