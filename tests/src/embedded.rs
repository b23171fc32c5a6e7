//! The functions' services over an in-memory SQLite backend seeded with the sample region, on
//! a settable clock.

use feedback_core::integration::Integrations;
use feedback_core::open311::Open311;
use feedback_core::photo::{BlobUrls, PhotoPolicy};
use feedback_core::service::{Reference, Routing};
use feedback_core::testing::{sample_region, ManualClock};
use feedback_core::workflow::{Escalation, Notifications, Workflow};
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use feedback_lambda::{Deps, Settings};
use std::sync::Arc;
use std::time::Duration;

pub type Clock = Arc<ManualClock>;

pub struct App {
    pub store: SqliteStore,
    pub queue: SqliteQueue,
    pub clock: Clock,
    pub reference: Arc<Reference<SqliteStore>>,
    pub submit: submit_message::Services<SqliteStore, SqliteQueue, Clock>,
    pub workflow: Workflow<SqliteStore, SqliteQueue, Clock>,
    /// The officials' function: the workflow's handler, the templates and the answers' photos.
    pub officials: handle_messages::Services<SqliteStore, SqliteQueue, Clock>,
    pub routing: Routing<SqliteStore, SqliteQueue, Clock>,
    pub escalation: Escalation<SqliteStore, SqliteQueue, Clock>,
    pub notifications: Notifications<SqliteStore>,
    pub integrations: Integrations<SqliteStore, Clock>,
    pub open311: Open311<SqliteStore, SqliteQueue, Clock>,
    pub blob_dir: BlobDir,
}

/// Blob URLs signed like the local host's, over a fresh temporary folder that is removed when
/// this is dropped.
pub struct BlobDir {
    pub blobs: Arc<dyn BlobUrls>,
    path: std::path::PathBuf,
}

impl Drop for BlobDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub fn local_blobs() -> BlobDir {
    let path = std::env::temp_dir().join(format!("feedback-blobs-{}", ulid::Ulid::new()));
    let base = Arc::new(std::sync::OnceLock::new());
    let _ = base.set("http://127.0.0.1:3000".to_owned());
    let blobs = Arc::new(feedback_local::blobs::LocalBlobs::open(&path, base).expect("blob folder"));
    BlobDir { blobs, path }
}

/// The voter-roll secret of the tests' stack.
pub fn voter_secret() -> feedback_core::participation::VoterSecret {
    feedback_core::participation::VoterSecret::new(b"test-stack-secret-0123456789".to_vec()).expect("a long secret")
}

/// The key the test hosts sign and verify unsubscribe links with.
pub fn unsubscribe_key() -> std::sync::Arc<[u8]> {
    std::sync::Arc::from(&b"test-unsubscribe-key-0123456789"[..])
}

/// The services on a fresh database, the clock at the current time.
pub async fn app(per_hour: u32) -> App {
    app_on(Db::in_memory().expect("database"), per_hour).await
}

pub async fn app_on(db: Db, per_hour: u32) -> App {
    let store = SqliteStore::new(db.clone());
    let queue = SqliteQueue::new(db, QueueSettings::default());
    let clock = Arc::new(ManualClock::at(&chrono::Utc::now().to_rfc3339()));
    let settings = Settings {
        submissions_per_hour: per_hour,
        reference_ttl: Duration::from_secs(60),
        stuck_after: chrono::Duration::minutes(2),
        ..Settings::default()
    };
    let deps = Deps::new(store, queue, clock, &settings);
    deps.reference.seed(&sample_region()).await.expect("seed");
    let blob_dir = local_blobs();
    let blobs = blob_dir.blobs.clone();
    let mut submit = submit_message::services(&deps, blobs.clone(), voter_secret(), unsubscribe_key(), &settings);
    // Up to three photos a message: the announcement limits follow the submission limit.
    submit.photos = submit
        .photos
        .with_policy(PhotoPolicy { per_hour: per_hour.saturating_mul(3), per_day: per_hour.saturating_mul(15) });
    App {
        submit,
        workflow: handle_messages::services(&deps, blobs.clone()).workflow,
        officials: handle_messages::services(&deps, blobs.clone()),
        routing: route_messages::services(&deps),
        escalation: escalate_overdue::services(&deps, blobs, &settings).escalation,
        notifications: notify::services(&deps),
        integrations: reference_data::services(&deps),
        open311: open311::services(&deps),
        store: deps.store,
        queue: deps.queue,
        clock: deps.clock,
        reference: deps.reference,
        blob_dir,
    }
}
