//! Reading the counters: slot ranges, stored rows, the port that reads them (`CounterStore`) and
//! the comparison with a recount. Their keys and increments are `crate::counters`.

pub(crate) use crate::counters::{day_slot, dekad_slot, month_slot, series_name, Series};
pub use crate::counters::{
    deltas, deltas_of_history, shard_of, shards_of, working_days_field, CounterKey, Counters, Scope, EVENT_FIELDS,
    MESSAGES_FIELD, OVERDUE_NOW_FIELD, REGION_SHARDS, SCORECARD_FIELDS, WORKING_DAY_BUCKETS,
};
use crate::message::Status;
use crate::ports::{HistoryScan, StoreError};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// A slot range of one series to read: `slot_from ..= slot_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    pub series: String,
    pub slot_from: String,
    pub slot_to: String,
}

/// One stored counter item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRow {
    pub key: CounterKey,
    pub fields: BTreeMap<String, i64>,
}

/// A scope's messages by current status, with the overdue among them, summed over every month
/// of the status series (one range: a `Query` per shard on DynamoDB, one indexed range on SQLite).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusTotals {
    by_status: BTreeMap<String, (i64, i64)>,
}

impl StatusTotals {
    /// Messages now in any of `statuses`.
    pub fn messages(&self, statuses: &[Status]) -> i64 {
        statuses.iter().filter_map(|s| self.by_status.get(s.as_str())).map(|(n, _)| *n).sum::<i64>().max(0)
    }

    /// Messages now awaiting an answer past their deadline.
    pub fn overdue(&self) -> i64 {
        self.by_status.values().map(|(_, o)| *o).sum::<i64>().max(0)
    }
}

/// Reads a scope's [`StatusTotals`] from the month slots of its status series.
pub async fn status_totals<S: CounterStore + ?Sized>(store: &S, scope: &Scope) -> Result<StatusTotals, StoreError> {
    let range = SlotRange { series: series_name(scope, Series::Status), slot_from: "M".into(), slot_to: "M~".into() };
    let mut out = StatusTotals::default();
    for row in store.read_counters(std::slice::from_ref(&range)).await? {
        let status = row.key.slot.split_once('|').map(|(_, k)| k).unwrap_or("").to_owned();
        let entry = out.by_status.entry(status).or_default();
        entry.0 += row.fields.get(MESSAGES_FIELD).copied().unwrap_or(0);
        entry.1 += row.fields.get(OVERDUE_NOW_FIELD).copied().unwrap_or(0);
    }
    Ok(out)
}

/// Compares stored counters with a recount; the differences, as (key, field, stored, expected).
pub fn differences(stored: &Counters, expected: &Counters) -> Vec<(CounterKey, String, i64, i64)> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&CounterKey> = stored.0.keys().chain(expected.0.keys()).collect();
    for k in keys {
        let empty = BTreeMap::new();
        let s = stored.0.get(k).unwrap_or(&empty);
        let e = expected.0.get(k).unwrap_or(&empty);
        let fields: std::collections::BTreeSet<&String> = s.keys().chain(e.keys()).collect();
        for f in fields {
            let (a, b) = (s.get(f).copied().unwrap_or(0), e.get(f).copied().unwrap_or(0));
            if a != b {
                out.push((k.clone(), f.clone(), a, b));
            }
        }
    }
    out
}

/// The fields the messages reports and the authorities' ranking read: the events and, for
/// `group_by=status`, the messages now in each status.
// Indexing in a constant is checked when it compiles: it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
pub const REPORT_FIELDS: [&str; EVENT_FIELDS.len() + 1] = {
    let mut out = [MESSAGES_FIELD; EVENT_FIELDS.len() + 1];
    let mut i = 0;
    while i < EVENT_FIELDS.len() {
        out[i] = EVENT_FIELDS[i];
        i += 1;
    }
    out
};

/// Counter fields summed per group key (the part of a slot after its `|`).
pub type GroupSums = BTreeMap<String, BTreeMap<String, i64>>;

/// Adds `fields` into `into`, allocating a field's name only the first time it is seen.
pub(crate) fn add_fields(into: &mut BTreeMap<String, i64>, fields: &BTreeMap<String, i64>) {
    for (f, v) in fields {
        match into.get_mut(f) {
            Some(sum) => *sum += v,
            None => {
                into.insert(f.clone(), *v);
            }
        }
    }
}

/// The group key of a stored slot (`D2026-11-28|key`, `T2026-11-3|key`, `M2026-11|key`).
pub(crate) fn slot_key(slot: &str) -> &str {
    slot.split_once('|').map(|(_, k)| k).unwrap_or("")
}

/// Rows summed per group key; fields that cancel out are left out.
pub fn sum_by_key(rows: &[CounterRow]) -> GroupSums {
    let mut out = GroupSums::new();
    for row in rows {
        let key = slot_key(&row.key.slot);
        match out.get_mut(key) {
            Some(into) => add_fields(into, &row.fields),
            None => {
                out.insert(key.to_owned(), row.fields.clone());
            }
        }
    }
    for fields in out.values_mut() {
        fields.retain(|_, v| *v != 0);
    }
    out
}

/// The analytics counters. The message store adds each transition's increments
/// (`analytics::deltas` of its history entry) in the transaction that writes the entry; this port
/// reads them.
#[async_trait]
pub trait CounterStore: Send + Sync + 'static {
    /// The counter items in the given slot ranges.
    async fn read_counters(&self, ranges: &[SlotRange]) -> Result<Vec<CounterRow>, StoreError>;

    /// The given `fields` of the counter items in the given slot ranges, summed per group key:
    /// what a report grouped by anything but the day needs. A store that can add as it reads
    /// (SQLite: only those columns, into one array per group, with no map per row) does; the
    /// others read the rows and add them here.
    async fn sum_counters(&self, ranges: &[SlotRange], fields: &[&'static str]) -> Result<GroupSums, StoreError> {
        let mut sums = sum_by_key(&self.read_counters(ranges).await?);
        for f in sums.values_mut() {
            f.retain(|name, _| fields.contains(&name.as_str()));
        }
        Ok(sums)
    }

    /// Every stored counter. For offline reconciliation only: it reads everything.
    async fn all_counters(&self) -> Result<Counters, StoreError>;

    /// The time up to which the counters hold every committed transition, when they are added
    /// after commit; `None` when each transition adds its own in its transaction (they are
    /// exact as of the read).
    async fn counted_as_of(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        Ok(None)
    }
}

/// Every counter recounted from the stored history entries, with the same `deltas` that the
/// transitions carried. For offline reconciliation only: it reads everything. `progress` hears
/// the number of entries read so far, after every page.
pub async fn recount<S: HistoryScan + ?Sized>(
    store: &S,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Counters, StoreError> {
    const PAGE: usize = 5000;
    let mut out = Counters::default();
    let mut read = 0u64;
    let mut after: Option<String> = None;
    loop {
        let page = store.history_page(after.as_deref(), PAGE).await?;
        for entry in &page.entries {
            out.merge(&deltas(entry));
        }
        read += page.entries.len() as u64;
        progress(read);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::HistoryPage;
    use crate::HistoryEntry;

    #[test]
    fn increments_that_cancel_leave_nothing() {
        let k = CounterKey { series: "R|all".into(), slot: "D2026-11-28|".into() };
        let mut c = Counters::default();
        c.add(k.clone(), "submitted", 2);
        c.add(k.clone(), "submitted", -2);
        assert!(c.is_empty());
        let mut stored = Counters::default();
        stored.add(k.clone(), "routed", 1);
        assert_eq!(differences(&stored, &c), vec![(k, "routed".to_owned(), 1, 0)]);
    }

    /// Serves stored entries a few at a time, by position, the way a paging store does.
    struct Pages(Vec<HistoryEntry>, usize);

    #[async_trait]
    impl HistoryScan for Pages {
        async fn history_page(&self, after: Option<&str>, _limit: usize) -> Result<HistoryPage, StoreError> {
            let from: usize = after.map_or(0, |a| a.parse().unwrap());
            let to = (from + self.1).min(self.0.len());
            let next = (to < self.0.len()).then(|| to.to_string());
            Ok(HistoryPage { entries: self.0[from..to].to_vec(), next })
        }
    }

    #[tokio::test]
    async fn a_recount_adds_every_page_and_reports_progress() {
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-27T23:30:00+05:00").unwrap().to_utc();
        let lifecycle: Vec<HistoryEntry> = (0..7)
            .map(|i| {
                let input = crate::submission::NewMessage {
                    category_id: crate::ids::CategoryId::parse(["dorogi-yamy", "dvory"][i % 2]).unwrap(),
                    text: crate::values::MessageText::parse("Яма на дороге у дома").unwrap(),
                    municipality_id: None,
                    address: None,
                    location: None,
                    photo_ids: Default::default(),
                    public: false,
                };
                let author = crate::ids::CitizenId::parse("alice").unwrap();
                let municipality = crate::ids::MunicipalityId::parse("tyumen").unwrap();
                let at = start + chrono::Duration::hours(7 * i as i64);
                crate::submission::new_submission(&author, &input, municipality, at, chrono_tz::UTC).1
            })
            .collect();
        let expected = deltas_of_history(&lifecycle);
        assert!(!expected.is_empty());
        for page in [1, 2, lifecycle.len(), lifecycle.len() + 5] {
            let heard = std::sync::Mutex::new(Vec::new());
            let got = recount(&Pages(lifecycle.clone(), page), &|n| heard.lock().unwrap().push(n)).await.unwrap();
            assert_eq!(got, expected, "pages of {page}");
            assert_eq!(heard.lock().unwrap().last(), Some(&(lifecycle.len() as u64)));
        }
    }
}
