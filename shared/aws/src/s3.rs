use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use feedback_core::photo::{BlobUrls, Photo};
use std::time::Duration;

/// Presigned S3 URLs for photos in the stack's private bucket, keyed `photos/<id>`.
///
/// Presigning is computed locally from the function's credentials; it makes no request.
#[derive(Clone)]
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Blobs {
    pub fn from_conf(conf: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        Self { client: aws_sdk_s3::Client::new(conf), bucket: bucket.into() }
    }

    fn ttl(expires_at: DateTime<Utc>) -> anyhow::Result<PresigningConfig> {
        let secs = (expires_at - Utc::now()).num_seconds().clamp(1, 7 * 24 * 3600) as u64;
        Ok(PresigningConfig::expires_in(Duration::from_secs(secs))?)
    }
}

#[async_trait::async_trait]
impl BlobUrls for S3Blobs {
    async fn upload_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(format!("photos/{}", photo.id))
            .content_type(photo.content_type.as_str())
            .content_length(photo.size_bytes as i64)
            .presigned(Self::ttl(expires_at)?);
        Ok(req.await?.uri().to_owned())
    }

    async fn download_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(format!("photos/{}", photo.id))
            .presigned(Self::ttl(expires_at)?);
        Ok(req.await?.uri().to_owned())
    }
}
