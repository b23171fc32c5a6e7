//! `cargo run -p feedback-openapi` rewrites the committed OpenAPI document.

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(feedback_openapi::COMMITTED);
    std::fs::write(&path, feedback_openapi::render())?;
    println!("wrote {}", path.display());
    Ok(())
}
