//! The data and secrets folders of `feedback serve`: their key files are never replaced, and they
//! are private to their owner.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
use feedback_local::host::default_secrets_dir;
use std::path::Path;
use std::time::Duration;

/// Runs `feedback serve` on a data folder expected to be refused; returns its stderr.
async fn refused_start(data: &Path) -> String {
    let region = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml");
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_feedback"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--region-file")
            .arg(region)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the host should stop at once")
    .expect("run feedback");
    assert!(!out.status.success(), "the host started on a damaged key file");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_damaged_key_file_stops_the_host_and_is_never_replaced() {
    for (secret, file) in
        [(true, "voter-roll.key"), (true, "vapid.key"), (false, "dev-signing.key"), (false, "blob-signing.key")]
    {
        let data = temp_data_dir(&format!("damaged-{file}"));
        let host = Host::start(&data, &[], &[]).await;
        host.kill9().await;
        let path = if secret { default_secrets_dir(&data) } else { data.clone() }.join(file);
        let damaged = [0xffu8, 0xfe, 0x00, 0x80, b'\n'];
        std::fs::write(&path, damaged).unwrap();

        let stderr = refused_start(&data).await;
        assert!(stderr.contains(&path.display().to_string()), "{file}: {stderr}");
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "{file} was replaced");
    }
}

#[tokio::test]
async fn the_voter_roll_and_the_vapid_key_survive_a_restart() {
    let data = temp_data_dir("voter-roll-restart");
    let key_files = [default_secrets_dir(&data).join("voter-roll.key"), default_secrets_dir(&data).join("vapid.key")];
    let host = Host::start(&data, &[], &[]).await;
    let keys: Vec<Vec<u8>> = key_files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!data.join("voter-roll.key").exists(), "the voter-roll key is in the data folder");
    assert!(!data.join("vapid.key").exists(), "the VAPID key is in the data folder");
    host.kill9().await;
    let host = Host::start(&data, &[], &[]).await;
    for (file, key) in key_files.iter().zip(&keys) {
        assert_eq!(&std::fs::read(file).unwrap(), key, "{}", file.display());
    }
    host.kill9().await;
}

/// A data folder from a version that kept the voter-roll key in it: the key moves to the secrets
/// folder, unchanged, so the voter roll still knows who voted.
#[tokio::test]
async fn a_voter_roll_key_in_the_data_folder_moves_to_the_secrets_folder() {
    let data = temp_data_dir("voter-roll-moves");
    let key_file = default_secrets_dir(&data).join("voter-roll.key");
    let host = Host::start(&data, &[], &[]).await;
    host.kill9().await;
    let key = std::fs::read(&key_file).unwrap();
    std::fs::rename(&key_file, data.join("voter-roll.key")).unwrap();
    let host = Host::start(&data, &[], &[]).await;
    assert_eq!(std::fs::read(&key_file).unwrap(), key);
    assert!(!data.join("voter-roll.key").exists());
    host.kill9().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_is_private_and_looser_files_are_tightened_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let data = temp_data_dir("private");
    let host = Host::start(&data, &[], &[]).await;
    // A submission makes the database write its log.
    let token = host.citizen("private-1").await;
    assert_eq!(host.post_message(&token, None, &common::pothole()).await.status(), 201);

    let secrets = default_secrets_dir(&data);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("photos")), 0o700);
    assert_eq!(mode(&secrets), 0o700);
    let files = [
        data.join("feedback.db"),
        data.join("feedback.db-wal"),
        data.join("feedback.db-shm"),
        data.join("dev-signing.key"),
        data.join("blob-signing.key"),
        secrets.join("voter-roll.key"),
        secrets.join("vapid.key"),
    ];
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    host.kill9().await;

    for file in &files {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    for dir in [&data, &secrets] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let host = Host::start(&data, &[], &[]).await;
    assert_eq!((mode(&data), mode(&secrets)), (0o700, 0o700));
    for file in &files {
        assert_eq!(mode(file), 0o600, "{} after restart", file.display());
    }
    host.kill9().await;
}
