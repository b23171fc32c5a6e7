//! Retention: what the region keeps, and for how long (`region::Retention`, `[retention]` in the
//! region file). Idempotency records, notifications and the deliveries that carry them have their `expires_at` from the moment
//! they are written, so DynamoDB's TTL removes them; the embedded store has no TTL, and the
//! scheduled run prunes it by age with [`Pruning`]. Unattached photos are swept by
//! `photo::Photos::sweep_unattached` after the region's `unattached_photo_hours`. Closed
//! messages keep their author link for `closed_message_years`; then [`Pruning`] pseudonymises
//! them on every store (`rights::pseudonymise_closed`), found through the retention index.

use crate::error::ServiceError;
use crate::photo::PhotoStore;
use crate::ports::{Clock, Expiry, MessageStore, Pruned, ReferenceStore};
use crate::reference::Reference;
use crate::rights::{pseudonymise_closed, RightsStore};
use std::sync::Arc;

/// At most this many records of each kind are deleted per statement; a run repeats until done.
pub const PRUNE_BATCH: usize = 500;

/// Prunes a store that does not expire items by itself.
pub struct Pruning<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S: Expiry + ReferenceStore + MessageStore + PhotoStore + RightsStore, C: Clock> Pruning<S, C> {
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    /// Pseudonymises the closed messages older than the region keeps their author link, then
    /// deletes everything older than the retention allows (nothing on a store that expires items
    /// by itself).
    pub async fn run(&self) -> Result<Pruned, ServiceError> {
        let mut total = Pruned::default();
        let retention = self.reference.snapshot().await?.value.retention;
        let now = self.clock.now();
        total.pseudonymised = pseudonymise_closed(&self.store, retention.closed_messages_before(now), now).await?;
        if self.store.expires_by_itself() {
            return Ok(total);
        }
        let (idempotency_before, notifications_before) = (
            now.checked_sub_signed(retention.idempotency()).unwrap_or(now),
            now.checked_sub_signed(retention.notifications()).unwrap_or(now),
        );
        loop {
            let pruned = self.store.prune_expired(idempotency_before, notifications_before, PRUNE_BATCH).await?;
            total.idempotency += pruned.idempotency;
            total.notifications += pruned.notifications;
            total.deliveries += pruned.deliveries;
            if [pruned.idempotency, pruned.notifications, pruned.deliveries].iter().all(|n| *n < PRUNE_BATCH) {
                return Ok(total);
            }
        }
    }
}
