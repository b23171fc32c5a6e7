//! The binary runs from any folder: with no region file given and none under the current folder,
//! it uses the default region (and its demo model) built into it, and says so.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};

#[tokio::test]
async fn serve_starts_from_a_folder_without_the_region_file() {
    let dir = temp_data_dir("any-folder-serve");
    std::fs::create_dir_all(&dir).unwrap();
    let (host, log) = Host::start_in(&dir, &dir.join("data")).await;
    assert!(
        log.iter().any(|l| l.contains("region file") && l.contains("the built-in infra/regions/72-tyumen.toml")),
        "{log:?}"
    );
    assert!(log.iter().any(|l| l.contains("region seeded")), "{log:?}");
    assert_eq!(host.http.get(host.url("/healthz")).send().await.unwrap().status(), 200);
    let token = host.citizen("citizen-any-folder").await;
    let categories = host.get(&token, "/v1/categories").await;
    assert_eq!(categories.status(), 200);
    let plain = categories.bytes().await.unwrap().len();

    // Text goes compressed to a client that takes it: the category list and the portal's script
    // (the shell itself is under the 1 KiB below which nothing is compressed).
    let shell = host.http.get(host.url("/")).send().await.unwrap().text().await.unwrap();
    let script = shell.split("src=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    assert!(script.starts_with("/assets/") && script.ends_with(".js"), "{script}");
    for (encoding, path) in [("gzip", "/v1/categories"), ("br", "/v1/categories"), ("br, gzip", script.as_str())] {
        let resp = host.http.get(host.url(path)).header("accept-encoding", encoding).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let used = resp.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(used.as_deref(), Some(encoding.split(',').next().unwrap()), "{path} with {encoding}");
        let sent = resp.bytes().await.unwrap().len();
        if path == "/v1/categories" {
            assert!(sent * 2 < plain, "{encoding}: {sent} bytes compressed against {plain} plain");
        }
    }
    // Without Accept-Encoding, as before.
    let resp = host.http.get(host.url("/v1/categories")).send().await.unwrap();
    assert!(resp.headers().get("content-encoding").is_none());
    host.kill9().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn seed_generates_from_a_folder_without_the_region_file() {
    let dir = temp_data_dir("any-folder-seed");
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_feedback"))
        .args(["seed", "--messages", "20", "--days", "10", "--data", "data"])
        .current_dir(&dir)
        .env_remove("FEEDBACK_REGION_FILE")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the built-in infra/regions/72-tyumen.toml") && text.contains("seed: 20 messages"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
