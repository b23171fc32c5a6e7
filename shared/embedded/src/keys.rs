//! The local host's custody of ballot keys: one file per poll in the secrets folder, which is kept
//! apart from the data folder, `0700`, each key file `0600`. A destroyed key's file is overwritten
//! with zeros and synced before it is removed.

use async_trait::async_trait;
use feedback_core::ids::PollId;
use feedback_core::participation::{BallotKey, BallotKeys};
use feedback_core::StoreError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Ballot keys in a folder.
#[derive(Debug, Clone)]
pub struct FolderKeys {
    dir: PathBuf,
}

fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::backend(context, e)
}

impl FolderKeys {
    /// The keys in `dir`, which is created (`0700`) when missing.
    pub fn open(dir: &Path) -> std::io::Result<FolderKeys> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
        Ok(FolderKeys { dir: dir.to_path_buf() })
    }

    fn path(&self, poll: &PollId) -> PathBuf {
        self.dir.join(format!("ballot-{poll}.key"))
    }
}

#[async_trait]
impl BallotKeys for FolderKeys {
    async fn put_key(&self, poll: &PollId, key: &BallotKey) -> Result<(), StoreError> {
        let path = self.path(poll);
        let text = zeroize::Zeroizing::new(hex::encode(key.as_bytes()));
        tokio::task::spawn_blocking(move || {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = match options.open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(StoreError::Conflict),
                Err(e) => return Err(io("creating a ballot key file")(e)),
            };
            file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io("writing a ballot key file"))
        })
        .await
        .map_err(|e| StoreError::backend("ballot key task", e))?
    }

    async fn get_key(&self, poll: &PollId) -> Result<Option<BallotKey>, StoreError> {
        let path = self.path(poll);
        tokio::task::spawn_blocking(move || {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => zeroize::Zeroizing::new(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io("reading a ballot key file")(e)),
            };
            let bytes = hex::decode(text.trim()).map_err(|e| StoreError::backend("decoding a ballot key file", e))?;
            BallotKey::from_bytes(bytes).map(Some).map_err(|e| StoreError::backend("decoding a ballot key file", e))
        })
        .await
        .map_err(|e| StoreError::backend("ballot key task", e))?
    }

    async fn destroy_key(&self, poll: &PollId) -> Result<(), StoreError> {
        let path = self.path(poll);
        tokio::task::spawn_blocking(move || {
            let mut file = match std::fs::OpenOptions::new().write(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io("opening a ballot key file")(e)),
            };
            let len = file.metadata().map_err(io("reading a ballot key file"))?.len();
            let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
            file.write_all(&zeros).and_then(|()| file.sync_all()).map_err(io("overwriting a ballot key file"))?;
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io("removing a ballot key file")(e)),
            }
        })
        .await
        .map_err(|e| StoreError::backend("ballot key task", e))?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn a_key_is_kept_privately_once_and_destroyed_for_good() {
        let dir = std::env::temp_dir().join(format!("feedback-keys-{}", ulid::Ulid::new()));
        let keys = FolderKeys::open(&dir).unwrap();
        let poll = PollId::new_at(chrono::Utc::now());
        let (key, _) = feedback_core::participation::seal::new_key_pair();
        keys.put_key(&poll, &key).await.unwrap();
        assert!(matches!(keys.put_key(&poll, &key).await, Err(StoreError::Conflict)));
        assert_eq!(keys.get_key(&poll).await.unwrap().unwrap().as_bytes(), key.as_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&keys.path(&poll)), 0o600);
        }
        keys.destroy_key(&poll).await.unwrap();
        assert!(keys.get_key(&poll).await.unwrap().is_none());
        assert!(!keys.path(&poll).exists());
        keys.destroy_key(&poll).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
