//! `notify`: consumes the `notifications` queue and stores each resident's notifications once,
//! deduplicated by transition id, then plans the deliveries the notification owes on the
//! channels besides the portal (`feedback_core::dispatch::Planner`). A redelivered job stores
//! nothing new and plans the same deliveries again, so a crash between the two loses nothing.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use feedback_core::dispatch::{NoChannels, Planner};
use feedback_core::ports::{Job, NotificationStore};
use feedback_core::workflow::Notifications;
use feedback_lambda::Deps;
use lambda_runtime::{Error, LambdaEvent};

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
        Job::Notify { notification } => {
            let new = notifications.deliver(&notification).await?;
            tracing::info!(id = %notification.id, new, "notification delivered");
            let planned = planner.plan(&notification).await?;
            if !planned.is_empty() {
                tracing::info!(id = %notification.id, deliveries = planned.len(), "deliveries planned");
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
