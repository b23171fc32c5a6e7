//! The analytics counters in SQLite: one row per counter item, one column per field. SQLite has
//! one writer, so nothing is sharded here.

use crate::{backend, from_json, SqliteStore};
use async_trait::async_trait;
use feedback_core::analytics::{
    CounterKey, CounterRow, Counters, SlotRange, EVENT_FIELDS, MESSAGES_FIELD, OVERDUE_NOW_FIELD, SCORECARD_FIELDS,
};
use feedback_core::ports::{CounterStore, HistoryPage, HistoryScan, StoreError};
use feedback_core::HistoryEntry;
use rusqlite::params_from_iter;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The field columns, in table order.
fn fields() -> impl Iterator<Item = &'static str> {
    EVENT_FIELDS.iter().copied().chain([MESSAGES_FIELD, OVERDUE_NOW_FIELD]).chain(SCORECARD_FIELDS)
}

/// The scorecards' columns, added to a database made before them (`SCORECARD_FIELDS`).
pub(crate) fn scorecard_columns() -> Vec<(&'static str, &'static str)> {
    SCORECARD_FIELDS.iter().map(|f| (*f, "INTEGER NOT NULL DEFAULT 0")).collect()
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
            return Err(StoreError::backend("adding counters", format!("no counter column for field {unknown}")));
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
}

/// The cursor of a history page: the last `(message_id, seq)` read.
#[derive(serde::Serialize, serde::Deserialize)]
struct After(String, i64);

#[async_trait]
impl HistoryScan for SqliteStore {
    /// In `(message_id, seq)` order, by the primary key.
    async fn history_page(&self, after: Option<&str>, limit: usize) -> Result<HistoryPage, StoreError> {
        let After(id, seq) = match after {
            Some(cursor) => from_json(cursor)?,
            None => After(String::new(), -1),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let page: Vec<(String, i64, String)> = self
            .db()
            .tx(move |tx| {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT message_id, seq, doc FROM history WHERE (message_id, seq) > (?1, ?2)
                         ORDER BY message_id, seq LIMIT ?3",
                    )
                    .map_err(backend)?;
                let rows = stmt
                    .query_map(rusqlite::params![id, seq, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(backend)?;
                rows.map(|r| r.map_err(backend)).collect()
            })
            .await?;
        let next = match page.last() {
            Some((id, seq, _)) if i64::try_from(page.len()).unwrap_or(i64::MAX) == limit => {
                Some(crate::json(&After(id.clone(), *seq))?)
            }
            _ => None,
        };
        let entries = page.iter().map(|(_, _, doc)| from_json::<HistoryEntry>(doc)).collect::<Result<_, _>>()?;
        Ok(HistoryPage { entries, next })
    }
}
