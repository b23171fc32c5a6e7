//! What committed transitions owe the queues: relaying outbox items after the commit, the relay
//! sweep, the notifications transitions owe their authors (and, of answers and closings, the
//! messages' supporters) and the events they publish to webhook
//! endpoints.

use crate::event::{Event, EventType};
use crate::message::EventKind;
use crate::notification::Notification;
use crate::ports::{Job, MessageStore, MessageUpdate, Outbox, OutboxItem, StoreError, WorkQueue};
use crate::region::RegionData;
use chrono::{DateTime, Duration, Utc};

/// Hands freshly committed outbox items to their queues, unless the store's transaction already
/// did. A failed send leaves the item in the outbox for the relay sweep, so the caller's
/// acknowledged write still owes, and will get, its job.
pub async fn relay<S: Outbox, Q: WorkQueue>(store: &S, queue: &Q, items: &[OutboxItem]) {
    if store.queues_in_transaction() {
        return;
    }
    for item in items {
        match queue.send(&item.job).await {
            Ok(()) => {
                if let Err(e) = store.relayed(item).await {
                    tracing::warn!(job = %item.id(), error = %e, "job queued but still in the outbox; it may be sent again");
                }
            }
            Err(e) => {
                tracing::warn!(job = %item.id(), error = %e, "job left in the outbox for the relay sweep");
            }
        }
    }
}

/// The relay sweep: hands every outbox item older than `grace` to its queue (a crash or a failed
/// send between a commit and its relay left it there). Returns how many were relayed.
pub async fn relay_pending<S: Outbox, Q: WorkQueue>(
    store: &S,
    queue: &Q,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<usize, StoreError> {
    if store.queues_in_transaction() {
        return Ok(0);
    }
    let mut relayed = 0;
    loop {
        let items = store.pending_outbox(now - grace, 100).await?;
        let full = items.len() == 100;
        for item in &items {
            queue.send(&item.job).await?;
            store.relayed(item).await?;
            relayed += 1;
        }
        if !full {
            return Ok(relayed);
        }
    }
}

/// What the transitions owe their authors: a notification for each that they should hear about.
pub fn owed_notifications(region: &RegionData, updates: &[MessageUpdate]) -> Vec<OutboxItem> {
    updates
        .iter()
        .filter_map(|u| {
            let authority = u.next.authority_id.as_ref().and_then(|a| region.authority(a)).map(|a| a.name.as_str());
            let category = region.category(&u.next.category_id).map(|c| c.name.as_str());
            Notification::for_transition(&u.next, &u.entry, authority, category).map(|mut notification| {
                notification.expires_at = u.entry.at.checked_add_signed(region.retention.notifications());
                let supporters =
                    if notification.kind.reaches_supporters() { u.next.supporter_ids.clone() } else { Vec::new() };
                OutboxItem::new(Job::Notify { notification, supporters }, u.entry.at)
            })
        })
        .collect()
}

/// The events the transitions publish to webhook endpoints: the new status's, or
/// `message.overdue` for the mark, written in the transitions' transaction so that a committed
/// transition never loses its event.
pub fn published_events(updates: &[MessageUpdate]) -> Vec<OutboxItem> {
    updates
        .iter()
        .filter_map(|u| {
            let overdue = u.entry.facts.as_ref().is_some_and(|f| f.kind == EventKind::Overdue);
            let event_type = if overdue {
                Some(EventType::MessageOverdue)
            } else if u.entry.from != Some(u.entry.to) {
                EventType::for_status(u.next.status)
            } else {
                None
            };
            event_type.map(|t| {
                OutboxItem::new(Job::Publish { event: Event::about_message(t, &u.next, u.entry.at) }, u.entry.at)
            })
        })
        .collect()
}

/// Writes transitions atomically together with the notifications they owe and the events they
/// publish, then relays those.
pub async fn commit<S: MessageStore, Q: WorkQueue>(
    store: &S,
    queue: &Q,
    region: &RegionData,
    updates: &[MessageUpdate],
) -> Result<(), StoreError> {
    let mut outbox = owed_notifications(region, updates);
    outbox.extend(published_events(updates));
    store.update_messages(updates, &outbox).await?;
    relay(store, queue, &outbox).await;
    Ok(())
}
