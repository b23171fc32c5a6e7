//! A failing log sink does not stop the host: with stdout and stderr on a full device, the
//! banner and the request log are lost but every request is still answered.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::process::Stdio;
use std::time::Duration;

#[tokio::test]
async fn the_host_keeps_serving_when_its_log_output_is_full() {
    let data = common::temp_data_dir("full-stdout");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let full = || Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full"));
    let region = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/regions/72-tyumen.toml");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_feedback"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&data)
        .arg("--region-file")
        .arg(region)
        .env("RUST_LOG", "info")
        .stdout(full())
        .stderr(full())
        .kill_on_drop(true)
        .spawn()
        .expect("start feedback");
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the host exited with {status} when its output failed");
        }
        if http.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the host did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..20 {
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    }
    assert!(child.try_wait().unwrap().is_none(), "the host exited");
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
