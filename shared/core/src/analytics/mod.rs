//! Analytics: exact counters that change in the same transaction as the transition they count.
//!
//! Every history entry carries the `Facts` of its transition. `deltas` turns them into counter
//! increments, keyed by series (scope and grouping) and slot (local day or month, then the group
//! key). The store adds them to the counter items inside the transaction that writes the entry,
//! so a counter is exactly the sum of the entries written. Queries read whole months where the
//! range covers them and single days at the edges, so their cost follows the number of groups in
//! the answer, not the number of messages. See `docs/analytics.md`.

pub mod cells;
pub mod counters;
pub mod heatmap;
pub mod plan;
pub mod report;
pub mod scorecard;
pub mod service;

pub use crate::message::{EventKind, Facts};
pub use counters::{
    deltas, deltas_of_history, differences, recount, shard_of, shards_of, sum_by_key, working_days_field, CounterKey,
    CounterRow, CounterStore, Counters, GroupSums, Scope, SlotRange, EVENT_FIELDS, MESSAGES_FIELD, OVERDUE_NOW_FIELD,
    REGION_SHARDS, SCORECARD_FIELDS, WORKING_DAY_BUCKETS,
};
pub use plan::{plan, DateRange, GroupBy, MAX_RANGE_DAYS};
pub use report::{
    rank, report_rows, summarize, summarize_sums, to_csv, AuthorityRank, Cell, GroupStats, MessagesReport, PollReport,
    Turnout, REPORT_COLUMNS,
};
pub use service::{reconcile, scope_of, Analytics, Reconciliation};
