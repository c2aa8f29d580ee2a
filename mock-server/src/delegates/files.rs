//! Files a delegate's processes read: EKS projected service-account tokens and ECS
//! authorization token files. Each server keeps them in its own temporary directory,
//! removed when the server is dropped; files are replaced atomically, so a reader never sees
//! half a token.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One server's delegate files.
#[derive(Debug)]
pub(crate) struct Files {
    dir: PathBuf,
    /// What each written file holds (a digest of its inputs: they can be secret, such as an
    /// ECS authorization token) and when it must be written again (Unix seconds).
    written: Mutex<HashMap<PathBuf, (String, i64)>>,
    /// Held for a whole refresh, so refreshes (clock moves, the ticker, world loads) never
    /// interleave.
    refreshing: Mutex<()>,
}

impl Files {
    /// A fresh directory under the system's temporary directory.
    pub(crate) fn new() -> io::Result<Self> {
        let mut random = [0u8; 8];
        rand::fill(&mut random[..]);
        let dir = std::env::temp_dir().join(format!(
            "trustbench-{}-{}",
            std::process::id(),
            hex::encode(random)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            written: Mutex::new(HashMap::new()),
            refreshing: Mutex::new(()),
        })
    }

    /// Where an eks delegate's service-account token is.
    pub(crate) fn token_path(&self, delegate: &str) -> PathBuf {
        self.dir.join(delegate).join("token")
    }

    /// Where an ecs delegate's authorization token file is.
    pub(crate) fn auth_token_path(&self, delegate: &str) -> PathBuf {
        self.dir.join(delegate).join("auth-token")
    }

    /// Serialises refreshes: hold the guard while refreshing.
    pub(crate) fn refreshing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.refreshing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `path` must be (re)written: never written, written from other inputs
    /// (`fingerprint`), or due at `now`.
    pub(crate) fn stale(&self, path: &Path, fingerprint: &str, now: i64) -> bool {
        let fingerprint = digest(fingerprint);
        self.written()
            .get(path)
            .is_none_or(|(f, due)| *f != fingerprint || now >= *due)
    }

    /// Replaces `path` with `contents` (readable by the owner only), to be written again at
    /// `due`.
    pub(crate) fn write(
        &self,
        path: &Path,
        contents: &str,
        fingerprint: &str,
        due: i64,
    ) -> io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut random = [0u8; 8];
        rand::fill(&mut random[..]);
        let partial = path.with_extension(format!("{}.partial", hex::encode(random)));
        std::fs::write(&partial, contents)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o600))?;
        }
        std::fs::rename(&partial, path)?;
        self.written()
            .insert(path.to_owned(), (digest(fingerprint), due));
        Ok(())
    }

    /// Forgets files of delegates that are gone, removing them.
    pub(crate) fn keep_only(&self, delegates: &[&str]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !delegates.iter().any(|d| name == **d) {
                let path = entry.path();
                self.written().retain(|p, _| !p.starts_with(&path));
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }

    fn written(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (String, i64)>> {
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A SHA-256 digest of a file's inputs, so no secret is kept in memory twice.
fn digest(inputs: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(inputs.as_bytes()))
}
