//! The analytics use cases: who reads which scope, the messages and authorities reports, poll
//! turnout, and reconciliation of the counters with the history.

use super::counters::{differences, CounterKey, CounterStore, Scope, REPORT_FIELDS};
use super::heatmap;
use super::plan::{plan, DateRange, GroupBy};
use super::report::{rank, summarize, summarize_sums, AuthorityRank, MessagesReport, PollReport, Turnout};
use super::scorecard::{self, ScorecardList, ScorecardReport};
use crate::actor::{Actor, Role};
use crate::error::ServiceError;
use crate::ids::MunicipalityId;
use crate::region::RegionData;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Who may read which scope: admins and analysts the region, officials their authority.
pub fn scope_of(actor: &Actor) -> Result<Scope, ServiceError> {
    if actor.has(Role::Admin) || actor.has(Role::Analyst) {
        return Ok(Scope::Region);
    }
    match (&actor.authority, actor.has(Role::Official)) {
        (Some(a), true) => Ok(Scope::Authority(a.clone())),
        _ => {
            Err(ServiceError::Forbidden("аналитика доступна администраторам, аналитикам и сотрудникам органов власти"))
        }
    }
}

/// What a reconciliation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciliation {
    pub counter_items: usize,
    pub recounted_items: usize,
    pub differences: Vec<(CounterKey, String, i64, i64)>,
}

/// The analytics use cases. They read only counters: no query reads messages or ballots.
pub struct Analytics<S, C> {
    store: S,
    clock: C,
    reference: std::sync::Arc<crate::reference::Reference<S>>,
}

impl<S, C> Analytics<S, C>
where
    S: CounterStore + crate::participation::PollStore + crate::ports::ReferenceStore + Clone,
    C: crate::ports::Clock,
{
    pub fn new(store: S, clock: C, reference: std::sync::Arc<crate::reference::Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    async fn scope(
        &self,
        actor: &Actor,
    ) -> Result<(Scope, std::sync::Arc<crate::ports::Versioned<RegionData>>), ServiceError> {
        let snap = self.reference.snapshot().await?;
        let scope = scope_of(actor)?;
        if !actor.in_region(&snap.value.region.code) {
            return Err(ServiceError::WrongRegion);
        }
        if let Scope::Authority(a) = &scope {
            if snap.value.authority(a).is_none() {
                return Err(ServiceError::Forbidden("аналитика доступна сотрудникам органов власти региона"));
            }
        }
        Ok((scope, snap))
    }

    /// The staff heat map of a box (`heatmap`): every located message of the region, public or
    /// not, or only the overdue ones, counted by cell.
    pub async fn heatmap(&self, actor: &Actor, q: &heatmap::HeatmapQuery) -> Result<heatmap::Heatmap, ServiceError> {
        let snap = self.reference.snapshot().await?;
        heatmap::may_read(actor, &snap.value)?;
        heatmap::check(&snap.value, q)?;
        let p = heatmap::precision(&q.bbox, q.zoom);
        let rows = self.store.read_counters(&heatmap::ranges(&q.bbox, p)).await?;
        Ok(heatmap::cells(&snap.value, q, p, &rows))
    }

    /// The time up to which the counters hold every committed transition (read before the
    /// counters themselves, so that what they show is at least that fresh).
    pub async fn counted_as_of(&self) -> Result<chrono::DateTime<chrono::Utc>, ServiceError> {
        Ok(self.store.counted_as_of().await?.unwrap_or_else(|| self.clock.now()))
    }

    fn today(&self, region: &RegionData) -> NaiveDate {
        self.clock.now().with_timezone(&region.time_zone()).date_naive()
    }

    /// Volumes, timeliness and satisfaction in a date range, grouped.
    pub async fn messages(
        &self,
        actor: &Actor,
        from: Option<&str>,
        to: Option<&str>,
        group_by: Option<&str>,
    ) -> Result<MessagesReport, ServiceError> {
        let (scope, snap) = self.scope(actor).await?;
        let group = match group_by {
            None => GroupBy::Category,
            Some(raw) => raw.parse::<GroupBy>().map_err(|_| {
                ServiceError::field("group_by", "Допустимые значения: category, municipality, authority, status, day.")
            })?,
        };
        let today = self.today(&snap.value);
        let range = DateRange::parse(from, to, today)?;
        let counted_as_of = self.counted_as_of().await?;
        let ranges = plan(&scope, group, &range, today);
        let groups = if group == GroupBy::Day {
            summarize(&scope, group, &range, &self.store.read_counters(&ranges).await?, &snap.value)
        } else {
            summarize_sums(&scope, group, &range, self.store.sum_counters(&ranges, &REPORT_FIELDS).await?, &snap.value)
        };
        let group_by = match group {
            GroupBy::Category => "category",
            GroupBy::Municipality => "municipality",
            GroupBy::Authority => "authority",
            GroupBy::Status => "status",
            GroupBy::Day => "day",
        };
        Ok(MessagesReport { from: range.from, to: range.to, group_by, groups, counted_as_of })
    }

    /// Authorities ranked by on-time share, satisfaction and response time.
    pub async fn authorities(
        &self,
        actor: &Actor,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<AuthorityRank>, ServiceError> {
        let (scope, snap) = self.scope(actor).await?;
        let today = self.today(&snap.value);
        let range = DateRange::parse(from, to, today)?;
        let sums = self.store.sum_counters(&plan(&scope, GroupBy::Authority, &range, today), &REPORT_FIELDS).await?;
        Ok(rank(&summarize_sums(&scope, GroupBy::Authority, &range, sums, &snap.value)))
    }

    /// Every authority's public scorecard over the last 12 months, ranked. Anyone may read it.
    pub async fn scorecards(&self) -> Result<ScorecardList, ServiceError> {
        let snap = self.reference.snapshot().await?;
        let today = self.today(&snap.value);
        let range = scorecard::window(today);
        let rows = self.store.read_counters(&plan(&Scope::Region, GroupBy::Authority, &range, today)).await?;
        Ok(ScorecardList {
            from: range.from,
            to: range.to,
            min_answered: scorecard::MIN_ANSWERED,
            items: scorecard::scorecards(&rows, &snap.value),
            explanations: scorecard::explanations(),
        })
    }

    /// One authority's public scorecard, with its place in the ranking; an unknown id is `NotFound`.
    pub async fn scorecard(&self, raw_id: &str) -> Result<ScorecardReport, ServiceError> {
        let list = self.scorecards().await?;
        let card = list.items.into_iter().find(|c| c.authority_id == raw_id).ok_or(ServiceError::NotFound)?;
        Ok(ScorecardReport {
            from: list.from,
            to: list.to,
            min_answered: list.min_answered,
            scorecard: card,
            explanations: list.explanations,
        })
    }

    /// A poll's turnout by municipality from its live counters, and its results once published.
    pub async fn poll(&self, actor: &Actor, id: &crate::ids::PollId) -> Result<PollReport, ServiceError> {
        let (scope, snap) = self.scope(actor).await?;
        if scope != Scope::Region {
            return Err(ServiceError::Forbidden("аналитика голосований доступна администраторам и аналитикам"));
        }
        let poll = self.store.get_poll(id).await?.ok_or(ServiceError::NotFound)?;
        if poll.kind == crate::participation::PollKind::Discussion {
            return Err(ServiceError::NotFound);
        }
        let tally = self.store.tally(id).await?;
        let frozen = self.store.get_results(id).await?;
        let results = match frozen {
            Some(r) => Some(r),
            None if poll.results == crate::participation::ResultsVisibility::Live => {
                Some(crate::participation::Results::from_tally(&poll, &tally, false))
            }
            None => None,
        };
        let exact: BTreeMap<String, u64> = match results.as_ref().filter(|r| r.is_final) {
            Some(r) => r.turnout.iter().filter_map(|(m, c)| Some((m.clone(), c.exact()?))).collect(),
            None => tally.turnout.clone(),
        };
        // Adults are the denominator only where every adult may vote.
        let adults_poll = matches!(poll.audience.min_age, None | Some(18));
        let adults = |id: &MunicipalityId| snap.value.municipality(id).and_then(|m| m.adults).filter(|_| adults_poll);
        let turnout = crate::disclosure::suppress(&exact)
            .into_iter()
            .map(|(m, ballots)| {
                let muni = MunicipalityId::parse(&m).ok();
                let eligible = muni.as_ref().and_then(adults);
                Turnout {
                    name: muni.as_ref().and_then(|id| snap.value.municipality(id)).map(|x| x.name.clone()),
                    share: share(ballots.exact(), eligible),
                    eligible,
                    municipality_id: m,
                    ballots,
                }
            })
            .collect();
        let results = results.map(crate::participation::Results::disclosed);
        let total_ballots = results.as_ref().filter(|r| r.is_final).map(|r| r.total_ballots).unwrap_or(tally.total);
        let audience: Vec<&MunicipalityId> = if poll.audience.municipalities.is_empty() {
            snap.value.municipalities.iter().map(|m| &m.id).collect()
        } else {
            poll.audience.municipalities.iter().collect()
        };
        let eligible = audience.into_iter().map(adults).sum::<Option<u64>>();
        Ok(PollReport {
            poll_id: poll.id,
            status: poll.status.public(),
            total_ballots,
            eligible,
            turnout_share: share(Some(total_ballots), eligible),
            turnout,
            results,
        })
    }
}

/// `ballots / eligible`, rounded to four places, when both are known and the share is a share.
fn share(ballots: Option<u64>, eligible: Option<u64>) -> Option<f64> {
    let (b, e) = (ballots?, eligible.filter(|&e| e > 0)?);
    (b <= e).then(|| ((b as f64 / e as f64) * 10_000.0).round() / 10_000.0)
}

/// Recounts every counter from the history and compares it with the stored counters.
pub async fn reconcile<S: CounterStore + crate::ports::HistoryScan>(
    store: &S,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Reconciliation, crate::ports::StoreError> {
    let expected = super::counters::recount(store, progress).await?;
    let stored = store.all_counters().await?;
    Ok(Reconciliation {
        counter_items: stored.len(),
        recounted_items: expected.len(),
        differences: differences(&stored, &expected),
    })
}
