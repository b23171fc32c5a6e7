use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use chrono::{DateTime, Utc};
use feedback_core::photo::{BlobUrls, Photo};
use std::time::{Duration, SystemTime};

/// The key prefix of photo objects in the bucket.
pub const PHOTO_KEY_PREFIX: &str = "photos";

/// Presigned S3 URLs for photos in the stack's private bucket, keyed `photos/<id>`.
///
/// The URLs are signed locally with SigV4 query parameters from the function's own credentials
/// (no request is made), the way S3 presigned URLs are defined; the full S3 SDK is not needed
/// for that, which keeps the function's package small.
#[derive(Clone)]
pub struct S3Blobs {
    /// The SDK's HTTPS connector, for deleting photos.
    http: std::sync::Arc<aws_smithy_http_client::Connector>,
    credentials: SharedCredentialsProvider,
    region: String,
    bucket: String,
    /// `AWS_ENDPOINT_URL` when set (path-style), otherwise the regional virtual-hosted endpoint.
    endpoint: Option<String>,
}

impl S3Blobs {
    pub fn from_conf(conf: &aws_config::SdkConfig, bucket: impl Into<String>) -> anyhow::Result<Self> {
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let http =
            aws_smithy_http_client::Connector::builder().tls_provider(Provider::Rustls(CryptoMode::Ring)).build();
        Ok(Self {
            http: std::sync::Arc::new(http),
            credentials: conf.credentials_provider().ok_or_else(|| anyhow::anyhow!("no AWS credentials provider"))?,
            region: conf.region().map(|r| r.to_string()).ok_or_else(|| anyhow::anyhow!("no AWS region"))?,
            bucket: bucket.into(),
            endpoint: conf.endpoint_url().map(|e| e.trim_end_matches('/').to_owned()),
        })
    }

    fn object_url(&self, photo: &Photo) -> String {
        match &self.endpoint {
            Some(e) => format!("{e}/{}/{PHOTO_KEY_PREFIX}/{}", self.bucket, photo.id),
            None => format!("https://{}.s3.{}.amazonaws.com/{PHOTO_KEY_PREFIX}/{}", self.bucket, self.region, photo.id),
        }
    }

    async fn presign(
        &self,
        method: &str,
        photo: &Photo,
        headers: &[(&str, &str)],
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let identity = self.credentials.provide_credentials().await?.into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        let millis = (expires_at - Utc::now()).num_milliseconds();
        let secs = ((millis + 999) / 1000).clamp(1, 7 * 24 * 3600) as u64;
        settings.expires_in = Some(Duration::from_secs(secs));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()?
            .into();
        let url = self.object_url(photo);
        let host = url.split("://").nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default().to_owned();
        let mut all: Vec<(&str, &str)> = vec![("host", host.as_str())];
        all.extend_from_slice(headers);
        let signable = SignableRequest::new(method, url.as_str(), all.into_iter(), SignableBody::UnsignedPayload)?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let mut request = http::Request::builder().method(method).uri(url.as_str()).body(())?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request.uri().to_string())
    }
}

#[async_trait]
impl BlobUrls for S3Blobs {
    /// A PUT URL that S3 accepts only with the announced type and exact size.
    async fn upload_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        let size = photo.size_bytes.to_string();
        // `If-None-Match: *` is signed in: S3 refuses a PUT over an existing object, so the URL
        // takes one upload.
        let headers =
            [("content-length", size.as_str()), ("content-type", photo.content_type.as_str()), ("if-none-match", "*")];
        self.presign("PUT", photo, &headers, expires_at).await
    }

    fn upload_headers(&self, photo: &Photo) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::from([
            ("Content-Type".to_owned(), photo.content_type.as_str().to_owned()),
            ("If-None-Match".to_owned(), "*".to_owned()),
        ])
    }

    async fn download_url(&self, photo: &Photo, expires_at: DateTime<Utc>) -> anyhow::Result<String> {
        self.presign("GET", photo, &[], expires_at).await
    }

    /// The first bytes of the object through a presigned GET with a Range header; `None` when
    /// S3 has no such object.
    async fn first_bytes(&self, photo: &Photo, n: usize) -> anyhow::Result<Option<Vec<u8>>> {
        use aws_smithy_runtime_api::client::http::HttpConnector;
        let url = self.presign("GET", photo, &[], Utc::now() + chrono::Duration::minutes(1)).await?;
        let request = http::Request::builder()
            .method("GET")
            .uri(url)
            .header("range", format!("bytes=0-{}", n.saturating_sub(1)))
            .body(aws_smithy_types::body::SdkBody::empty())?;
        let response = self
            .http
            .call(aws_smithy_runtime_api::client::orchestrator::HttpRequest::try_from(request)?)
            .await
            .map_err(|e| anyhow::Error::new(e).context("GET photo"))?;
        match response.status().as_u16() {
            200 | 206 => {}
            404 => return Ok(None),
            // An empty object answers a range request with 416.
            416 => return Ok(Some(Vec::new())),
            other => anyhow::bail!("GET photo: S3 answered {other}"),
        }
        let body = aws_smithy_types::byte_stream::ByteStream::new(response.into_body());
        let mut bytes = body.collect().await.map_err(|e| anyhow::Error::new(e).context("GET photo"))?.to_vec();
        bytes.truncate(n);
        Ok(Some(bytes))
    }

    /// Deletes the object with a presigned DELETE sent over the SDK's HTTPS connector; S3 answers
    /// 204 whether or not the object existed.
    async fn delete(&self, photo: &Photo) -> anyhow::Result<()> {
        use aws_smithy_runtime_api::client::http::HttpConnector;
        let url = self.presign("DELETE", photo, &[], Utc::now() + chrono::Duration::minutes(1)).await?;
        let request =
            http::Request::builder().method("DELETE").uri(url).body(aws_smithy_types::body::SdkBody::empty())?;
        let response = self
            .http
            .call(aws_smithy_runtime_api::client::orchestrator::HttpRequest::try_from(request)?)
            .await
            .map_err(|e| anyhow::Error::new(e).context("DELETE photo"))?;
        let status = response.status().as_u16();
        if matches!(status, 200 | 204 | 404) {
            Ok(())
        } else {
            anyhow::bail!("DELETE photo: S3 answered {status}")
        }
    }
}
