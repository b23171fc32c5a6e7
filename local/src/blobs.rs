//! Local blob storage for photos: files under `<data>/photos`, reached through short-lived URLs
//! signed with HMAC-SHA256, the way S3 presigned URLs work on AWS.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::ids::PhotoId;
use feedback_core::photo::{BlobUrls, ImageType, Photo, MAX_PHOTO_BYTES};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The path prefix the local host serves blobs under.
pub const PREFIX: &str = "/local-blobs/photos/";

pub struct LocalBlobs {
    key: Vec<u8>,
    dir: PathBuf,
    base_url: Arc<OnceLock<String>>,
}

/// Why a blob request is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BlobError {
    BadSignature,
    Expired,
    WrongContent,
    NotFound,
}

impl LocalBlobs {
    /// Blobs under `<data>/photos`, signed with a key kept in `<data>/blob-signing.key`.
    pub fn open(data_dir: &Path, base_url: Arc<OnceLock<String>>) -> anyhow::Result<LocalBlobs> {
        let dir = data_dir.join("photos");
        crate::datadir::create_private_dir(&dir)?;
        let key = crate::datadir::key(data_dir, "blob-signing.key", "photo URL signing key")?;
        Ok(LocalBlobs { key, dir, base_url })
    }

    fn sign(&self, parts: &[&str]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(parts.join("\n").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn check(&self, parts: &[&str], sig: &str, expires: &str) -> Result<(), BlobError> {
        let expected = self.sign(parts);
        let ok: bool =
            expected.len() == sig.len() && expected.bytes().zip(sig.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
        if !ok {
            return Err(BlobError::BadSignature);
        }
        let exp: i64 = expires.parse().map_err(|_| BlobError::BadSignature)?;
        if Utc::now().timestamp() > exp {
            return Err(BlobError::Expired);
        }
        Ok(())
    }

    fn base(&self) -> &str {
        self.base_url.get().map(String::as_str).unwrap_or("http://127.0.0.1:3000")
    }

    fn path(&self, id: &PhotoId) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Stores an upload after checking its signature, expiry, type and size. Durable on return.
    pub fn put(&self, id: &str, query: &Query, content_type: &str, body: &[u8]) -> Result<(), BlobError> {
        let id = PhotoId::parse(id).map_err(|_| BlobError::NotFound)?;
        let size = body.len().to_string();
        self.check(&["PUT", &id.to_string(), &query.ct, &query.size, &query.expires], &query.sig, &query.expires)?;
        if content_type != query.ct || size != query.size || body.len() as u64 > MAX_PHOTO_BYTES {
            return Err(BlobError::WrongContent);
        }
        let tmp = self.dir.join(format!("{id}.part"));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let _ = std::fs::remove_file(&tmp);
            let mut f = crate::datadir::create_private_file(&tmp)?;
            f.write_all(body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.path(&id))
        };
        write().map_err(|_| BlobError::NotFound)
    }

    /// Reads a photo after checking the download signature; returns its bytes and type.
    pub fn get(&self, id: &str, query: &Query) -> Result<(Vec<u8>, String), BlobError> {
        let id = PhotoId::parse(id).map_err(|_| BlobError::NotFound)?;
        self.check(&["GET", &id.to_string(), &query.ct, &query.expires], &query.sig, &query.expires)?;
        ImageType::parse(&query.ct).ok_or(BlobError::BadSignature)?;
        let bytes = std::fs::read(self.path(&id)).map_err(|_| BlobError::NotFound)?;
        Ok((bytes, query.ct.clone()))
    }
}

/// The query of a signed blob URL.
#[derive(Debug, Default)]
pub struct Query {
    pub ct: String,
    pub size: String,
    pub expires: String,
    pub sig: String,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        let mut q = Query::default();
        for pair in raw.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = v.replace("%2F", "/").replace("%2f", "/");
            match k {
                "ct" => q.ct = v,
                "size" => q.size = v,
                "expires" => q.expires = v,
                "sig" => q.sig = v,
                _ => {}
            }
        }
        q
    }
}

#[async_trait]
impl BlobUrls for LocalBlobs {
    async fn upload_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        let (id, ct, size, exp) = (
            photo.id.to_string(),
            photo.content_type.as_str(),
            photo.size_bytes.to_string(),
            expires_at.timestamp().to_string(),
        );
        let sig = self.sign(&["PUT", &id, ct, &size, &exp]);
        Ok(format!("{}{PREFIX}{id}?ct={}&size={size}&expires={exp}&sig={sig}", self.base(), ct.replace('/', "%2F")))
    }

    async fn download_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        let (id, ct, exp) = (photo.id.to_string(), photo.content_type.as_str(), expires_at.timestamp().to_string());
        let sig = self.sign(&["GET", &id, ct, &exp]);
        Ok(format!("{}{PREFIX}{id}?ct={}&expires={exp}&sig={sig}", self.base(), ct.replace('/', "%2F")))
    }
}
