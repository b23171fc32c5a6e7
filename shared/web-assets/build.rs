//! Compiles every file of `web/dist` into the crate: writes `$OUT_DIR/assets.rs`, a sorted table
//! of `(path, include_bytes!(...))`. The table is sorted so that the build is reproducible, and
//! Cargo reruns this script whenever a file under `web/dist` changes.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| format!("CARGO_MANIFEST_DIR: {e}"))?);
    let dist = manifest.join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files)?;
    }
    files.sort();
    let mut out = String::from("pub(crate) static FILES: &[(&str, &[u8], &str)] = &[\n");
    for rel in &files {
        let abs = dist.join(rel);
        println!("cargo:rerun-if-changed={}", abs.display());
        let bytes = std::fs::read(&abs).map_err(|e| format!("reading {}: {e}", abs.display()))?;
        let etag = format!("\"{:016x}\"", fnv1a(&bytes));
        let line = format!("    ({rel:?}, include_bytes!({:?}), {etag:?}),", abs.display().to_string());
        writeln!(out, "{line}")?;
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?).join("assets.rs");
    std::fs::write(&dest, out).map_err(|e| format!("writing {}: {e}", dest.display()))?;
    Ok(())
}

/// FNV-1a, 64 bits: a stable content fingerprint for the `ETag` header.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) -> Result<(), Box<dyn Error>> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("reading {}: {e}", dir.display()))?.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files)?;
        } else {
            let rel = path.strip_prefix(root)?;
            files.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
        }
    }
    Ok(())
}
