//! Photos attached to messages: the platform issues short-lived upload and download URLs and
//! keeps a record of each photo; the bytes live in blob storage (S3 or the local data folder).

use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::ids::{CitizenId, MessageId, PhotoId};
use crate::policy::can_read;
use crate::ports::{Clock, MessageStore, ReferenceStore, StoreError};
use crate::reference::Reference;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The largest accepted photo.
pub const MAX_PHOTO_BYTES: u64 = 5 * 1024 * 1024;
/// How long an upload or download URL stays valid.
pub const URL_TTL_MINUTES: i64 = 15;

/// How many photos a resident may announce: a rate per hour and a quota per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoPolicy {
    pub per_hour: u32,
    pub per_day: u32,
}

impl Default for PhotoPolicy {
    /// A message takes up to three photos, and a resident submits up to 20 messages an hour.
    fn default() -> Self {
        PhotoPolicy { per_hour: 30, per_day: 100 }
    }
}

/// An accepted image type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
pub enum ImageType {
    #[serde(rename = "image/jpeg")]
    #[strum(serialize = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    #[strum(serialize = "image/png")]
    Png,
}

impl ImageType {
    /// The media type, as serde writes it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
    /// Whether the bytes begin as a file of this type does (its magic number).
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            ImageType::Jpeg => bytes.starts_with(&[0xff, 0xd8, 0xff]),
            ImageType::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        }
    }
}

/// The record of an announced photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Photo {
    pub id: PhotoId,
    pub owner: CitizenId,
    pub content_type: ImageType,
    pub size_bytes: u64,
    pub created_at: DateTime<Utc>,
}

/// Photo records.
#[async_trait]
pub trait PhotoStore: Send + Sync + 'static {
    /// Stores a new photo record; an existing id is a `Conflict`.
    async fn put_photo(&self, photo: &Photo) -> Result<(), StoreError>;
    async fn get_photo(&self, id: &PhotoId) -> Result<Option<Photo>, StoreError>;
    /// Creation times of the owner's photos announced at or after `since`, oldest first, at
    /// most `limit`.
    async fn photos_announced_since(
        &self,
        owner: &CitizenId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError>;
    /// Photos announced before `before` and not yet found attached (`keep_photo`), oldest first.
    async fn pending_photos_before(&self, before: DateTime<Utc>, limit: usize) -> Result<Vec<Photo>, StoreError>;
    /// Records that the photo is attached to a message: it is kept and not examined again.
    async fn keep_photo(&self, id: &PhotoId) -> Result<(), StoreError>;
    /// Deletes a photo record; deleting a missing one is harmless.
    async fn delete_photo(&self, id: &PhotoId) -> Result<(), StoreError>;
}

/// Signs short-lived URLs to blob storage.
#[async_trait]
pub trait BlobUrls: Send + Sync + 'static {
    /// A URL that accepts one PUT of exactly this type and size until `expires_at`.
    async fn upload_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> Result<String, anyhow::Error>;
    /// The headers the upload must carry, exactly as signed into its URL.
    fn upload_headers(&self, photo: &Photo) -> BTreeMap<String, String> {
        BTreeMap::from([("Content-Type".to_owned(), photo.content_type.as_str().to_owned())])
    }
    /// A URL that serves the photo until `expires_at`.
    async fn download_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> Result<String, anyhow::Error>;
    /// Deletes the photo's bytes, if they were uploaded; deleting missing bytes is harmless.
    async fn delete(&self, photo: &Photo) -> Result<(), anyhow::Error>;
    /// The first `n` bytes of the uploaded photo (fewer if it is shorter), or `None` when nothing
    /// was uploaded.
    async fn first_bytes(&self, photo: &Photo, n: usize) -> Result<Option<Vec<u8>>, anyhow::Error>;
}

/// How many leading bytes identify an image type.
pub const MAGIC_BYTES: usize = 16;

/// What a sweep of unattached photos did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Photos found attached to a message, kept.
    pub kept: u32,
    /// Photos never attached, deleted with their bytes.
    pub deleted: u32,
}

/// A signed URL and when it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// Headers the request must carry (an upload's content type, and on S3 its single-use
    /// condition); empty for downloads.
    pub headers: BTreeMap<String, String>,
}

/// Announcing photos and reading them.
pub struct Photos<S, C> {
    store: S,
    clock: C,
    blobs: Arc<dyn BlobUrls>,
    reference: Arc<Reference<S>>,
    policy: PhotoPolicy,
}

impl<S: PhotoStore + MessageStore + ReferenceStore, C: Clock> Photos<S, C> {
    pub fn new(store: S, clock: C, blobs: Arc<dyn BlobUrls>, reference: Arc<Reference<S>>) -> Self {
        Self { store, clock, blobs, reference, policy: PhotoPolicy::default() }
    }

    /// The same, with another announcement rate and quota.
    pub fn with_policy(mut self, policy: PhotoPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Refuses an announcement over the resident's hourly rate or daily quota (429 with the
    /// seconds until a slot frees).
    async fn check_rate(&self, owner: &CitizenId, now: DateTime<Utc>) -> Result<(), ServiceError> {
        let (hour, day) = (Duration::hours(1), Duration::days(1));
        let limit = self.policy.per_day.max(self.policy.per_hour) as usize;
        let times = self.store.photos_announced_since(owner, now - day, limit).await?;
        let wait = |oldest: Option<&DateTime<Utc>>, window: Duration| -> ServiceError {
            let secs = oldest.map_or(window.num_seconds(), |t| (*t + window - now).num_seconds());
            ServiceError::RateLimited { retry_after_secs: secs.max(1) as u64 }
        };
        if times.len() >= self.policy.per_day as usize {
            let excess = times.len() - self.policy.per_day as usize;
            return Err(wait(times.get(excess), day));
        }
        let in_hour: Vec<&DateTime<Utc>> = times.iter().filter(|t| **t >= now - hour).collect();
        if in_hour.len() >= self.policy.per_hour as usize {
            let excess = in_hour.len() - self.policy.per_hour as usize;
            return Err(wait(in_hour.get(excess).copied(), hour));
        }
        Ok(())
    }

    /// Checks the photos a new message or an answer names: each must be uploaded, and its bytes
    /// must begin as the announced image type does. Returns the refusals as field errors `photo_ids[i]`;
    /// photos without a record or of another owner are left to `check_attachable`.
    pub async fn check_uploaded(&self, author: &CitizenId, ids: &[PhotoId]) -> Result<Vec<FieldError>, ServiceError> {
        let mut errs = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let Some(photo) = self.store.get_photo(id).await?.filter(|p| &p.owner == author) else { continue };
            let field = format!("photo_ids[{i}]");
            match self.blobs.first_bytes(&photo, MAGIC_BYTES).await? {
                None => errs.push(FieldError::new(field, "фотография ещё не загружена")),
                Some(bytes) if !photo.content_type.matches(&bytes) => errs.push(FieldError::new(
                    field,
                    format!("файл не является изображением {}", photo.content_type.as_str()),
                )),
                Some(_) => {}
            }
        }
        Ok(errs)
    }

    /// Deletes the photos announced longer ago than the region's retention keeps unattached
    /// photos (`Retention::unattached_photo_hours`, 24 h by default) that no message of
    /// their owner names, record and bytes; keeps (and stops examining) the attached ones. Run
    /// by the schedule; at most `limit` photos a run.
    pub async fn sweep_unattached(&self, limit: usize) -> Result<SweepReport, ServiceError> {
        let now = self.clock.now();
        let keep = self.reference.snapshot().await?.value.retention.unattached_photos();
        let mut report = SweepReport::default();
        for photo in self.store.pending_photos_before(now.checked_sub_signed(keep).unwrap_or(now), limit).await? {
            if self.is_attached(&photo).await? {
                self.store.keep_photo(&photo.id).await?;
                report.kept += 1;
            } else {
                // The bytes first: a record left after a failed delete is swept again next run.
                self.blobs.delete(&photo).await?;
                self.store.delete_photo(&photo.id).await?;
                report.deleted += 1;
            }
        }
        Ok(report)
    }

    /// Whether a message of the photo's owner, created after the photo, names it.
    async fn is_attached(&self, photo: &Photo) -> Result<bool, ServiceError> {
        const PAGE: usize = 100;
        let mut before = None;
        loop {
            let page = self.store.list_by_author(&photo.owner, before.as_ref(), PAGE).await?;
            for m in &page {
                if m.photo_ids.contains(&photo.id) {
                    return Ok(true);
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE && last.created_at >= photo.created_at => before = Some(last.id),
                _ => return Ok(false),
            }
        }
    }

    /// A resident (for a message) or an official (for an answer) announces a photo and gets a
    /// URL to upload it to; both are held to the same rate and quota.
    pub async fn announce(
        &self,
        actor: &Actor,
        content_type: &str,
        size_bytes: u64,
    ) -> Result<(Photo, SignedUrl), ServiceError> {
        let official = actor.has(Role::Official) && actor.authority.is_some();
        if !actor.has(Role::Citizen) && !official {
            return Err(ServiceError::Forbidden("фотографии прикладывают жители и сотрудники органов к ответам"));
        }
        let mut errs = Vec::new();
        let kind = content_type.parse::<ImageType>().ok();
        if kind.is_none() {
            errs.push(FieldError::new("content_type", "image/jpeg или image/png"));
        }
        if size_bytes == 0 || size_bytes > MAX_PHOTO_BYTES {
            errs.push(FieldError::new("size_bytes", "от 1 байта до 5 МиБ"));
        }
        let Some(content_type) = kind.filter(|_| errs.is_empty()) else {
            return Err(ServiceError::Validation(errs));
        };
        let now = self.clock.now();
        self.check_rate(&actor.id, now).await?;
        let photo =
            Photo { id: PhotoId::new_at(now), owner: actor.id.clone(), content_type, size_bytes, created_at: now };
        self.store.put_photo(&photo).await?;
        let expires_at = now + Duration::minutes(URL_TTL_MINUTES);
        let url = self.blobs.upload_url(&photo, expires_at).await?;
        let headers = self.blobs.upload_headers(&photo);
        Ok((photo, SignedUrl { url, expires_at, headers }))
    }

    /// A download URL for a photo of a message or of its answer, for those who may read the
    /// message.
    pub async fn download(
        &self,
        actor: &Actor,
        message: &MessageId,
        photo: &PhotoId,
    ) -> Result<SignedUrl, ServiceError> {
        let m = self.store.get_message(message).await?.ok_or(ServiceError::NotFound)?;
        let region = self.reference.snapshot().await?;
        let attached = m.photo_ids.contains(photo) || m.answer_photo_ids.contains(photo);
        if !can_read(actor, &m, &region.value) || !attached {
            return Err(ServiceError::NotFound);
        }
        let p = self.store.get_photo(photo).await?.ok_or(ServiceError::NotFound)?;
        let expires_at = self.clock.now() + Duration::minutes(URL_TTL_MINUTES);
        Ok(SignedUrl { url: self.blobs.download_url(&p, expires_at).await?, expires_at, headers: BTreeMap::new() })
    }
}

/// Checks the photos named by a new message: at most three, each announced by its author.
pub async fn check_attachable<S: PhotoStore>(
    store: &S,
    author: &CitizenId,
    ids: &[PhotoId],
) -> Result<Vec<FieldError>, ServiceError> {
    let mut errs = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match store.get_photo(id).await? {
            Some(p) if &p.owner == author => {}
            _ => errs.push(FieldError::new(format!("photo_ids[{i}]"), "фотография не найдена: сначала загрузите её")),
        }
    }
    Ok(errs)
}
