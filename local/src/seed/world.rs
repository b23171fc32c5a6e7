//! The region as the simulation sees it: its reference data with the demo model's weights,
//! places and staff, and the planning of when things happen (submissions, office hours, polls).

use super::demo::Demo;
use super::model::{exponential, hash_str, mix, Area, Cat, Citizen, Muni, Weighted};
use super::texts;
use anyhow::{anyhow, Context};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use feedback_core::actor::Actor;
use feedback_core::ids::{AuthorityId, MunicipalityId};
use feedback_core::participation::{Audience, BallotAnswer, NewPoll, PollKind, ResultsVisibility};
use feedback_core::region::{AuthorityLevel, RegionData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

/// Independent random streams: submission times, each message's lifecycle, each poll.
pub(super) const STREAM_TIMES: u64 = 1;
pub(super) const STREAM_MESSAGE: u64 = 2;
pub(super) const STREAM_POLL: u64 = 3;

/// A poll to create, with the ballots its audience will cast.
pub(super) struct PollPlan {
    pub(super) create_at: DateTime<Utc>,
    pub(super) input: NewPoll,
    pub(super) ballots: Vec<(DateTime<Utc>, Citizen, Vec<BallotAnswer>)>,
}

/// Messages by local hour of the day.
const HOUR_WEIGHTS: [f64; 24] = [
    0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.75, 1.2, 1.5, 1.6, 1.55, 1.4, 1.35, 1.4, 1.45, 1.4, 1.3, 1.25, 1.35,
    1.4, 1.2, 0.8, 0.4,
];

/// The region as the simulation sees it: reference data, weights, places and the staff.
pub(super) struct World {
    pub(super) region: RegionData,
    pub(super) demo: Demo,
    pub(super) tz: Tz,
    pub(super) seed: u64,
    pub(super) start: DateTime<Utc>,
    pub(super) end: DateTime<Utc>,
    pub(super) center: AuthorityId,
    pub(super) cats: Vec<Cat>,
    pub(super) cats_by_month: Vec<Weighted>,
    pub(super) munis: Vec<Muni>,
    pub(super) munis_weighted: Weighted,
    /// Per category: the authorities that region-wide rules name for it or its group.
    pub(super) regional: Vec<Vec<AuthorityId>>,
    pub(super) officials: HashMap<AuthorityId, Vec<Actor>>,
    pub(super) moderators: Vec<Actor>,
    pub(super) admin: Actor,
}

fn actor(claims: &[(&str, &str)]) -> anyhow::Result<Actor> {
    let map: HashMap<String, String> = claims.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Actor::from_claims(&map).map_err(|e| anyhow!("building an actor from {claims:?}: {e}"))
}

impl World {
    /// The model of `region` by its `demo` model for a run of `messages` messages between
    /// `start` and `end`, drawing from the random streams of `seed`.
    pub(super) fn new(
        region: RegionData,
        demo: Demo,
        seed: u64,
        messages: u64,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> anyhow::Result<World> {
        let tz = region.time_zone();
        let code = region.region.code.clone();
        let center = region.region.center_authority_id.clone();
        let cats: Vec<Cat> = region
            .categories
            .iter()
            .filter(|c| region.is_leaf(&c.id))
            .map(|c| {
                let known = demo.categories.get(c.id.as_str());
                Cat {
                    id: c.id.clone(),
                    group: c.parent_id.clone(),
                    name: c.name.clone(),
                    weight: known.map(|k| k.weight).unwrap_or(1.0),
                    season: demo.season(known.and_then(|k| k.season.as_deref())),
                    located: if c.duplicate_radius_m.is_some() { 0.75 } else { 0.0 },
                }
            })
            .collect();
        anyhow::ensure!(!cats.is_empty(), "the region has no categories to file messages in");
        let cats_by_month = (0..12).map(|m| Weighted::new(cats.iter().map(|c| c.weight_in(m)))).collect();
        let total_pool = (messages as f64 * 0.6).max(5000.0);
        let weight_sum: f64 = region
            .municipalities
            .iter()
            .map(|m| demo.municipalities.get(m.id.as_str()).map(|k| k.population).unwrap_or(20.0))
            .sum();
        let munis: Vec<Muni> = region
            .municipalities
            .iter()
            .map(|m| {
                let known = demo.municipalities.get(m.id.as_str());
                let weight = known.map(|k| k.population).unwrap_or(20.0);
                let pool = ((total_pool * weight / weight_sum.max(1.0)) as u32).max(200);
                Muni {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    weight,
                    center: known.map(|k| Area { lat: k.lat, lon: k.lon, radius_km: k.radius_km }),
                    settlement: known.map(|k| k.settlement.clone()).unwrap_or_else(|| m.name.clone()),
                    locative: known
                        .map(|k| k.locative.clone())
                        .unwrap_or_else(|| demo.places.unknown_locative.replace("{name}", &m.name)),
                    administration: region
                        .authorities
                        .iter()
                        .find(|a| a.level == AuthorityLevel::Municipal && a.municipality_id.as_ref() == Some(&m.id))
                        .map(|a| a.id.clone()),
                    pool,
                    voters: pool.max(2000),
                    big_city: weight >= 300.0,
                }
            })
            .collect();
        anyhow::ensure!(!munis.is_empty(), "the region has no municipalities");
        let munis_weighted = Weighted::new(munis.iter().map(|m| m.weight));
        let regional = cats
            .iter()
            .map(|c| {
                let mut out: Vec<AuthorityId> = Vec::new();
                for r in &region.routing_rules {
                    let names = r.category_id == c.id || Some(&r.category_id) == c.group.as_ref();
                    if names
                        && r.municipality_id.is_none()
                        && r.authority_id != center
                        && !out.contains(&r.authority_id)
                    {
                        out.push(r.authority_id.clone());
                    }
                }
                out
            })
            .collect();
        let mut officials = HashMap::new();
        for a in &region.authorities {
            let n = match a.level {
                AuthorityLevel::Center => 8,
                AuthorityLevel::Regional => 3,
                AuthorityLevel::Municipal
                    if munis.iter().any(|m| m.big_city && Some(&a.id) == m.administration.as_ref()) =>
                {
                    8
                }
                AuthorityLevel::Municipal => 2,
            };
            let staff = (1..=n)
                .map(|k| {
                    let sub = format!("official-{}-{k}", a.id);
                    actor(&[("sub", &sub), ("roles", "[official]"), ("region", &code), ("authority", a.id.as_str())])
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            officials.insert(a.id.clone(), staff);
        }
        anyhow::ensure!(officials.contains_key(&center), "the region's centre {center} is not among its authorities");
        let moderators = (1..=3)
            .map(|k| actor(&[("sub", &format!("moderator-{code}-{k}")), ("roles", "[moderator]"), ("region", &code)]))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let admin = actor(&[("sub", &format!("admin-{code}-1")), ("roles", "[admin]"), ("region", &code)])?;
        Ok(World {
            region,
            demo,
            tz,
            seed,
            start,
            end,
            center,
            cats,
            cats_by_month,
            munis,
            munis_weighted,
            regional,
            officials,
            moderators,
            admin,
        })
    }

    /// An independent random stream, the same for the same seed, stream and index.
    pub(super) fn rng(&self, stream: u64, index: u64) -> StdRng {
        StdRng::seed_from_u64(mix(mix(self.seed ^ mix(stream)) ^ index))
    }

    pub(super) fn code(&self) -> &str {
        &self.region.region.code
    }

    pub(super) fn citizen(&self, c: Citizen) -> anyhow::Result<Actor> {
        let m = self.munis.get(usize::from(c.muni)).context("a citizen's municipality")?;
        let sub = format!("citizen-{}-{}", m.id, c.number);
        let h = mix(hash_str(&sub));
        let birth = format!("{}-{:02}-{:02}", 1950 + h % 56, 1 + (h >> 8) % 12, 1 + (h >> 16) % 28);
        actor(&[
            ("sub", &sub),
            ("roles", "[citizen]"),
            ("region", self.code()),
            ("municipality", m.id.as_str()),
            ("birthdate", &birth),
        ])
    }

    pub(super) fn officials_of(&self, authority: &AuthorityId) -> usize {
        self.officials.get(authority).map(Vec::len).unwrap_or(1).max(1)
    }

    /// An official of the authority (the ЦУР's when it has none).
    pub(super) fn official(&self, authority: Option<&AuthorityId>, k: usize) -> anyhow::Result<&Actor> {
        let staff = authority
            .and_then(|a| self.officials.get(a))
            .filter(|s| !s.is_empty())
            .or_else(|| self.officials.get(&self.center))
            .context("the centre has no staff")?;
        staff.get(k % staff.len().max(1)).context("the centre has no staff")
    }

    /// The share of late answers of an authority: a stable trait of each one, 4 to 26 %.
    pub(super) fn lateness(&self, authority: &AuthorityId) -> f64 {
        if *authority == self.center {
            return 0.04;
        }
        let u = (mix(hash_str(authority.as_str())) % 10_000) as f64 / 10_000.0;
        0.04 + 0.22 * u * u
    }

    /// Where a message goes when it is not for the authority it was routed to.
    pub(super) fn alternative(
        &self,
        rng: &mut StdRng,
        cat: usize,
        muni: &Muni,
        not_to: &[AuthorityId],
    ) -> Option<AuthorityId> {
        let mut options: Vec<&AuthorityId> = self.regional.get(cat).into_iter().flatten().collect();
        options.extend(muni.administration.as_ref());
        options.retain(|a| !not_to.contains(a));
        options.dedup();
        if options.is_empty() {
            return None;
        }
        options.get(rng.random_range(0..options.len())).map(|a| (*a).clone())
    }

    pub(super) fn local(&self, day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
        let naive = day.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default());
        self.tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
    }

    /// Moves a moment into office hours (working days, 9 to 18 local), unless this one is among
    /// the few done in the evening or on a day off.
    pub(super) fn work_time(&self, rng: &mut StdRng, t: DateTime<Utc>) -> DateTime<Utc> {
        if rng.random_bool(0.08) {
            return t;
        }
        let local = t.with_timezone(&self.tz);
        let day = local.date_naive();
        let calendar = &self.region.calendar;
        if calendar.is_working_day(day) && (9..18).contains(&local.hour()) {
            return t;
        }
        let day =
            if calendar.is_working_day(day) && local.hour() < 9 { day } else { calendar.nth_working_day_after(day, 1) };
        self.local(day, 9, 0) + Duration::minutes(rng.random_range(0..300))
    }

    /// Moves a moment out of the night, when residents sleep.
    pub(super) fn awake_time(&self, rng: &mut StdRng, t: DateTime<Utc>) -> DateTime<Utc> {
        let local = t.with_timezone(&self.tz);
        if local.hour() >= 7 {
            return t;
        }
        self.local(local.date_naive(), 7, 0) + Duration::minutes(rng.random_range(0..240))
    }

    /// When the official answers: by the deadline, early more often than late in the term, or
    /// after it, mostly within days.
    pub(super) fn answer_time(
        &self,
        rng: &mut StdRng,
        start: DateTime<Utc>,
        deadline: DateTime<Utc>,
        late: bool,
    ) -> DateTime<Utc> {
        let span = (deadline - start).num_seconds() - 3600;
        if late || span < 2 * 3600 {
            let hours = 2.0 + exponential(rng, 60.0).min(24.0 * 30.0);
            let from = deadline.max(start + Duration::minutes(30));
            return self.work_time(rng, from + Duration::seconds((hours * 3600.0) as i64)).max(from);
        }
        let f = rng.random::<f64>().powf(1.5);
        let t = start + Duration::seconds(1800 + (f * (span - 1800) as f64) as i64);
        let snapped = self.work_time(rng, t);
        if snapped < deadline - Duration::minutes(30) {
            snapped
        } else {
            t
        }
    }

    /// Submission moments over the window, by the weekly and daily rhythm, sorted.
    pub(super) fn submission_times(&self, n: u64) -> Vec<i64> {
        let mut rng = self.rng(STREAM_TIMES, 0);
        let first = self.start.with_timezone(&self.tz).date_naive();
        let last = self.end.with_timezone(&self.tz).date_naive();
        let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
        let day_weights = Weighted::new(days.iter().map(|d| {
            let week = match d.weekday() {
                Weekday::Mon => 1.15,
                Weekday::Tue => 1.1,
                Weekday::Wed => 1.05,
                Weekday::Thu => 1.0,
                Weekday::Fri => 0.95,
                Weekday::Sat => 0.7,
                Weekday::Sun => 0.65,
            };
            if self.region.calendar.holidays.contains(d) {
                0.65
            } else {
                week
            }
        }));
        let hours = Weighted::new(HOUR_WEIGHTS);
        let (start, end) = (self.start.timestamp_millis(), self.end.timestamp_millis());
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        while (out.len() as u64) < n {
            let Some(&day) = days.get(day_weights.sample(&mut rng)) else { break };
            let hour = hours.sample(&mut rng) as u32;
            let t = self.local(day, hour, 0).timestamp_millis() + rng.random_range(0..3_600_000);
            if t > start && t <= end {
                out.push(t);
            }
        }
        out.sort_unstable();
        out
    }

    pub(super) fn place(&self, rng: &mut StdRng, muni: usize) -> texts::Place<'_> {
        let big_city = self.munis.get(muni).is_some_and(|m| m.big_city);
        let places = &self.demo.places;
        let streets = if big_city { &places.city_streets } else { &places.town_streets };
        let street = texts::pick(rng, streets);
        let mut street2 = texts::pick(rng, streets);
        if street2 == street {
            let next = (streets.iter().position(|s| s == street).unwrap_or(0) + 1) % streets.len();
            street2 = streets.get(next).map_or(street, String::as_str);
        }
        let house = rng.random_range(1..if big_city { 150 } else { 60 });
        texts::Place {
            street,
            street2,
            house,
            n: rng.random_range(2..5),
            route: places.routes.get(rng.random_range(0..places.routes.len())).copied().unwrap_or_default(),
        }
    }

    /// Polls spread over the window, each with its audience and ballots.
    pub(super) fn plan_polls(&self, count: u32) -> Vec<PollPlan> {
        let window = (self.end - self.start).num_seconds().max(1) as f64;
        (0..count)
            .filter_map(|j| {
                let mut rng = self.rng(STREAM_POLL, u64::from(j));
                let templates = &self.demo.polls.templates;
                let template = templates.get(rng.random_range(0..templates.len()))?;
                let at = (0.05 + 0.85 * (f64::from(j) + rng.random::<f64>()) / f64::from(count)) * window;
                let open_day = (self.start + Duration::seconds(at as i64)).with_timezone(&self.tz).date_naive();
                let opens_at = self.local(open_day, 8, 0).max(self.start + Duration::hours(2));
                let days = match template.kind {
                    PollKind::Vote => rng.random_range(7..=14),
                    _ => rng.random_range(10..=21),
                };
                let closes_at = self.local(open_day + Duration::days(days), 20, 0);
                let create_at =
                    (opens_at - Duration::hours(rng.random_range(12..120))).max(self.start + Duration::minutes(30));
                let (audience, label) = self.audience(&mut rng);
                let year = opens_at.with_timezone(&self.tz).year();
                let preference: Vec<Vec<f64>> = template
                    .questions
                    .iter()
                    .map(|q| q.options.iter().map(|_| 0.05 + rng.random::<f64>().powi(2)).collect())
                    .collect();
                let voters_from: Vec<usize> = if audience.is_empty() {
                    (0..self.munis.len()).collect()
                } else {
                    audience.iter().filter_map(|a| self.munis.iter().position(|m| &m.id == a)).collect()
                };
                let voter_weights =
                    Weighted::new(voters_from.iter().map(|i| self.munis.get(*i).map_or(0.0, |m| m.weight)));
                let last = closes_at.min(self.end);
                let span = (last - opens_at).num_seconds();
                let wanted = rng.random_range(30..=300);
                let mut seen = HashSet::new();
                let mut ballots = Vec::new();
                for _ in 0..wanted * 3 {
                    if ballots.len() >= wanted || span <= 60 {
                        break;
                    }
                    let Some(&muni) = voters_from.get(voter_weights.sample(&mut rng)) else { break };
                    let Some(m) = self.munis.get(muni) else { break };
                    let voter = Citizen { muni: muni as u16, number: rng.random_range(0..m.voters) };
                    if !seen.insert(voter) {
                        continue;
                    }
                    let offset = (rng.random::<f64>().powf(1.7) * (span - 60) as f64) as i64 + 30;
                    let answers = texts::ballot(&mut rng, template, &preference, &self.demo.polls.text_answers);
                    ballots.push((opens_at + Duration::seconds(offset), voter, answers));
                }
                let kind_title = template.title.replace("{year}", &year.to_string());
                Some(PollPlan {
                    create_at: create_at.min(opens_at - Duration::minutes(1)).max(self.start),
                    input: NewPoll {
                        kind: template.kind,
                        title: format!("{kind_title} — {label}"),
                        description: Some(template.description.clone()),
                        questions: template.questions.clone(),
                        audience: Audience {
                            municipalities: audience,
                            min_age: (template.kind == PollKind::Vote).then_some(18),
                        },
                        opens_at,
                        closes_at,
                        results: if template.kind == PollKind::Vote {
                            ResultsVisibility::AfterClose
                        } else {
                            ResultsVisibility::Live
                        },
                    },
                    ballots,
                })
            })
            .collect()
    }

    /// A poll's audience: one municipality, a few, or the whole region; and its label.
    pub(super) fn audience(&self, rng: &mut StdRng) -> (Vec<MunicipalityId>, String) {
        let roll = rng.random::<f64>();
        if roll < 0.4 || self.munis.len() == 1 {
            return match self.munis.get(self.munis_weighted.sample(rng)) {
                Some(m) => (vec![m.id.clone()], m.name.clone()),
                None => (vec![], self.region.region.name.clone()),
            };
        }
        if roll < 0.7 {
            let k = rng.random_range(3..=8).min(self.munis.len());
            let mut chosen: Vec<usize> = Vec::new();
            while chosen.len() < k {
                let i = rng.random_range(0..self.munis.len());
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
            chosen.sort_unstable();
            let polls = &self.demo.polls;
            let label = if (2..=4).contains(&k) { &polls.few_municipalities } else { &polls.many_municipalities };
            return (
                chosen.iter().filter_map(|i| self.munis.get(*i)).map(|m| m.id.clone()).collect(),
                label.replace("{count}", &k.to_string()),
            );
        }
        (vec![], self.region.region.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region_file::RegionSource;
    use feedback_core::values::MessageText;

    fn world(messages: u64, days: u32) -> World {
        let region = RegionSource::Embedded.load().unwrap();
        let demo = Demo::for_region(&RegionSource::Embedded, &region.region.code).unwrap();
        let end = DateTime::parse_from_rfc3339("2026-11-28T12:00:00+05:00").unwrap().with_timezone(&Utc);
        World::new(region, demo, 7, messages, end - Duration::days(i64::from(days)), end).unwrap()
    }

    #[test]
    fn every_generated_text_passes_automatic_moderation() {
        let w = world(1000, 30);
        let mut rng = w.rng(99, 0);
        for cat in &w.cats {
            for i in 0..60 {
                let muni = i % w.munis.len();
                let place = w.place(&mut rng, muni);
                let text = texts::message(&mut rng, &w.demo, cat, &w.munis[muni], &place);
                let parsed = MessageText::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
                assert_eq!(feedback_core::moderation::moderate(parsed.as_str()), Ok(()), "{text}");
                let answer = texts::answer(&mut rng, &w.demo, Some(cat), true, i % 2 == 0, w.end.with_timezone(&w.tz));
                assert!(MessageText::parse(&answer).is_ok(), "{answer}");
            }
        }
    }

    #[test]
    fn the_demo_region_is_fully_modelled() {
        let w = world(1000, 30);
        assert_eq!(w.cats.len(), 59);
        for c in &w.cats {
            assert!(w.demo.categories.contains_key(c.id.as_str()), "no weight for {}", c.id);
        }
        for id in w.demo.categories.keys() {
            assert!(w.cats.iter().any(|c| c.id.as_str() == id), "the region has no category {id}");
        }
        for id in w.demo.municipalities.keys() {
            assert!(w.munis.iter().any(|m| m.id.as_str() == id), "the region has no municipality {id}");
        }
        for m in &w.munis {
            assert!(m.center.is_some() && m.administration.is_some(), "{} is not modelled", m.id);
        }
        let tyumen = w.munis.iter().find(|m| m.id.as_str() == "tyumen").unwrap();
        assert!(w.munis.iter().all(|m| m.weight <= tyumen.weight));
    }

    #[test]
    fn submissions_follow_the_week_and_the_day_and_stay_in_the_window() {
        let w = world(20_000, 56);
        let times = w.submission_times(20_000);
        assert_eq!(times.len(), 20_000);
        assert!(times.windows(2).all(|p| p[0] <= p[1]));
        let (start, end) = (w.start.timestamp_millis(), w.end.timestamp_millis());
        assert!(times.iter().all(|t| *t > start && *t <= end));
        let (mut weekday, mut weekend, mut night, mut day) = (0, 0, 0, 0);
        for t in &times {
            let local = DateTime::from_timestamp_millis(*t).unwrap().with_timezone(&w.tz);
            match local.weekday() {
                Weekday::Sat | Weekday::Sun => weekend += 1,
                _ => weekday += 1,
            }
            match local.hour() {
                1..=4 => night += 1,
                10..=13 => day += 1,
                _ => {}
            }
        }
        assert!(f64::from(weekday) / 5.0 > 1.3 * f64::from(weekend) / 2.0, "{weekday} weekday, {weekend} weekend");
        assert!(day > 10 * night, "{day} by day, {night} at night");
    }

    #[test]
    fn the_same_seed_plans_the_same_polls_and_submissions() {
        let (a, b) = (world(500, 60), world(500, 60));
        assert_eq!(a.submission_times(500), b.submission_times(500));
        let (pa, pb) = (a.plan_polls(3), b.plan_polls(3));
        assert_eq!(pa.len(), 3);
        for (x, y) in pa.iter().zip(&pb) {
            assert_eq!(x.input, y.input);
            assert_eq!(x.ballots.len(), y.ballots.len());
            assert!(x.ballots.len() >= 30 && x.ballots.len() <= 300);
            assert!(x.create_at < x.input.opens_at && x.input.opens_at < x.input.closes_at);
            assert!(x.ballots.iter().all(|(t, _, _)| *t >= x.input.opens_at && *t < x.input.closes_at));
        }
    }
}
