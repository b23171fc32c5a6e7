//! Deliveries and contact addresses on SQLite: one row per delivery in `deliveries`, with its
//! subject and, while pending, its due time indexed; one row per (resident, channel) in
//! `contacts`, found by their address (a bounce names one) through an index on the address in
//! lower case. A resident's deliveries (for erasure), subscriptions by municipality and residents by digest are found through
//! expression indexes on the stored documents. The store's transactions run one at a time, so
//! a claim reads and writes the delivery atomically.

use crate::{backend, docs, from_json, is_constraint, json, one, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::delivery::{Address, Channel, Contact, Delivery, DeliveryStore};
use feedback_core::ids::{CitizenId, MunicipalityId};
use feedback_core::ports::StoreError;
use feedback_core::preferences::{Digest, Subscription};
use rusqlite::params;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries (
    id          TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    due_ms      INTEGER,
    doc         TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_subject ON deliveries(subject);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(due_ms) WHERE due_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_by_recipient ON deliveries(json_extract(doc, '$.recipient'));

CREATE TABLE IF NOT EXISTS contacts (
    citizen     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    doc         TEXT NOT NULL,
    PRIMARY KEY (citizen, channel)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contacts_by_address
    ON contacts(channel, lower(json_extract(doc, '$.address')));

CREATE INDEX IF NOT EXISTS subscriptions_by_municipality
    ON subscriptions(json_extract(doc, '$.municipality_id'));
CREATE INDEX IF NOT EXISTS preferences_by_digest
    ON preferences(json_extract(doc, '$.digest'), citizen);
";

fn due_ms(d: &Delivery) -> Option<i64> {
    d.next_attempt_at.filter(|_| d.is_open()).map(|t| t.timestamp_millis())
}

fn digest_word(digest: Digest) -> &'static str {
    match digest {
        Digest::Instant => "instant",
        Digest::Daily => "daily",
        Digest::Weekly => "weekly",
    }
}

fn write(tx: &rusqlite::Transaction<'_>, d: &Delivery, doc: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO deliveries (id, subject, due_ms, doc) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET due_ms = excluded.due_ms, doc = excluded.doc",
        params![d.id, d.subject, due_ms(d), doc],
    )
    .map(drop)
    .map_err(backend)
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn plan_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        let (d, doc) = (delivery.clone(), json(delivery)?);
        self.db()
            .tx(move |tx| {
                match tx.execute(
                    "INSERT INTO deliveries (id, subject, due_ms, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![d.id, d.subject, due_ms(&d), doc],
                ) {
                    Ok(_) => Ok(true),
                    Err(e) if is_constraint(&e) => Ok(false),
                    Err(e) => Err(backend(e)),
                }
            })
            .await
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        let id = id.to_owned();
        self.db().tx(move |tx| one(tx, "SELECT doc FROM deliveries WHERE id = ?1", params![id])).await
    }

    async fn claim_delivery(
        &self,
        id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let id = id.to_owned();
        self.db()
            .tx(move |tx| {
                let Some(read) = one::<Delivery>(tx, "SELECT doc FROM deliveries WHERE id = ?1", params![id])? else {
                    return Ok(None);
                };
                let Some(d) = read.claimed(now, until) else { return Ok(None) };
                write(tx, &d, &json(&d)?)?;
                Ok(Some(d))
            })
            .await
    }

    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let (d, doc) = (delivery.clone(), json(delivery)?);
        self.db().tx(move |tx| write(tx, &d, &doc)).await
    }

    async fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let (now, limit) = (now.timestamp_millis(), i64::try_from(limit).unwrap_or(i64::MAX));
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM deliveries WHERE due_ms IS NOT NULL AND due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2",
                    params![now, limit],
                )
            })
            .await
    }

    async fn deliveries_of(&self, subject: &str) -> Result<Vec<Delivery>, StoreError> {
        let subject = subject.to_owned();
        self.db()
            .tx(move |tx| docs(tx, "SELECT doc FROM deliveries WHERE subject = ?1 ORDER BY id", params![subject]))
            .await
    }

    async fn deliveries_to(&self, citizen: &CitizenId, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let citizen = citizen.to_string();
        let mut all: Vec<Delivery> = self
            .db()
            .tx(move |tx| {
                docs(tx, "SELECT doc FROM deliveries WHERE json_extract(doc, '$.recipient') = ?1", params![citizen])
            })
            .await?;
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        all.truncate(limit);
        Ok(all)
    }

    async fn get_contact(&self, citizen: &CitizenId, channel: Channel) -> Result<Option<Contact>, StoreError> {
        let citizen = citizen.to_string();
        self.db()
            .tx(move |tx| {
                one(
                    tx,
                    "SELECT doc FROM contacts WHERE citizen = ?1 AND channel = ?2",
                    params![citizen, channel.as_str()],
                )
            })
            .await
    }

    async fn put_contact(&self, citizen: &CitizenId, contact: &Contact) -> Result<(), StoreError> {
        let (citizen, channel, doc) = (citizen.to_string(), contact.channel.as_str(), json(contact)?);
        self.db()
            .tx(move |tx| {
                tx.execute(
                    "INSERT INTO contacts (citizen, channel, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT(citizen, channel) DO UPDATE SET doc = excluded.doc",
                    params![citizen, channel, doc],
                )
                .map(drop)
                .map_err(backend)
            })
            .await
    }

    async fn contacts_at(&self, channel: Channel, address: &Address) -> Result<Vec<(CitizenId, Contact)>, StoreError> {
        // SQLite's lower() folds ASCII letters only, as Address::folded does.
        let folded = address.folded();
        self.db()
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT citizen, doc FROM contacts
                         WHERE channel = ?1 AND lower(json_extract(doc, '$.address')) = ?2 ORDER BY citizen",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![channel.as_str(), folded], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(backend)?;
                rows.map(|row| {
                    let (citizen, doc) = row.map_err(backend)?;
                    let citizen =
                        CitizenId::parse(&citizen).map_err(|e| StoreError::backend("a stored resident id", e))?;
                    Ok((citizen, from_json(&doc)?))
                })
                .collect()
            })
            .await
    }

    async fn erase_contacts(&self, citizen: &CitizenId) -> Result<u32, StoreError> {
        let citizen = citizen.to_string();
        self.db()
            .tx(move |tx| {
                let n = tx.execute("DELETE FROM contacts WHERE citizen = ?1", params![citizen]).map_err(backend)?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            })
            .await
    }

    async fn subscriptions_in(&self, municipality: &MunicipalityId) -> Result<Vec<Subscription>, StoreError> {
        let municipality = municipality.to_string();
        self.db()
            .tx(move |tx| {
                docs(
                    tx,
                    "SELECT doc FROM subscriptions WHERE json_extract(doc, '$.municipality_id') = ?1",
                    params![municipality],
                )
            })
            .await
    }

    async fn point_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.db()
            .tx(move |tx| {
                docs(tx, "SELECT doc FROM subscriptions WHERE json_extract(doc, '$.municipality_id') IS NULL", [])
            })
            .await
    }

    async fn digest_residents(
        &self,
        digest: Digest,
        after: Option<&CitizenId>,
        limit: usize,
    ) -> Result<Vec<CitizenId>, StoreError> {
        let (after, limit) =
            (after.map(ToString::to_string).unwrap_or_default(), i64::try_from(limit).unwrap_or(i64::MAX));
        self.db()
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT citizen FROM preferences WHERE json_extract(doc, '$.digest') = ?1 AND citizen > ?2
                         ORDER BY citizen LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(params![digest_word(digest), after, limit], |r| r.get::<_, String>(0))
                    .map_err(backend)?;
                rows.map(|c| {
                    let c = c.map_err(backend)?;
                    CitizenId::parse(&c).map_err(|e| StoreError::backend("a stored resident id", e))
                })
                .collect()
            })
            .await
    }
}
