//! Store errors: each says whether the write certainly did not happen.

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed; the transaction was rolled back, so nothing was committed.
    #[error("catalog database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation in the data dir failed.
    #[error("data dir i/o error on {path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An Arrow encoding or decoding error.
    #[error("segment encoding error: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// The data dir is locked by another server.
    #[error("data dir {0} is locked by another floe server")]
    Locked(String),
    /// The data dir has a format this binary does not know.
    #[error("data dir format version {found} is newer than this floe supports ({supported}); upgrade floe")]
    NewerFormat {
        /// The version found on disk.
        found: u32,
        /// The newest version this binary knows.
        supported: u32,
    },
    /// A change refers to an object that is gone or conflicts with one that exists.
    #[error("{0}")]
    Conflict(String),
    /// Stored data is not what this binary expects.
    #[error("corrupt data dir: {0}")]
    Corrupt(String),
}

/// Result alias for the store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io { path: path.display().to_string(), source }
    }
}
