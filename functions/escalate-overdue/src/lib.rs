//! `escalate-overdue`: run by EventBridge Scheduler every 5 minutes (and by the local host's
//! scheduler). Flags overdue messages and escalates them to the ЦУР, completes answers missed
//! by duplicates, and re-enqueues messages stuck in `submitted`. On the same schedule it deletes
//! photos never attached to a message within the region's retention of their announcement
//! (`sweep_photos`), and prunes what the retention lets go from a store without TTL (`prune`).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use feedback_core::photo::BlobUrls;
use feedback_core::photo::{PhotoStore, Photos, SweepReport};
use feedback_core::ports::{Expiry, Pruned};
use feedback_core::retention::Pruning;
use feedback_core::rights::RightsStore;
use feedback_core::workflow::Escalation;
use feedback_core::{Clock, MessageStore, ReferenceStore, WorkQueue};
use feedback_lambda::{observe, Deps, Settings};
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    pub overdue: usize,
    pub answered_from_original: usize,
    pub requeued: usize,
}

/// What the function needs: the escalation, the photo sweep and the pruning.
pub struct Services<S, Q, C> {
    pub escalation: Escalation<S, Q, C>,
    pub photos: Photos<S, C>,
    pub pruning: Pruning<S, C>,
}

/// The function's services over a host's adapters; `blobs` deletes the swept photos' bytes.
pub fn services<S, Q, C>(deps: &Deps<S, Q, C>, blobs: Arc<dyn BlobUrls>, settings: &Settings) -> Services<S, Q, C>
where
    S: MessageStore + ReferenceStore + PhotoStore + Expiry + RightsStore + Clone,
    Q: WorkQueue + Clone,
    C: Clock + Clone,
{
    let d = deps;
    Services {
        escalation: Escalation::new(
            d.store.clone(),
            d.queue.clone(),
            d.clock.clone(),
            d.reference.clone(),
            settings.stuck_after,
        ),
        photos: Photos::new(d.store.clone(), d.clock.clone(), blobs, d.reference.clone()),
        pruning: Pruning::new(d.store.clone(), d.clock.clone(), d.reference.clone()),
    }
}

/// One scheduled run on Lambda: the escalation, the photo sweep, then the retention (on
/// DynamoDB only the pseudonymisation of old closed messages: its TTL expires the rest).
pub async fn handle_schedule<S, Q, C>(
    services: &Services<S, Q, C>,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<Report, Error>
where
    S: MessageStore + ReferenceStore + PhotoStore + Expiry + RightsStore,
    Q: WorkQueue,
    C: Clock,
{
    let report = handle(&services.escalation, event).await?;
    sweep_photos(&services.photos).await?;
    prune(&services.pruning).await?;
    Ok(report)
}

/// Pseudonymises the closed messages whose author link the region's retention no longer keeps,
/// and deletes the idempotency records and notifications older than the retention on a store
/// that does not expire them itself.
pub async fn prune<S, C>(pruning: &Pruning<S, C>) -> Result<Pruned, Error>
where
    S: Expiry + ReferenceStore + MessageStore + PhotoStore + RightsStore,
    C: Clock,
{
    let prune = async {
        let pruned = pruning.run().await?;
        if pruned != Pruned::default() {
            tracing::info!(
                idempotency = pruned.idempotency,
                notifications = pruned.notifications,
                deliveries = pruned.deliveries,
                pseudonymised = pruned.pseudonymised,
                "retention pruned"
            );
        }
        Ok::<_, feedback_core::ServiceError>(pruned)
    };
    observe::scheduled(PRUNE_JOB, prune).await
}

/// The job name of the pruning in logs and spans.
pub const PRUNE_JOB: &str = "retention-prune";

/// The handler both hosts call.
pub async fn handle<S, Q, C>(
    escalation: &Escalation<S, Q, C>,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<Report, Error>
where
    S: MessageStore + ReferenceStore,
    Q: WorkQueue,
    C: Clock,
{
    let run = async {
        tracing::debug!(schedule = ?event.payload.resources, "escalation tick");
        escalation.run().await
    };
    let r = observe::scheduled(feedback_lambda::functions::ESCALATE_OVERDUE.name, run).await?;
    Ok(Report { overdue: r.overdue, answered_from_original: r.answered_from_original, requeued: r.requeued })
}

/// The name of the photo sweep's span: it runs on the escalation's schedule.
pub const SWEEP_JOB: &str = "sweep-photos";

/// How many photos one run examines at most; the rest wait for the next run.
pub const SWEEP_LIMIT: usize = 200;

/// Deletes the photos not attached to a message within a day of their announcement, record and
/// bytes, and keeps the attached ones.
pub async fn sweep_photos<S, C>(photos: &Photos<S, C>) -> Result<SweepReport, Error>
where
    S: PhotoStore + MessageStore + ReferenceStore,
    C: Clock,
{
    let sweep = async {
        let report = photos.sweep_unattached(SWEEP_LIMIT).await?;
        if report.deleted > 0 || report.kept > 0 {
            tracing::info!(deleted = report.deleted, kept = report.kept, "unattached photos swept");
        }
        Ok::<_, feedback_core::ServiceError>(report)
    };
    observe::scheduled(SWEEP_JOB, sweep).await
}
