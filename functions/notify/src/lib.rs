//! `notify`: consumes the `notifications` queue and stores each resident's notifications once,
//! deduplicated by transition id (the author's, and a copy for each supporter the job names), then plans the deliveries the notification owes on the
//! channels besides the portal (`feedback_core::dispatch::Planner`). A redelivered job stores
//! nothing new and plans the same deliveries again, so a crash between the two loses nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use feedback_core::delivery::{Address, Channel, DeliveryStore, Outgoing, SendError, Transport};
use feedback_core::dispatch::{Attempted, Deliveries, NoChannels, Planner};
use feedback_core::error::ErrorChain;
use feedback_core::notification::Notification;
use feedback_core::ports::{Job, MessageStore, NotificationStore, ReferenceStore};
use feedback_core::preferences::ReachStore;
use feedback_core::workflow::Notifications;
use feedback_core::Clock;
use feedback_lambda::metrics::{self, Metric};
use feedback_lambda::Deps;
use lambda_runtime::{Error, LambdaEvent};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("unreadable job: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("not a notification job")]
    WrongJob,
    #[error(transparent)]
    Service(#[from] feedback_core::ServiceError),
}

/// Stores one notification job.
pub async fn deliver_one<N: NotificationStore>(
    notifications: &Notifications<N>,
    body: &str,
) -> Result<(), RecordError> {
    deliver_and_plan(notifications, &NoChannels, body).await
}

/// Stores one notification job and plans its deliveries.
pub async fn deliver_and_plan<N: NotificationStore>(
    notifications: &Notifications<N>,
    planner: &dyn Planner,
    body: &str,
) -> Result<(), RecordError> {
    let job = Job::from_body(body)?;
    feedback_lambda::observe::record_job(&job);
    match job {
        Job::Notify { notification, supporters } => {
            let copies = supporters.iter().map(|s| notification.for_supporter(s));
            for n in std::iter::once(notification.clone()).chain(copies) {
                let new = notifications.deliver(&n).await?;
                tracing::info!(id = %n.id, new, "notification delivered");
                let planned = planner.plan(&n).await?;
                if !planned.is_empty() {
                    tracing::info!(id = %n.id, deliveries = planned.len(), "deliveries planned");
                }
            }
            Ok(())
        }
        _ => Err(RecordError::WrongJob),
    }
}

/// The function's service over a host's store; it needs neither queue nor clock.
pub fn services<N: NotificationStore + Clone, Q, C>(deps: &Deps<N, Q, C>) -> Notifications<N> {
    Notifications::new(deps.store.clone())
}

/// The handler both hosts call.
pub async fn handle<N: NotificationStore>(
    notifications: &Notifications<N>,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    handle_planned(notifications, &NoChannels, event).await
}

/// The handler of a host with channels besides the portal: each record is stored, then its
/// deliveries planned; a record whose planning fails comes back.
pub async fn handle_planned<N: NotificationStore>(
    notifications: &Notifications<N>,
    planner: &dyn Planner,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(feedback_lambda::sqs::process_batch(event.payload, |body| async move {
        deliver_and_plan(notifications, planner, &body).await
    })
    .await)
}

/// A transport whose sends give up after a time: one slow channel cannot hold a batch.
pub struct Timed {
    pub inner: Arc<dyn Transport>,
    pub limit: Duration,
}

#[async_trait::async_trait]
impl Transport for Timed {
    fn channel(&self) -> Channel {
        self.inner.channel()
    }
    async fn send(&self, to: &Address, content: &Outgoing) -> Result<(), SendError> {
        match tokio::time::timeout(self.limit, self.inner.send(to, content)).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Transient("send timed out".to_owned())),
        }
    }
}

/// How long one send may take before it counts as a transient failure.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Due deliveries read per sweep, in pages of `feedback_core::dispatch::PAGE`.
pub const DUE_PAGES: usize = 3;

/// The pipeline with the host's channels (on AWS e-mail, Web Push and SMS): `notify` plans a
/// notification's deliveries and attempts them in the same invocation; `deliver-mail` (and the
/// local host's loop) attempts those due and plans the digests. Each delivery goes through its
/// own channel's transport, every send bounded by a timeout, all at once: a dead mail server
/// delays e-mail only.
pub struct Sender<S, C> {
    pub deliveries: Arc<Deliveries<S, C>>,
    pub transports: Arc<[Arc<dyn Transport>]>,
}

impl<S, C> Sender<S, C>
where
    S: DeliveryStore + ReachStore + MessageStore + NotificationStore + ReferenceStore,
    C: Clock,
{
    /// `transports` with each send bounded by `limit` (on AWS [`SEND_TIMEOUT`]).
    pub fn new(deliveries: Deliveries<S, C>, transports: Vec<Arc<dyn Transport>>, limit: Duration) -> Self {
        let transports = transports.into_iter().map(|inner| Arc::new(Timed { inner, limit }) as Arc<dyn Transport>);
        Sender { deliveries: Arc::new(deliveries), transports: transports.collect() }
    }

    /// The channels that have a transport.
    pub fn channels(&self) -> Vec<Channel> {
        self.transports.iter().map(|t| t.channel()).collect()
    }

    /// Attempts the deliveries `ids` at once, each through its channel's transport; how many
    /// were sent, retried or died. A dead one counts in the `DeliveriesDead` metric.
    pub async fn attempt_all(&self, ids: Vec<String>) -> usize {
        let mut attempts = tokio::task::JoinSet::new();
        for id in ids {
            let (deliveries, transports) = (self.deliveries.clone(), self.transports.clone());
            attempts.spawn(async move {
                let through: Vec<&dyn Transport> = transports.iter().map(|t| t.as_ref()).collect();
                deliveries.attempt_through(&id, &through).await
            });
        }
        let (mut done, mut dead) = (0, 0);
        while let Some(r) = attempts.join_next().await {
            match r {
                Ok(Ok(Attempted::Skipped)) => {}
                Ok(Ok(Attempted::Dead(_))) => {
                    dead += 1;
                    done += 1;
                }
                Ok(Ok(_)) => done += 1,
                Ok(Err(e)) => tracing::warn!(error = %ErrorChain(&e), "delivery attempt failed"),
                Err(e) => tracing::error!(panicked = e.is_panic(), "a delivery attempt failed"),
            }
        }
        if dead > 0 {
            match self.deliveries.reference().snapshot().await {
                Ok(region) => metrics::emit(&region.value.region.code, Metric::DeliveriesDead, f64::from(dead)),
                Err(e) => tracing::warn!(error = %ErrorChain(&e), dead, "dead deliveries not counted"),
            }
        }
        done
    }

    /// The schedule's tick: attempts the deliveries due, then plans the digests of the periods
    /// that ended and attempts them. Planning is idempotent per (resident, period).
    pub async fn tick(&self) -> Result<serde_json::Value, Error> {
        let due = self.deliveries.due(DUE_PAGES).await?;
        let attempted = self.attempt_all(due).await;
        let digests = self.deliveries.plan_digests().await?;
        let planned = digests.len();
        let sent = self.attempt_all(digests).await;
        tracing::info!(attempted, digests = planned, "deliveries swept");
        Ok(serde_json::json!({ "attempted": attempted + sent, "digests": planned }))
    }
}

#[async_trait::async_trait]
impl<S, C> Planner for Sender<S, C>
where
    S: DeliveryStore + ReachStore + MessageStore + NotificationStore + ReferenceStore,
    C: Clock,
{
    async fn plan(&self, notification: &Notification) -> Result<Vec<String>, feedback_core::ServiceError> {
        let planned = self.deliveries.plan(notification).await?;
        self.attempt_all(planned.clone()).await;
        Ok(planned)
    }
}
