//! Photo uploads and the listener under abuse: a bad signature is refused before the body is
//! read, an upload URL takes one upload, the bytes must be the announced image type,
//! announcements are rate limited per resident, and the listener caps connections and closes
//! silent ones.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{temp_data_dir, Host};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0x42u8; len.max(6)];
    b[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let n = b.len();
    b[n - 2..].copy_from_slice(&[0xFF, 0xD9]);
    b
}

async fn announce(host: &Host, token: &str, content_type: &str, size: usize) -> reqwest::Response {
    host.http
        .post(host.url("/v1/photos"))
        .bearer_auth(token)
        .json(&json!({"content_type": content_type, "size_bytes": size}))
        .send()
        .await
        .unwrap()
}

async fn upload_url(host: &Host, token: &str, content_type: &str, size: usize) -> String {
    let r = announce(host, token, content_type, size).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["upload_url"].as_str().unwrap().to_owned()
}

async fn put(host: &Host, url: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    host.http.put(url).header("content-type", content_type).body(body).send().await.unwrap()
}

/// The peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn uploads_with_a_bad_signature_are_refused_before_their_body_is_read() {
    let data = temp_data_dir("bad-signature-flood");
    let host = Host::start(&data, &[], &[]).await;
    let alice = host.citizen("flood-1").await;
    let size = 5 * 1024 * 1024;
    let url = upload_url(&host, &alice, "image/jpeg", size).await;
    let forged = url.replace("sig=", "sig=0");
    let pid = host.child.id().unwrap();
    let before = peak_rss_kib(pid);
    let body = jpeg(size);
    let puts = (0..60).map(|_| {
        let (http, forged, body) = (host.http.clone(), forged.clone(), body.clone());
        tokio::spawn(async move {
            // The host answers before the body is sent; the client may see the answer or a reset.
            if let Ok(r) = http.put(forged).header("content-type", "image/jpeg").body(body).send().await {
                assert_eq!(r.status(), 403);
            }
        })
    });
    for p in puts.collect::<Vec<_>>() {
        p.await.unwrap();
    }
    let after = peak_rss_kib(pid);
    eprintln!("peak RSS of the host: {before} KiB before, {after} KiB after 60 forged 5 MiB uploads");
    assert!(after < before + 40 * 1024, "the host read forged bodies: {before} KiB -> {after} KiB");
    // The genuine upload still works.
    assert_eq!(put(&host, &url, "image/jpeg", body).await.status(), 200);
}

#[tokio::test]
async fn an_upload_url_takes_one_upload() {
    let data = temp_data_dir("single-use");
    let host = Host::start(&data, &[], &[]).await;
    let alice = host.citizen("single-use-1").await;
    let photo = jpeg(3000);
    let url = upload_url(&host, &alice, "image/jpeg", photo.len()).await;
    assert_eq!(put(&host, &url, "image/jpeg", photo.clone()).await.status(), 200);
    let again = put(&host, &url, "image/jpeg", photo).await;
    assert_eq!(again.status(), 409);
    assert_eq!(again.headers()["content-type"], "application/problem+json");
    assert_eq!(again.json::<Value>().await.unwrap()["code"], "upload_url_used");
}

#[tokio::test]
async fn an_upload_that_is_not_the_announced_image_type_is_refused() {
    let data = temp_data_dir("magic-bytes");
    let host = Host::start(&data, &[], &[]).await;
    let alice = host.citizen("magic-1").await;
    let html = b"<!doctype html><html><body><script>alert(1)</script></body></html>".to_vec();
    let url = upload_url(&host, &alice, "image/jpeg", html.len()).await;
    let refused = put(&host, &url, "image/jpeg", html.clone()).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], "not_an_image");
    // A PNG announced as JPEG is refused as well; nothing was stored, so the URL still takes a JPEG.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(html.len(), 0);
    assert_eq!(put(&host, &url, "image/jpeg", png).await.status(), 422);
    assert_eq!(put(&host, &url, "image/jpeg", jpeg(html.len())).await.status(), 200);
}

#[tokio::test]
async fn a_message_cannot_name_a_photo_that_was_announced_but_not_uploaded() {
    let data = temp_data_dir("not-uploaded");
    let host = Host::start(&data, &[], &[]).await;
    let alice = host.citizen("not-uploaded-1").await;
    let r = announce(&host, &alice, "image/jpeg", 3000).await;
    let photo_id = r.json::<Value>().await.unwrap()["photo_id"].as_str().unwrap().to_owned();
    let mut msg = common::pothole();
    msg["photo_ids"] = json!([photo_id]);
    let refused = host.post_message(&alice, None, &msg).await;
    assert_eq!(refused.status(), 422);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "photo_ids[0]", "{problem}");
}

#[tokio::test]
async fn the_host_serves_at_most_max_connections_at_once() {
    let data = temp_data_dir("max-connections");
    let host = Host::start(&data, &["--max-connections", "2"], &[]).await;
    let addr = host.base.trim_start_matches("http://").to_owned();
    // Two silent connections take both slots.
    let a = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let b = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = host.http.get(host.url("/healthz")).timeout(Duration::from_secs(1)).send().await;
    assert!(waiting.is_err(), "a third connection was served: {waiting:?}");
    drop(a);
    drop(b);
    let served = host.http.get(host.url("/healthz")).timeout(Duration::from_secs(5)).send().await.unwrap();
    assert_eq!(served.status(), 200);
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let data = temp_data_dir("idle-connection");
    let host = Host::start(&data, &["--request-timeout", "1s"], &[]).await;
    let addr = host.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "a silent connection was kept open: {closed:?}");
}
