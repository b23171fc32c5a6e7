//! The data folder of the local host: private to its owner (the folder and every subfolder 0700,
//! every file 0600), and the secret keys kept in it, which are created once and never replaced.
//!
//! A key file that exists but cannot be read or decoded stops the host with a message naming the
//! file: replacing it would silently invalidate what the key protects (a new voter-roll key
//! empties the voter roll, so residents could vote again; a new signing key logs everyone out).

use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The mode of the data folder and its subfolders.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in the data folder.
pub const FILE_MODE: u32 = 0o600;

/// The length of a generated key, in bytes.
const KEY_BYTES: usize = 32;

/// Creates the data folder (0700) if needed and tightens whatever in it is looser than 0700 for
/// folders and 0600 for files, one level of subfolders deep, with a warning naming each path.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    create_private_dir(dir)?;
    tighten_tree(dir, 2)
}

/// Creates a folder with mode 0700 (and its missing parents), or tightens an existing one.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir).with_context(|| format!("creating {}", dir.display()))?;
    tighten(dir, DIR_MODE)
}

/// Opens a new file for writing with mode 0600; fails if it exists.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options.open(path)
}

fn tighten_tree(dir: &Path, depth: u32) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let kind = entry.file_type().with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            tighten(&path, DIR_MODE)?;
            if depth > 1 {
                tighten_tree(&path, depth - 1)?;
            }
        } else if kind.is_file() {
            tighten(&path, FILE_MODE)?;
        }
    }
    Ok(())
}

/// Removes every permission beyond `mode` from a path, with a warning when there were any.
#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let current = meta.permissions().mode() & 0o777;
    if current & !mode != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(current & mode))
            .with_context(|| format!("restricting the permissions of {}", path.display()))?;
        tracing::warn!(
            path = %path.display(),
            was = format!("{current:o}"),
            now = format!("{:o}", current & mode),
            "tightened the permissions of a data file"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

/// The secret key kept in `<dir>/<file>`: read when the file exists, created (0600, exclusively)
/// when it does not. A file that exists but cannot be read or is not a hex key of 32 bytes or more
/// is an error naming the file; it is never overwritten. `what` names the key in messages.
pub fn key(dir: &Path, file: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(file);
    match create_private_file(&path) {
        Ok(f) => write_new_key(f, &path, what),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path, what),
        Err(e) => Err(e).with_context(|| format!("creating the {what} file {}", path.display())),
    }
}

fn write_new_key(mut file: std::fs::File, path: &PathBuf, what: &str) -> anyhow::Result<Vec<u8>> {
    let key: [u8; KEY_BYTES] = rand::random();
    let written = file.write_all(hex::encode(key).as_bytes()).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // The file was created just now by this call and holds no usable key: take it away so
        // that the next start creates the key again instead of refusing a truncated file.
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(e).with_context(|| format!("writing the new {what} file {}", path.display()));
    }
    tracing::info!(path = %path.display(), "created the {what}");
    Ok(key.to_vec())
}

fn read_key(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let advice = "restore the file from a backup; only if the data it protects may be invalidated, \
                  move it away and start again to create a new one";
    tighten(path, FILE_MODE)?;
    let bytes =
        std::fs::read(path).with_context(|| format!("the {what} file {} cannot be read; {advice}", path.display()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        bail!("the {what} file {} is damaged (not hex text); {advice}", path.display());
    };
    let Ok(key) = hex::decode(text.trim()) else {
        bail!("the {what} file {} is damaged (not hex text); {advice}", path.display());
    };
    if key.len() < KEY_BYTES {
        bail!(
            "the {what} file {} is damaged ({} bytes, at least {KEY_BYTES} expected); {advice}",
            path.display(),
            key.len()
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("feedback-datadir-{name}-{}", ulid::Ulid::new()));
        prepare(&dir).unwrap();
        dir
    }

    #[test]
    fn a_key_is_created_once_and_read_back() {
        let dir = temp("created");
        let first = key(&dir, "test.key", "test key").unwrap();
        assert_eq!(first.len(), KEY_BYTES);
        assert_eq!(key(&dir, "test.key", "test key").unwrap(), first);
    }

    #[test]
    fn a_damaged_key_file_stops_the_start_and_is_kept() {
        for damaged in [&[0xff, 0xfe, 0x00, 0x80][..], b"not hex at all", b"abcd", b""] {
            let dir = temp("damaged");
            let path = dir.join("test.key");
            std::fs::write(&path, damaged).unwrap();
            let err = format!("{:#}", key(&dir, "test.key", "test key").unwrap_err());
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert_eq!(std::fs::read(&path).unwrap(), damaged, "the file is left as it was");
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_folder_and_its_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = temp("private");
        assert_eq!(mode(&dir), 0o700);
        key(&dir, "test.key", "test key").unwrap();
        assert_eq!(mode(&dir.join("test.key")), 0o600);

        let loose = dir.join("loose.bin");
        std::fs::write(&loose, b"x").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        let sub = dir.join("photos");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let inner = sub.join("p");
        std::fs::write(&inner, b"x").unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o666)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&loose), 0o600);
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&inner), 0o600);
    }
}
