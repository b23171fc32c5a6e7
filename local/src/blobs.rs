//! Local blob storage for photos: files under `<data>/photos`, reached through short-lived URLs
//! signed with HMAC-SHA256, the way S3 presigned URLs work on AWS.

use anyhow::Context;
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
    /// The type or size differs from the signed ones.
    WrongContent,
    /// The bytes are not an image of the announced type.
    NotAnImage,
    /// The upload URL was used already: each takes one upload.
    AlreadyUploaded,
    NotFound,
    /// The photo could not be written (a full disk, an I/O error).
    Unavailable,
}

/// An upload whose signature, expiry, type and announced size were checked before any of its
/// body was read: the body may now be read, up to `size` bytes.
#[derive(Debug)]
pub struct PutPermit {
    id: PhotoId,
    kind: ImageType,
    /// The signed size in bytes.
    pub size: u64,
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

    /// Checks an upload from its URL and headers alone, before any of the body is read: the
    /// signature, the expiry, the type and the declared length against the signed ones, and that
    /// the URL was not used yet.
    pub fn authorize_put(
        &self,
        id: &str,
        query: &Query,
        content_type: &str,
        content_length: Option<u64>,
    ) -> Result<PutPermit, BlobError> {
        let id = PhotoId::parse(id).map_err(|_| BlobError::NotFound)?;
        self.check(&["PUT", &id.to_string(), &query.ct, &query.size, &query.expires], &query.sig, &query.expires)?;
        let kind = query.ct.parse::<ImageType>().map_err(|_| BlobError::WrongContent)?;
        let size: u64 = query.size.parse().map_err(|_| BlobError::WrongContent)?;
        if content_type != query.ct || size > MAX_PHOTO_BYTES || content_length.is_some_and(|n| n != size) {
            return Err(BlobError::WrongContent);
        }
        if self.path(&id).exists() {
            return Err(BlobError::AlreadyUploaded);
        }
        Ok(PutPermit { id, kind, size })
    }

    /// Stores the body of an authorized upload, once: its length must be the signed size and
    /// its first bytes those of the signed image type. Durable on return.
    pub fn store(&self, permit: &PutPermit, body: &[u8]) -> Result<(), BlobError> {
        if body.len() as u64 != permit.size {
            return Err(BlobError::WrongContent);
        }
        if !permit.kind.matches(body) {
            return Err(BlobError::NotAnImage);
        }
        let id = &permit.id;
        let tmp = self.dir.join(format!("{id}.{}.part", ulid::Ulid::new()));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = crate::datadir::create_private_file(&tmp)?;
            f.write_all(body)?;
            f.sync_all()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(error = %e, "a photo could not be written");
            return Err(BlobError::Unavailable);
        }
        // A link never replaces an existing file: of two uploads racing on one URL, one wins.
        let linked = std::fs::hard_link(&tmp, self.path(id));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(BlobError::AlreadyUploaded),
            Err(e) => {
                tracing::warn!(error = %e, "a photo could not be written");
                Err(BlobError::Unavailable)
            }
        }
    }

    /// Stores an upload after checking its signature, expiry, type and size. Durable on return.
    pub fn put(&self, id: &str, query: &Query, content_type: &str, body: &[u8]) -> Result<(), BlobError> {
        let permit = self.authorize_put(id, query, content_type, Some(body.len() as u64))?;
        self.store(&permit, body)
    }

    /// Reads a photo after checking the download signature; returns its bytes and type.
    pub fn get(&self, id: &str, query: &Query) -> Result<(Vec<u8>, String), BlobError> {
        let id = PhotoId::parse(id).map_err(|_| BlobError::NotFound)?;
        self.check(&["GET", &id.to_string(), &query.ct, &query.expires], &query.sig, &query.expires)?;
        query.ct.parse::<ImageType>().map_err(|_| BlobError::BadSignature)?;
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

    async fn first_bytes(&self, photo: &Photo, n: usize) -> anyhow::Result<Option<Vec<u8>>> {
        use std::io::Read;
        let file = match std::fs::File::open(self.path(&photo.id)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context("reading a photo")),
        };
        let mut head = Vec::with_capacity(n);
        file.take(n as u64).read_to_end(&mut head).context("reading a photo")?;
        Ok(Some(head))
    }

    async fn delete(&self, photo: &Photo) -> anyhow::Result<()> {
        match std::fs::remove_file(self.path(&photo.id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context("deleting a photo")),
        }
    }
}
