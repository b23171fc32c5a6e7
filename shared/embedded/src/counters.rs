//! The analytics counters in SQLite: one row per counter item, one column per field. SQLite has
//! one writer, so nothing is sharded here.

use crate::{backend, from_json, SqliteStore};
use async_trait::async_trait;
use feedback_core::analytics::{
    CounterKey, CounterRow, Counters, GroupSums, SlotRange, EVENT_FIELDS, MESSAGES_FIELD, OVERDUE_NOW_FIELD,
    SCORECARD_FIELDS,
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

/// Gives a database made before dekad slots its dekads, once: each dekad slot (`T2026-01-3|key`)
/// is the sum of its day slots (`D2026-01-21|key` … `D2026-01-31|key`), exactly what the history
/// entries would have added to it, since every dated increment goes to its day, dekad and month.
/// `counter_backfills` remembers that it ran.
pub(crate) fn backfill_dekads(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS counter_backfills (name TEXT PRIMARY KEY) STRICT, WITHOUT ROWID")?;
    let done: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM counter_backfills WHERE name = 'dekads')", [], |r| r.get(0))?;
    if done {
        return Ok(());
    }
    let cols: Vec<&str> = fields().collect();
    // `D2026-01-21|key`: the month is characters 2–9 with its dash, the day 10–11, the key from 12.
    let dekads = format!(
        "INSERT INTO counter_items (series, slot, {cols})
         SELECT series,
                'T' || substr(slot, 2, 8)
                    || CASE WHEN substr(slot, 10, 2) <= '10' THEN '1' WHEN substr(slot, 10, 2) <= '20' THEN '2' ELSE '3' END
                    || substr(slot, 12),
                {sums}
         FROM counter_items WHERE slot >= 'D' AND slot < 'E' GROUP BY 1, 2",
        cols = cols.join(", "),
        sums = cols.iter().map(|c| format!("SUM({c})")).collect::<Vec<_>>().join(", ")
    );
    let tx = conn.unchecked_transaction()?;
    tx.execute(&dekads, [])?;
    tx.execute("INSERT INTO counter_backfills (name) VALUES ('dekads')", [])?;
    tx.commit()
}

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

    /// Reads only the asked columns and adds each row into its group's array as it goes: no
    /// map and no owned name per row, so a report costs little more than SQLite's reading of
    /// its rows.
    async fn sum_counters(&self, ranges: &[SlotRange], wanted: &[&'static str]) -> Result<GroupSums, StoreError> {
        if let Some(unknown) = wanted.iter().find(|f| !fields().any(|k| k == **f)) {
            return Err(StoreError::backend("summing counters", format!("no counter column for field {unknown}")));
        }
        let (ranges, wanted) = (ranges.to_vec(), wanted.to_vec());
        self.db()
            .tx(move |tx| {
                let sql = format!(
                    "SELECT slot, {} FROM counter_items WHERE series = ?1 AND slot BETWEEN ?2 AND ?3",
                    wanted.join(", ")
                );
                let mut stmt = tx.prepare_cached(&sql).map_err(backend)?;
                let mut sums: BTreeMap<String, Vec<i64>> = BTreeMap::new();
                for r in &ranges {
                    let mut rows = stmt.query(rusqlite::params![r.series, r.slot_from, r.slot_to]).map_err(backend)?;
                    while let Some(row) = rows.next().map_err(backend)? {
                        let slot = row.get_ref(0).map_err(backend)?.as_str().map_err(|e| backend(e.into()))?;
                        let key = slot.split_once('|').map(|(_, k)| k).unwrap_or("");
                        let acc = match sums.get_mut(key) {
                            Some(acc) => acc,
                            None => sums.entry(key.to_owned()).or_insert_with(|| vec![0; wanted.len()]),
                        };
                        for (i, sum) in acc.iter_mut().enumerate() {
                            *sum += row.get::<_, i64>(i + 1).map_err(backend)?;
                        }
                    }
                }
                Ok(sums
                    .into_iter()
                    .map(|(key, acc)| {
                        let fields = wanted
                            .iter()
                            .zip(acc)
                            .filter(|(_, v)| *v != 0)
                            .map(|(f, v)| ((*f).to_owned(), v))
                            .collect();
                        (key, fields)
                    })
                    .collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use feedback_core::ports::CounterStore;

    fn key(series: &str, slot: &str) -> CounterKey {
        CounterKey { series: series.into(), slot: slot.into() }
    }

    #[tokio::test]
    async fn sums_per_group_are_the_rows_added_up() {
        let store = crate::SqliteStore::new(crate::Db::in_memory().unwrap());
        let mut c = Counters::default();
        c.add(key("R|cat", "D2026-01-15|dorogi-yamy"), "submitted", 2);
        c.add(key("R|cat", "D2026-01-15|dorogi-yamy"), "rating_sum", 5);
        c.add(key("R|cat", "T2026-01-3|dorogi-yamy"), "submitted", 7);
        c.add(key("R|cat", "T2026-01-3|dorogi-yamy"), "rating_sum", -5);
        c.add(key("R|cat", "M2026-02|dorogi-yamy"), "answered", 3);
        c.add(key("R|cat", "M2026-02|svet"), "answered", 1);
        c.add(key("R|cat", "M2026-03|svet"), "answered", 1);
        c.add(key("R|status", "M2026-02|routed"), MESSAGES_FIELD, 4);
        c.add(key("R|mun", "M2026-02|tyumen"), "answered", 9);
        let added = c.clone();
        store.db().tx(move |tx| add_counters(tx, &added)).await.unwrap();
        let range = |series: &str, from: &str, to: &str| SlotRange {
            series: series.into(),
            slot_from: from.into(),
            slot_to: to.into(),
        };
        let ranges = vec![
            range("R|cat", "D2026-01-15|", "D2026-01-20|~"),
            range("R|cat", "T2026-01-3|", "T2026-01-3|~"),
            range("R|cat", "M2026-02|", "M2026-02|~"),
            range("R|status", "M2026-02|", "M2026-03|~"),
        ];
        let all: Vec<&'static str> = fields().collect();
        let sums = store.sum_counters(&ranges, &all).await.unwrap();
        assert_eq!(sums, feedback_core::analytics::sum_by_key(&store.read_counters(&ranges).await.unwrap()));
        let some = store.sum_counters(&ranges, &["submitted", MESSAGES_FIELD]).await.unwrap();
        assert_eq!(some["dorogi-yamy"], BTreeMap::from([("submitted".to_owned(), 9)]));
        assert!(some["svet"].is_empty(), "a group with none of the fields is empty: {some:?}");
        assert!(store.sum_counters(&ranges, &["nonsense"]).await.is_err());
        let expected: GroupSums = [
            ("dorogi-yamy", vec![("answered", 3), ("submitted", 9)]),
            ("svet", vec![("answered", 1)]),
            ("routed", vec![(MESSAGES_FIELD, 4)]),
        ]
        .into_iter()
        .map(|(k, f)| (k.to_owned(), f.into_iter().map(|(f, v)| (f.to_owned(), v)).collect()))
        .collect();
        assert_eq!(sums, expected, "rating_sum cancelled out; March and other series are not read");
    }

    #[tokio::test]
    async fn a_database_from_before_dekads_gets_them_summed_from_its_days_once() {
        let dir = std::env::temp_dir().join(format!("feedback-dekads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("feedback.db");
        // What a store made before dekads holds: days and months only, with no record of a backfill.
        let mut old = Counters::default();
        for (day, n) in [("2026-01-09", 1), ("2026-01-10", 2), ("2026-01-11", 4), ("2026-01-20", 8), ("2026-01-31", 16)]
        {
            old.add(key("R|cat", &format!("D{day}|dorogi-yamy")), "submitted", n);
            old.add(key("R|cat", "M2026-01|dorogi-yamy"), "submitted", n);
        }
        old.add(key("R|status", "D2026-02-28|routed"), MESSAGES_FIELD, 3);
        old.add(key("R|status", "D2026-02-28|routed"), OVERDUE_NOW_FIELD, 1);
        old.add(key("G|2|", "v9|dorogi-yamy|routed"), MESSAGES_FIELD, 5);
        {
            let db = crate::Db::open(&path).unwrap();
            let store = crate::SqliteStore::new(db.clone());
            let added = old.clone();
            db.tx(move |tx| {
                tx.execute("DELETE FROM counter_backfills", []).map_err(backend)?;
                add_counters(tx, &added)
            })
            .await
            .unwrap();
            assert_eq!(store.all_counters().await.unwrap(), old);
        }
        let mut expected = old.clone();
        expected.add(key("R|cat", "T2026-01-1|dorogi-yamy"), "submitted", 3);
        expected.add(key("R|cat", "T2026-01-2|dorogi-yamy"), "submitted", 12);
        expected.add(key("R|cat", "T2026-01-3|dorogi-yamy"), "submitted", 16);
        expected.add(key("R|status", "T2026-02-3|routed"), MESSAGES_FIELD, 3);
        expected.add(key("R|status", "T2026-02-3|routed"), OVERDUE_NOW_FIELD, 1);
        for _ in 0..2 {
            let store = crate::SqliteStore::new(crate::Db::open(&path).unwrap());
            assert_eq!(store.all_counters().await.unwrap(), expected, "summed once, on the first open");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
