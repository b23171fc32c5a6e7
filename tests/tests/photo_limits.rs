//! Photo announcements are limited per resident (a rate per hour, a quota per day), and photos
//! never attached to a message are deleted a day after their announcement, bytes and record.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use feedback_core::ids::PhotoId;
use feedback_core::photo::{BlobUrls, Photo, PhotoPolicy, PhotoStore, Photos, SweepReport};
use feedback_core::values::PhotoIds;
use feedback_core::{MessageStore, ServiceError};
use feedback_tests::embedded::app;
use feedback_tests::fixtures::{citizen, new_message};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct RecordingBlobs {
    deleted: Mutex<Vec<PhotoId>>,
    /// What every upload holds, if anything was uploaded.
    uploaded: Option<Vec<u8>>,
}

#[async_trait]
impl BlobUrls for RecordingBlobs {
    async fn upload_url(&self, photo: &Photo, _: DateTime<Utc>) -> anyhow::Result<String> {
        Ok(format!("https://blobs.test/{}", photo.id))
    }
    async fn download_url(&self, photo: &Photo, _: DateTime<Utc>) -> anyhow::Result<String> {
        Ok(format!("https://blobs.test/{}", photo.id))
    }
    async fn first_bytes(&self, _: &Photo, n: usize) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self.uploaded.as_ref().map(|b| b.iter().take(n).copied().collect()))
    }
    async fn delete(&self, photo: &Photo) -> anyhow::Result<()> {
        self.deleted.lock().unwrap().push(photo.id);
        Ok(())
    }
}

#[tokio::test]
async fn announcements_over_the_hourly_rate_or_the_daily_quota_are_refused_with_retry_after() {
    let a = app(20).await;
    let photos =
        Photos::new(a.store.clone(), a.clock.clone(), Arc::new(RecordingBlobs::default()), a.reference.clone())
            .with_policy(PhotoPolicy { per_hour: 3, per_day: 5 });
    let alice = citizen("rate-alice");
    for _ in 0..3 {
        photos.announce(&alice, "image/jpeg", 1000).await.unwrap();
    }
    match photos.announce(&alice, "image/jpeg", 1000).await {
        Err(ServiceError::RateLimited { retry_after_secs }) => assert!((3590..=3600).contains(&retry_after_secs)),
        other => panic!("expected the hourly rate, got {other:?}"),
    }
    // Another resident is not affected.
    photos.announce(&citizen("rate-bob"), "image/jpeg", 1000).await.unwrap();
    a.clock.advance(Duration::minutes(61));
    for _ in 0..2 {
        photos.announce(&alice, "image/jpeg", 1000).await.unwrap();
    }
    match photos.announce(&alice, "image/jpeg", 1000).await {
        Err(ServiceError::RateLimited { retry_after_secs }) => {
            let left = (Duration::days(1) - Duration::minutes(61)).num_seconds() as u64;
            assert!((left - 10..=left).contains(&retry_after_secs), "{retry_after_secs}");
        }
        other => panic!("expected the daily quota, got {other:?}"),
    }
}

#[tokio::test]
async fn the_default_policy_refuses_a_burst_of_announcements() {
    let a = app(20).await;
    let photos =
        Photos::new(a.store.clone(), a.clock.clone(), Arc::new(RecordingBlobs::default()), a.reference.clone());
    let alice = citizen("burst-alice");
    let mut accepted = 0;
    for _ in 0..200 {
        if photos.announce(&alice, "image/jpeg", 1000).await.is_ok() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, PhotoPolicy::default().per_hour);
}

#[tokio::test]
async fn photos_not_attached_within_a_day_are_deleted_and_attached_ones_kept() {
    let a = app(20).await;
    let blobs = Arc::new(RecordingBlobs::default());
    let photos = Photos::new(a.store.clone(), a.clock.clone(), blobs.clone(), a.reference.clone());
    let alice = citizen("sweep-alice");
    let (attached, _) = photos.announce(&alice, "image/jpeg", 1000).await.unwrap();
    let (loose, _) = photos.announce(&alice, "image/png", 1000).await.unwrap();
    let mut input = new_message("dorogi-yamy", "Яма на дороге у дома 5 по улице Мельникайте");
    input.photo_ids = PhotoIds::parse(&[attached.id.to_string()]).unwrap();
    a.submit.messages.submit(&alice, input, None).await.unwrap();

    a.clock.advance(Duration::hours(23));
    assert_eq!(photos.sweep_unattached(100).await.unwrap(), SweepReport::default(), "nothing is a day old yet");
    a.clock.advance(Duration::hours(2));
    assert_eq!(photos.sweep_unattached(100).await.unwrap(), SweepReport { kept: 1, deleted: 1 });
    assert_eq!(a.store.get_photo(&loose.id).await.unwrap(), None);
    assert_eq!(a.store.get_photo(&attached.id).await.unwrap(), Some(attached));
    assert_eq!(*blobs.deleted.lock().unwrap(), vec![loose.id]);
    assert_eq!(photos.sweep_unattached(100).await.unwrap(), SweepReport::default());
}

#[tokio::test]
async fn a_message_names_only_photos_uploaded_as_the_announced_image_type() {
    let a = app(20).await;
    let alice = citizen("bytes-alice");
    let check = |uploaded: Option<&[u8]>| {
        let blobs = Arc::new(RecordingBlobs { uploaded: uploaded.map(<[u8]>::to_vec), ..Default::default() });
        Photos::new(a.store.clone(), a.clock.clone(), blobs, a.reference.clone())
    };
    let photos = check(None);
    let (photo, _) = photos.announce(&alice, "image/jpeg", 1000).await.unwrap();
    let ids = [photo.id];
    let errs = photos.check_uploaded(&alice.id, &ids).await.unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "photo_ids[0]");
    let html = check(Some(b"<!doctype html><html>"));
    assert_eq!(html.check_uploaded(&alice.id, &ids).await.unwrap().len(), 1);
    let jpeg = check(Some(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]));
    assert!(jpeg.check_uploaded(&alice.id, &ids).await.unwrap().is_empty());
    // Another resident's photo is not examined here; the submission refuses it as not found.
    assert!(html.check_uploaded(&citizen("bytes-bob").id, &ids).await.unwrap().is_empty());
}

/// An official attaches photos to an answer through the same announcement as residents: only
/// their own, at most three, uploaded as images. Whoever reads the message reads them; the
/// sweep of unattached photos keeps them; the resident's erasure leaves them, as the
/// authority's.
#[tokio::test]
async fn an_answer_carries_the_officials_photos_which_outlive_the_sweep_and_the_residents_erasure() {
    use feedback_core::values::MessageText;
    use feedback_core::views::MessageView;
    use feedback_tests::workflow::official;
    let a = app(20).await;
    let jpeg = Arc::new(RecordingBlobs { uploaded: Some(vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), ..Default::default() });
    let photos = Photos::new(a.store.clone(), a.clock.clone(), jpeg.clone(), a.reference.clone());
    let alice = citizen("answer-alice");
    let message = a.submit.messages.submit(&alice, new_message("dorogi-yamy", "Яма у дома 15"), None).await.unwrap();
    let id = message.message.id;
    a.routing.route(&id).await.unwrap();
    let (roads, ishim) = (official("o-1", "tyumen-upravdor"), official("o-2", "adm-ishim"));
    let moderator = feedback_tests::workflow::moderator("m-1");
    assert!(matches!(photos.announce(&moderator, "image/jpeg", 1000).await, Err(ServiceError::Forbidden(_))));
    let (done, _) = photos.announce(&roads, "image/jpeg", 1000).await.unwrap();
    let (foreign, _) = photos.announce(&ishim, "image/jpeg", 1000).await.unwrap();
    let text = || MessageText::parse("Яма заделана, покрытие восстановлено").unwrap();

    let theirs = PhotoIds::parse(&[foreign.id.to_string()]).unwrap();
    match a.workflow.answer_with_photos(&roads, &id, text(), &theirs).await {
        Err(ServiceError::Validation(errs)) => assert_eq!(errs[0].field, "photo_ids[0]"),
        other => panic!("another official's photo must be refused, got {other:?}"),
    }
    // Another authority's official, with their own photo, finds no such message and keeps nothing.
    assert!(matches!(a.workflow.answer_with_photos(&ishim, &id, text(), &theirs).await, Err(ServiceError::NotFound)));
    let mine = PhotoIds::parse(&[done.id.to_string()]).unwrap();
    assert_eq!(a.store.get_message(&id).await.unwrap().unwrap().status, feedback_core::Status::Routed);

    let answered = a.workflow.answer_with_photos(&roads, &id, text(), &mine).await.unwrap();
    assert_eq!(answered.answer_photo_ids, vec![done.id]);
    assert!(answered.photo_ids.is_empty(), "the resident's photos stay the resident's");
    let tz = feedback_core::testing::sample_region().time_zone();
    let view = serde_json::to_value(MessageView::summary(&answered, &tz)).unwrap();
    assert_eq!(view["answer"]["photo_ids"], serde_json::json!([done.id.to_string()]));
    for who in [&alice, &roads] {
        photos.download(who, &id, &done.id).await.unwrap();
    }
    for who in [&citizen("answer-bob"), &ishim] {
        assert!(matches!(photos.download(who, &id, &done.id).await, Err(ServiceError::NotFound)));
    }
    let public = feedback_core::public::public_view(&feedback_core::testing::sample_region(), &answered);
    assert!(!serde_json::to_string(&public).unwrap().contains(&done.id.to_string()), "no photos in public");

    a.clock.advance(Duration::hours(25));
    let report = photos.sweep_unattached(100).await.unwrap();
    assert_eq!(report.deleted, 1, "only the foreign official's loose photo: {report:?}");
    assert_eq!(*jpeg.deleted.lock().unwrap(), vec![foreign.id]);
    assert!(a.store.get_photo(&done.id).await.unwrap().is_some(), "the answer's photo is kept");

    let erased = a.submit.rights.erase(&alice).await.unwrap();
    assert_eq!(erased.photos_deleted, 0, "the answer's photo is not the resident's");
    assert!(a.store.get_photo(&done.id).await.unwrap().is_some());
    let kept = a.store.get_message(&id).await.unwrap().unwrap();
    assert_eq!(kept.answer_photo_ids, vec![done.id], "the pseudonymised message keeps its answer's photos");
}
