//! The analytics counters in SQLite: one row per counter item, one column per field. SQLite has
//! one writer, so nothing is sharded here.

use crate::{backend, from_json, SqliteStore};
use async_trait::async_trait;
use feedback_core::analytics::{deltas, CounterKey, CounterRow, Counters, SlotRange, EVENT_FIELDS, MESSAGES_FIELD};
use feedback_core::ports::{CounterStore, StoreError};
use feedback_core::HistoryEntry;
use rusqlite::params_from_iter;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The field columns, in table order.
fn fields() -> impl Iterator<Item = &'static str> {
    EVENT_FIELDS.iter().copied().chain([MESSAGES_FIELD])
}

static UPSERT: LazyLock<String> = LazyLock::new(|| {
    let cols: Vec<&str> = fields().collect();
    format!(
        "INSERT INTO counter_items (series, slot, {}) VALUES (?1, ?2, {}) ON CONFLICT (series, slot) DO UPDATE SET {}",
        cols.join(", "),
        (0..cols.len()).map(|i| format!("?{}", i + 3)).collect::<Vec<_>>().join(", "),
        cols.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect::<Vec<_>>().join(", ")
    )
});

static SELECT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT series, slot, {} FROM counter_items", fields().collect::<Vec<_>>().join(", ")));

/// Adds increments inside the caller's transaction.
pub(crate) fn add_counters(tx: &rusqlite::Transaction<'_>, counters: &Counters) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(&UPSERT).map_err(backend)?;
    for (key, values) in &counters.0 {
        if let Some(unknown) = values.keys().find(|f| !fields().any(|k| k == f.as_str())) {
            return Err(StoreError::Backend(anyhow::anyhow!("no counter column for field {unknown}")));
        }
        let row: Vec<rusqlite::types::Value> = [key.series.clone().into(), key.slot.clone().into()]
            .into_iter()
            .chain(fields().map(|f| values.get(f).copied().unwrap_or(0).into()))
            .collect();
        stmt.execute(params_from_iter(row)).map_err(backend)?;
    }
    Ok(())
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CounterRow> {
    let mut values = BTreeMap::new();
    for (i, f) in fields().enumerate() {
        let v: i64 = row.get(i + 2)?;
        if v != 0 {
            values.insert(f.to_owned(), v);
        }
    }
    Ok(CounterRow { key: CounterKey { series: row.get(0)?, slot: row.get(1)? }, fields: values })
}

#[async_trait]
impl CounterStore for SqliteStore {
    async fn read_counters(&self, ranges: &[SlotRange]) -> Result<Vec<CounterRow>, StoreError> {
        let ranges = ranges.to_vec();
        self.db()
            .tx(move |tx| {
                let sql = format!("{} WHERE series = ?1 AND slot BETWEEN ?2 AND ?3 ORDER BY slot", *SELECT);
                let mut stmt = tx.prepare_cached(&sql).map_err(backend)?;
                let mut out = Vec::new();
                for r in &ranges {
                    let rows = stmt
                        .query_map(rusqlite::params![r.series, r.slot_from, r.slot_to], read_row)
                        .map_err(backend)?;
                    for row in rows {
                        out.push(row.map_err(backend)?);
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn all_counters(&self) -> Result<Counters, StoreError> {
        self.db()
            .tx(move |tx| {
                let mut stmt = tx.prepare(&SELECT).map_err(backend)?;
                let rows = stmt.query_map([], read_row).map_err(backend)?;
                let mut out = Counters::default();
                for row in rows {
                    let row = row.map_err(backend)?;
                    for (f, v) in &row.fields {
                        out.add(row.key.clone(), f, *v);
                    }
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
                        .query_map(rusqlite::params![from.0, from.1], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .map_err(backend)?;
                    rows.map(|r| r.map_err(backend)).collect()
                })
                .await?;
            let Some(last) = page.last() else { return Ok(out) };
            after = (last.0.clone(), last.1);
            for (_, _, doc) in &page {
                let entry: HistoryEntry = from_json(doc)?;
                out.merge(&deltas(&entry));
            }
            read += page.len() as u64;
            progress(read);
        }
    }
}
