//! Residents' preferences and subscriptions on SQLite: one row per resident in `preferences`,
//! one per subscription in `subscriptions` and one per browser in `push_subscriptions` (keyed by
//! resident, then id). The limits are counted in the transaction that adds a row; the store's
//! transactions run one at a time, so concurrent adds cannot overshoot them.

use crate::{backend, docs, json, one, SqliteStore};
use async_trait::async_trait;
use feedback_core::ids::{CitizenId, PushSubscriptionId, SubscriptionId};
use feedback_core::ports::StoreError;
use feedback_core::preferences::{Preferences, PushStored, PushSubscription, ReachErased, ReachStore, Subscription};
use rusqlite::params;

#[async_trait]
impl ReachStore for SqliteStore {
    async fn get_preferences(&self, citizen: &CitizenId) -> Result<Option<Preferences>, StoreError> {
        let citizen = citizen.to_string();
        self.db().tx(move |tx| one(tx, "SELECT doc FROM preferences WHERE citizen = ?1", params![citizen])).await
    }

    async fn put_preferences(&self, citizen: &CitizenId, preferences: &Preferences) -> Result<(), StoreError> {
        let (citizen, doc) = (citizen.to_string(), json(preferences)?);
        self.db()
            .tx(move |tx| {
                tx.execute(
                    "INSERT INTO preferences (citizen, doc) VALUES (?1, ?2)
                     ON CONFLICT(citizen) DO UPDATE SET doc = excluded.doc",
                    params![citizen, doc],
                )
                .map(drop)
                .map_err(backend)
            })
            .await
    }

    async fn erase_reach(&self, citizen: &CitizenId) -> Result<ReachErased, StoreError> {
        let citizen = citizen.to_string();
        self.db()
            .tx(move |tx| {
                let prefs =
                    tx.execute("DELETE FROM preferences WHERE citizen = ?1", params![citizen]).map_err(backend)?;
                let subs =
                    tx.execute("DELETE FROM subscriptions WHERE citizen = ?1", params![citizen]).map_err(backend)?;
                let pushes = tx
                    .execute("DELETE FROM push_subscriptions WHERE citizen = ?1", params![citizen])
                    .map_err(backend)?;
                let contacts =
                    tx.execute("DELETE FROM contacts WHERE citizen = ?1", params![citizen]).map_err(backend)?;
                let deliveries = tx
                    .execute("DELETE FROM deliveries WHERE json_extract(doc, '$.recipient') = ?1", params![citizen])
                    .map_err(backend)?;
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                Ok(ReachErased {
                    preferences: prefs == 1,
                    subscriptions: count(subs),
                    push_subscriptions: count(pushes),
                    contacts: count(contacts),
                    deliveries: count(deliveries),
                })
            })
            .await
    }

    async fn subscriptions(&self, citizen: &CitizenId) -> Result<Vec<Subscription>, StoreError> {
        let citizen = citizen.to_string();
        self.db()
            .tx(move |tx| docs(tx, "SELECT doc FROM subscriptions WHERE citizen = ?1 ORDER BY id", params![citizen]))
            .await
    }

    async fn add_subscription(&self, subscription: &Subscription, max: u32) -> Result<bool, StoreError> {
        let (citizen, id, doc) = (subscription.owner.to_string(), subscription.id.to_string(), json(subscription)?);
        self.db()
            .tx(move |tx| {
                let held: u32 = tx
                    .query_row("SELECT COUNT(*) FROM subscriptions WHERE citizen = ?1", params![citizen], |r| r.get(0))
                    .map_err(backend)?;
                if held >= max {
                    return Ok(false);
                }
                tx.execute(
                    "INSERT INTO subscriptions (citizen, id, doc) VALUES (?1, ?2, ?3)",
                    params![citizen, id, doc],
                )
                .map_err(backend)?;
                Ok(true)
            })
            .await
    }

    async fn delete_subscription(&self, citizen: &CitizenId, id: &SubscriptionId) -> Result<bool, StoreError> {
        let (citizen, id) = (citizen.to_string(), id.to_string());
        self.db()
            .tx(move |tx| {
                let n = tx
                    .execute("DELETE FROM subscriptions WHERE citizen = ?1 AND id = ?2", params![citizen, id])
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }

    async fn push_subscriptions(&self, citizen: &CitizenId) -> Result<Vec<PushSubscription>, StoreError> {
        let citizen = citizen.to_string();
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM push_subscriptions WHERE citizen = ?1 ORDER BY created_at, id",
                    params![citizen],
                )
            })
            .await
    }

    async fn put_push_subscription(&self, subscription: &PushSubscription, max: u32) -> Result<PushStored, StoreError> {
        let (citizen, id, doc) = (subscription.owner.to_string(), subscription.id.to_string(), json(subscription)?);
        let created_at = subscription.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        self.db()
            .tx(move |tx| {
                let replaced = tx
                    .execute(
                        "UPDATE push_subscriptions SET created_at = ?3, doc = ?4 WHERE citizen = ?1 AND id = ?2",
                        params![citizen, id, created_at, doc],
                    )
                    .map_err(backend)?;
                if replaced == 1 {
                    return Ok(PushStored::Replaced);
                }
                let held: u32 = tx
                    .query_row("SELECT COUNT(*) FROM push_subscriptions WHERE citizen = ?1", params![citizen], |r| {
                        r.get(0)
                    })
                    .map_err(backend)?;
                if held >= max {
                    return Ok(PushStored::Full);
                }
                tx.execute(
                    "INSERT INTO push_subscriptions (citizen, id, created_at, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![citizen, id, created_at, doc],
                )
                .map_err(backend)?;
                Ok(PushStored::Added)
            })
            .await
    }

    async fn delete_push_subscription(&self, citizen: &CitizenId, id: &PushSubscriptionId) -> Result<bool, StoreError> {
        let (citizen, id) = (citizen.to_string(), id.to_string());
        self.db()
            .tx(move |tx| {
                let n = tx
                    .execute("DELETE FROM push_subscriptions WHERE citizen = ?1 AND id = ?2", params![citizen, id])
                    .map_err(backend)?;
                Ok(n == 1)
            })
            .await
    }
}
