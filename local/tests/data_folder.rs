//! The data folder of `feedback serve`: its key files are never replaced, and it is private to
//! its owner.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
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
    for file in ["voter-roll.key", "dev-signing.key", "blob-signing.key"] {
        let data = temp_data_dir(&format!("damaged-{file}"));
        let host = Host::start(&data, &[], &[]).await;
        host.kill9().await;
        let path = data.join(file);
        let damaged = [0xffu8, 0xfe, 0x00, 0x80, b'\n'];
        std::fs::write(&path, damaged).unwrap();

        let stderr = refused_start(&data).await;
        assert!(stderr.contains(&path.display().to_string()), "{file}: {stderr}");
        assert_eq!(std::fs::read(&path).unwrap(), damaged, "{file} was replaced");
    }
}

#[tokio::test]
async fn the_voter_roll_survives_a_restart() {
    let data = temp_data_dir("voter-roll-restart");
    let host = Host::start(&data, &[], &[]).await;
    let key = std::fs::read(data.join("voter-roll.key")).unwrap();
    host.kill9().await;
    let host = Host::start(&data, &[], &[]).await;
    assert_eq!(std::fs::read(data.join("voter-roll.key")).unwrap(), key);
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

    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("photos")), 0o700);
    let files =
        ["feedback.db", "feedback.db-wal", "feedback.db-shm", "voter-roll.key", "dev-signing.key", "blob-signing.key"];
    for file in files {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    host.kill9().await;

    for file in files {
        std::fs::set_permissions(data.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let host = Host::start(&data, &[], &[]).await;
    assert_eq!(mode(&data), 0o700);
    for file in files {
        assert_eq!(mode(&data.join(file)), 0o600, "{file} after restart");
    }
    host.kill9().await;
}
