//! The web portal (`web/dist`, built by Vite) compiled into the binary, so that one executable
//! serves the API and the portal with no files beside it. Both hosts use it: the local host
//! (`feedback serve`) and, on AWS, the deployment step that copies the same files to S3.
//!
//! Paths are resolved the way a single-page application needs: a known file is served as it
//! is, and any other path without a file extension is a client-side route, answered with
//! `index.html`.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Hashed build output (`assets/name-HASH.js`) never changes under its name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (`index.html`, `favicon.svg`) is revalidated on every use.
pub const REVALIDATE: &str = "no-cache";

/// One file of the portal with the headers it is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The path under `web/dist`, without a leading slash.
    pub path: &'static str,
    pub body: &'static [u8],
    pub content_type: &'static str,
    pub cache_control: &'static str,
    /// A strong validator of the content, quoted as the `ETag` header wants it.
    pub etag: &'static str,
}

impl Asset {
    /// Whether this is the application shell (served for client-side routes).
    pub fn is_shell(&self) -> bool {
        self.path == "index.html"
    }
}

/// Every file of the build, sorted by path.
pub fn all() -> impl Iterator<Item = Asset> {
    generated::FILES.iter().map(|(path, body, etag)| asset(path, body, etag))
}

/// The file at exactly this path (leading slash optional).
pub fn get(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    let i = generated::FILES.binary_search_by(|(p, _, _)| (*p).cmp(path)).ok()?;
    generated::FILES.get(i).map(|&(p, body, etag)| asset(p, body, etag))
}

/// What a browser asking for `request_path` gets: the file itself, or the shell for a
/// client-side route. `None` means 404: a missing file (a path whose last segment has an
/// extension), a path that tries to leave the folder, or a build without `index.html`.
pub fn resolve(request_path: &str) -> Option<Asset> {
    let path = request_path.trim_start_matches('/');
    if path.split('/').any(|segment| segment == ".." || segment == ".") || path.contains('\\') {
        return None;
    }
    if path.is_empty() {
        return get("index.html");
    }
    if let Some(found) = get(path) {
        return Some(found);
    }
    let last = path.rsplit('/').next().unwrap_or(path);
    if last.contains('.') {
        None
    } else {
        get("index.html")
    }
}

fn asset(path: &'static str, body: &'static [u8], etag: &'static str) -> Asset {
    let cache_control = if path.starts_with("assets/") { IMMUTABLE } else { REVALIDATE };
    Asset { path, body, content_type: content_type(path), cache_control, etag }
}

/// The `Content-Type` for a file name, by its extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_has_a_shell_and_its_hashed_assets() {
        let shell = get("/index.html").expect("web/dist/index.html is built");
        assert_eq!(shell.content_type, "text/html; charset=utf-8");
        assert_eq!(shell.cache_control, REVALIDATE);
        let html = std::str::from_utf8(shell.body).unwrap();
        assert!(html.contains("lang=\"ru\""), "the shell declares Russian");
        // The service worker keeps its name at the root: its URL is its identity and its scope.
        let scripts: Vec<Asset> = all().filter(|a| a.path.ends_with(".js") && a.path != "sw.js").collect();
        assert!(!scripts.is_empty());
        for script in scripts {
            assert!(script.path.starts_with("assets/"), "{}", script.path);
            assert_eq!(script.cache_control, IMMUTABLE);
            assert_eq!(script.content_type, "text/javascript; charset=utf-8");
        }
        let worker = get("/sw.js").expect("the service worker is built at the root");
        assert_eq!((worker.content_type, worker.cache_control), ("text/javascript; charset=utf-8", REVALIDATE));
        for asset in all() {
            assert!(asset.etag.starts_with('"') && asset.etag.ends_with('"') && asset.etag.len() == 18);
        }
    }

    #[test]
    fn client_routes_get_the_shell_and_missing_files_do_not() {
        assert!(resolve("/").unwrap().is_shell());
        assert!(resolve("/messages/01JABCDEF").unwrap().is_shell());
        assert!(resolve("/admin/polls/new").unwrap().is_shell());
        assert_eq!(resolve("/assets/missing-1234.js"), None);
        assert_eq!(resolve("/favicon.ico.bak"), None);
        assert_eq!(resolve("/../Cargo.toml"), None);
        assert_eq!(resolve("/assets/../index.html"), None);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("a/b.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("logo.svg"), "image/svg+xml");
        assert_eq!(content_type("README"), "application/octet-stream");
    }
}
