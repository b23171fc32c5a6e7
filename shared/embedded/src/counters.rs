//! The analytics counters in SQLite: one row per counter item and field.

use crate::{backend, from_json, SqliteStore};
use async_trait::async_trait;
use feedback_core::analytics::{deltas, CounterKey, CounterRow, Counters, SlotRange};
use feedback_core::ids::MessageId;
use feedback_core::ports::{CounterStore, StoreError};
use feedback_core::HistoryEntry;
use rusqlite::params;
use std::collections::BTreeMap;

/// Adds increments inside the caller's transaction.
pub(crate) fn add_counters(tx: &rusqlite::Transaction<'_>, counters: &Counters) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO counters (series, slot, field, value) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (series, slot, field) DO UPDATE SET value = value + excluded.value",
        )
        .map_err(backend)?;
    for (key, fields) in &counters.0 {
        for (field, value) in fields {
            stmt.execute(params![key.series, key.slot, field, value]).map_err(backend)?;
        }
    }
    Ok(())
}

fn rows_of(flat: Vec<(String, String, String, i64)>) -> Vec<CounterRow> {
    let mut out: Vec<CounterRow> = Vec::new();
    for (series, slot, field, value) in flat {
        match out.last_mut() {
            Some(row) if row.key.series == series && row.key.slot == slot => {
                row.fields.insert(field, value);
            }
            _ => out.push(CounterRow { key: CounterKey { series, slot }, fields: BTreeMap::from([(field, value)]) }),
        }
    }
    out
}

#[async_trait]
impl CounterStore for SqliteStore {
    async fn read_counters(&self, ranges: &[SlotRange]) -> Result<Vec<CounterRow>, StoreError> {
        let ranges = ranges.to_vec();
        self.db()
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT series, slot, field, value FROM counters
                         WHERE series = ?1 AND slot BETWEEN ?2 AND ?3 ORDER BY series, slot",
                    )
                    .map_err(backend)?;
                let mut flat = Vec::new();
                for r in &ranges {
                    let rows = stmt
                        .query_map(params![r.series, r.slot_from, r.slot_to], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                        })
                        .map_err(backend)?;
                    for row in rows {
                        flat.push(row.map_err(backend)?);
                    }
                }
                Ok(rows_of(flat))
            })
            .await
    }

    async fn all_counters(&self) -> Result<Counters, StoreError> {
        self.db()
            .tx(move |tx| {
                let mut stmt = tx.prepare("SELECT series, slot, field, value FROM counters").map_err(backend)?;
                let rows = stmt
                    .query_map([], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get(3)?))
                    })
                    .map_err(backend)?;
                let mut out = Counters::default();
                for row in rows {
                    let (series, slot, field, value) = row.map_err(backend)?;
                    out.add(CounterKey { series, slot }, &field, value);
                }
                Ok(out)
            })
            .await
    }

    async fn recount(&self, progress: &(dyn Fn(u64) + Send + Sync)) -> Result<Counters, StoreError> {
        // Read in pages so that progress can be reported and the lock is released in between.
        let mut out = Counters::default();
        let mut after: (String, i64) = (String::new(), -1);
        let mut read = 0u64;
        loop {
            let from = after.clone();
            let page: Vec<(String, i64, String)> = self
                .db()
                .tx(move |tx| {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT message_id, seq, doc FROM history WHERE (message_id, seq) > (?1, ?2)
                             ORDER BY message_id, seq LIMIT 5000",
                        )
                        .map_err(backend)?;
                    let rows = stmt
                        .query_map(params![from.0, from.1], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .map_err(backend)?;
                    rows.map(|r| r.map_err(backend)).collect()
                })
                .await?;
            let Some(last) = page.last() else { return Ok(out) };
            after = (last.0.clone(), last.1);
            for (id, _, doc) in &page {
                let id = MessageId::parse(id).map_err(|e| StoreError::Backend(anyhow::anyhow!("{e}")))?;
                let entry: HistoryEntry = from_json(doc)?;
                out.merge(&deltas(&id, &entry));
            }
            read += page.len() as u64;
            progress(read);
        }
    }
}
