//! The queue consumers' work, done in process while the simulation runs.

use anyhow::anyhow;
use async_trait::async_trait;
use feedback_core::notification::NotificationKind;
use feedback_core::ports::{Job, QueueName, QueueReceiver, StoreError, WorkQueue};
use feedback_core::workflow::Notifications;
use feedback_embedded::{Db, QueueSettings, SqliteQueue, SqliteStore};
use std::sync::atomic::{AtomicU64, Ordering as Atomic};
use std::sync::Arc;

/// Plays the queue consumers' part in process (see the module documentation): routing jobs are
/// dropped because the simulation routes every message itself, notification jobs are delivered
/// through `Notifications::deliver`. Every transition that notifies its author is counted here by
/// kind, which also counts answers given to duplicates along with their original.
#[derive(Clone)]
pub(super) struct SeedQueue {
    pub(super) notifications: Arc<Notifications<SqliteStore>>,
    pub(super) delivered: Arc<[AtomicU64; 6]>,
}

pub(super) fn kind_slot(kind: NotificationKind) -> usize {
    match kind {
        NotificationKind::Routed => 0,
        NotificationKind::InProgress => 1,
        NotificationKind::Answered => 2,
        NotificationKind::Rejected => 3,
        NotificationKind::Overdue => 4,
        NotificationKind::Closed => 5,
    }
}

impl SeedQueue {
    /// Consumes what the transitions wrote into the store's queue table in their own
    /// transactions (the transactional outbox): notifications are delivered, routing jobs are
    /// dropped because the simulation routed every message itself, and published events are
    /// dropped because a seeded store has no webhook endpoints. Leaves the table empty, as if
    /// the host had consumed every job.
    pub(super) async fn consume_table(&self, db: &Db) -> anyhow::Result<()> {
        let table = SqliteQueue::new(db.clone(), QueueSettings { max_receives: u32::MAX });
        let hidden = std::time::Duration::from_secs(3600);
        for name in [QueueName::Submitted, QueueName::Notifications, QueueName::WebhookEvents] {
            loop {
                let batch = table.receive(name, 500, hidden).await?;
                if batch.is_empty() {
                    break;
                }
                for d in batch {
                    let job = Job::from_body(&d.body).map_err(|e| anyhow!("a queued job does not parse: {e}"))?;
                    self.send(&job).await?;
                    table.ack(name, &d.receipt).await?;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl WorkQueue for SeedQueue {
    async fn send(&self, job: &Job) -> Result<(), StoreError> {
        match job {
            Job::RouteMessage { .. } | Job::Publish { .. } | Job::SendWebhook { .. } => Ok(()),
            Job::Notify { notification, supporters } => {
                let copies = supporters.iter().map(|s| notification.for_supporter(s));
                for n in std::iter::once(notification.clone()).chain(copies) {
                    self.notifications
                        .deliver(&n)
                        .await
                        .map_err(|e| StoreError::Backend(anyhow!("delivering notification {}: {e}", n.id)))?;
                    if let Some(count) = self.delivered.get(kind_slot(n.kind)) {
                        count.fetch_add(1, Atomic::Relaxed);
                    }
                }
                Ok(())
            }
        }
    }
}
