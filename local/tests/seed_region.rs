//! `feedback seed-region` against a DynamoDB endpoint (moto in CI) and a local data folder.
//! The AWS case needs AWS_ENDPOINT_URL; without it the test fails, it never skips.

// Test code: helpers outside `#[test]` functions fail loudly, as asserts do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::Command;

fn feedback(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_feedback"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run feedback");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn seeding_a_stack_table_is_validated_and_idempotent() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(!endpoint.is_empty(), "AWS_ENDPOINT_URL is not set: run scripts/test.sh, which starts moto_server");
    let table = format!("feedback-seed-{}", std::process::id());
    let (ok, out) = feedback(&["seed-region", "--target", "aws", "--table", &table, "--create-table"]);
    assert!(ok, "{out}");
    assert!(out.contains("26 municipalities") && out.contains("— seeded"), "{out}");
    let (ok, out) = feedback(&["seed-region", "--target", "aws", "--table", &table]);
    assert!(ok, "{out}");
    assert!(out.contains("— unchanged"), "{out}");
}

#[test]
fn a_broken_region_file_is_refused_before_anything_is_written() {
    let dir = std::env::temp_dir().join(format!("feedback-seed-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/regions/72-tyumen.toml")).unwrap();
    let file = dir.join("broken.toml");
    std::fs::write(&file, text.replacen("category_id = \"zhkh\"", "category_id = \"zhkh-nope\"", 1)).unwrap();
    let data = dir.join("data");
    let (ok, out) =
        feedback(&["seed-region", "--region-file", file.to_str().unwrap(), "--data", data.to_str().unwrap()]);
    assert!(!ok);
    assert!(out.contains("broken.toml") && out.contains("неизвестная категория «zhkh-nope»"), "{out}");
    assert!(!data.join("feedback.db").exists(), "nothing was written");
    let (ok, out) = feedback(&["seed-region", "--data", data.to_str().unwrap()]);
    assert!(ok && out.contains("— seeded"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
