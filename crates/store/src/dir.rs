//! The data dir: its lock against a second server and its format version with ordered migrations.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The data-dir format this binary writes. Older formats are migrated in order; newer ones refused.
///
/// History: 1 = catalog tables and segments; 2 = adds the generic `objects` table (users, warehouses, …);
/// 3 = logs.db keeps who wrote each line in a `sources` table (migrated by `LogStore::open`; the catalog
/// is unchanged, the version tells an older floe, which would fail on the new logs.db, to refuse the dir).
pub const FORMAT_VERSION: u32 = 3;

/// An opened, locked data dir.
#[derive(Debug)]
pub struct DataDir {
    /// The root path.
    pub path: PathBuf,
    /// Held for the life of the process: the OS releases it when the process dies, even by `kill -9`.
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed and takes its exclusive lock.
    pub fn open(path: &Path) -> Result<DataDir> {
        fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        fs::create_dir_all(path.join("segments")).map_err(|e| Error::io(path, e))?;
        let lock_path = path.join("floe.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked(path.display().to_string())),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        Ok(DataDir { path: path.to_path_buf(), _lock: lock })
    }

    /// Path of the SQLite catalog.
    pub fn catalog_path(&self) -> PathBuf {
        self.path.join("floe.db")
    }

    /// Directory of segment files.
    pub fn segments_path(&self) -> PathBuf {
        self.path.join("segments")
    }
}

/// fsyncs a directory so that renames and creations in it are durable.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|f| f.sync_all()).map_err(|e| Error::io(path, e))
}
