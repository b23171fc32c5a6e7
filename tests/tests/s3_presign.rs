//! Presigned photo URLs against an S3 endpoint (moto in CI): a PUT to the upload URL stores the
//! bytes and the download URL serves them back. Needs AWS_ENDPOINT_URL; it never skips.

use chrono::{Duration, Utc};
use feedback_core::ids::PhotoId;
use feedback_core::photo::{BlobUrls, ImageType, Photo};
use feedback_tests::fixtures::citizen;

#[tokio::test]
async fn a_photo_goes_up_and_comes_back_through_presigned_urls() {
    let conf = feedback_tests::moto::sdk().await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let bucket = format!("feedback-photos-{}", ulid::Ulid::new().to_string().to_lowercase());
    let http = reqwest::Client::new();
    let created = http.put(format!("{endpoint}/{bucket}")).send().await.unwrap();
    assert!(created.status().is_success(), "bucket: {}", created.status());
    let blobs = feedback_aws::S3Blobs::from_conf(&conf, &bucket).unwrap();
    let bytes: Vec<u8> = [&[0x89, b'P', b'N', b'G'][..], &[7u8; 1500][..]].concat();
    let photo = Photo {
        id: PhotoId::new_at(Utc::now()),
        owner: citizen("alice").id,
        content_type: ImageType::Png,
        size_bytes: bytes.len() as u64,
        created_at: Utc::now(),
    };
    let upload = blobs.upload_url(&photo, Utc::now() + Duration::minutes(15)).await.unwrap();
    assert!(upload.contains("X-Amz-Signature=") && upload.contains("X-Amz-Expires=900"), "{upload}");
    assert!(upload.contains(&format!("/{bucket}/photos/{}", photo.id)), "{upload}");
    let headers = blobs.upload_headers(&photo);
    let send = || {
        let mut req = http.put(&upload).body(bytes.clone());
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send()
    };
    let put = send().await.unwrap();
    assert!(put.status().is_success(), "upload: {}", put.status());
    // the URL takes one upload: S3 refuses a second PUT over the object
    let again = send().await.unwrap();
    assert_eq!(again.status(), 412, "a second upload through the same URL");
    let download = blobs.download_url(&photo, Utc::now() + Duration::minutes(15)).await.unwrap();
    let got = http.get(&download).send().await.unwrap();
    assert!(got.status().is_success(), "download: {}", got.status());
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
}

#[tokio::test]
async fn a_photo_deleted_by_the_sweep_is_gone_and_deleting_again_is_harmless() {
    let conf = feedback_tests::moto::sdk().await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let bucket = format!("feedback-photos-{}", ulid::Ulid::new().to_string().to_lowercase());
    let http = reqwest::Client::new();
    assert!(http.put(format!("{endpoint}/{bucket}")).send().await.unwrap().status().is_success());
    let blobs = feedback_aws::S3Blobs::from_conf(&conf, &bucket).unwrap();
    let bytes: Vec<u8> = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7u8; 500][..]].concat();
    let photo = Photo {
        id: PhotoId::new_at(Utc::now()),
        owner: citizen("alice").id,
        content_type: ImageType::Jpeg,
        size_bytes: bytes.len() as u64,
        created_at: Utc::now(),
    };
    let upload = blobs.upload_url(&photo, Utc::now() + Duration::minutes(15)).await.unwrap();
    let mut put = http.put(&upload).body(bytes);
    for (k, v) in blobs.upload_headers(&photo) {
        put = put.header(k, v);
    }
    let put = put.send().await.unwrap();
    assert!(put.status().is_success(), "upload: {}", put.status());
    let head = blobs.first_bytes(&photo, 16).await.unwrap().unwrap();
    assert_eq!(head.len(), 16);
    assert_eq!(head[..4], [0xFF, 0xD8, 0xFF, 0xE0]);
    blobs.delete(&photo).await.unwrap();
    assert_eq!(blobs.first_bytes(&photo, 16).await.unwrap(), None);
    let download = blobs.download_url(&photo, Utc::now() + Duration::minutes(15)).await.unwrap();
    assert_eq!(http.get(&download).send().await.unwrap().status(), 404);
    blobs.delete(&photo).await.unwrap();
}
