//! Compiles every file of `web/dist` into the crate: writes `$OUT_DIR/assets.rs`, a sorted table
//! of `(path, include_bytes!(...))`. The table is sorted so that the build is reproducible, and
//! Cargo reruns this script whenever a file under `web/dist` changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dist = manifest.join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out = String::from("pub(crate) static FILES: &[(&str, &[u8], &str)] = &[\n");
    for rel in &files {
        let abs = dist.join(rel);
        println!("cargo:rerun-if-changed={}", abs.display());
        let bytes = std::fs::read(&abs).unwrap_or_else(|e| panic!("reading {}: {e}", abs.display()));
        let etag = format!("\"{:016x}\"", fnv1a(&bytes));
        let line = format!("    ({rel:?}, include_bytes!({:?}), {etag:?}),", abs.display().to_string());
        writeln!(out, "{line}").expect("write to a String");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("assets.rs");
    std::fs::write(dest, out).expect("writing assets.rs");
}

/// FNV-1a, 64 bits: a stable content fingerprint for the `ETag` header.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("a path under web/dist");
            files.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
        }
    }
}
