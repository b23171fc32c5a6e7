//! Seeding a store: the region's reference data (`feedback seed-region`, [`seed_region`]) and
//! realistic regional activity generated through the domain services (`feedback seed`,
//! [`generate`]).
//!
//! The module tree: `region` loads a region file into a store; `simulate` is the event loop and
//! its report; `lifecycle` what each event does through the use cases; `queue` the consumers'
//! work done in process; `world` the region as the simulation sees it, `model` its random
//! building blocks, and `texts` the residents' and officials' words.
//!
//! The generator is a discrete-event simulation over the last `days` days up to now. Every message
//! goes through the same use cases real traffic does, each call made with a
//! [`ManualClock`](feedback_core::ManualClock) set to the simulated moment: `Messages::submit` by a
//! resident, `Routing::route` (what the `route-messages` consumer does with the queued job), then
//! moderators, officials and the author through `Workflow` (reject, take, redirect, answer, rate
//! with or without reopening). `Escalation::run` and `Participation::run_schedule` run on an hourly
//! simulated tick, as the `escalate-overdue` and `close-polls` schedules do, so overdue flags,
//! escalations to the ЦУР and poll openings and closings happen at the right simulated times. Polls
//! are created by a regional admin and answered by eligible residents through
//! `Participation::vote`.
//!
//! The activity model:
//! * submission times follow the week (more on weekdays, fewer on weekends and holidays of the
//!   region's production calendar) and the day (the region's local time: little at night, peaks in
//!   the morning and the evening);
//! * categories are drawn by weight, with seasons (heating and snow in winter, potholes in spring,
//!   mowing in summer, floods in April); municipalities by population, Тюмень first;
//! * many distinct residents, drawn from per-municipality pools (some file more than once); the
//!   hourly submission limit is raised for the run so that no submission is refused;
//! * texts are built from Russian templates per category and pass automatic moderation; place-bound
//!   categories usually carry a location inside the municipality and an address;
//! * about 3 % are rejected by a moderator, about 5 % are redirected (returned to the ЦУР by the
//!   authority and forwarded, or forwarded by the ЦУР directly), most are taken into work and
//!   answered; each authority answers a stable share of its messages late (4 to 26 %, about 10 %
//!   over the region) and the rest by the deadline;
//! * most authors rate the answer, scores skewed to 4–5; after a low score some reopen the
//!   message, which is then answered again and rated again.
//!
//! Independent events run concurrently on a set of lanes, each with its own clock and services:
//! a batch takes the next events in time order, at most one per message, and never two events on
//! located messages of the same category within a kilometre of each other (routing may link such
//! messages as duplicates, and an answer to an original answers its duplicates). Ticks run alone.
//! So the outcome of a seed does not depend on thread timing: the same seed gives the same
//! activity, apart from the window's end (the wall clock) and the random parts of the ids and
//! ballot receipts the services generate themselves.
//!
//! Queue jobs are handled in process by `SeedQueue`: the simulation routes every message itself at
//! its simulated routing time, which is exactly what the consumer of a `RouteMessage` job does,
//! and each `Notify` job is delivered through `Notifications::deliver`, as the `notify` consumer
//! does. Transitions write their jobs into the queue table in their own transactions (the
//! transactional outbox); at the end of the run `SeedQueue::consume_table` delivers them and
//! empties the table, so the database is left as if the host had consumed every job, with no
//! backlog for its first start to work through.
//!
//! The database is opened for a bulk load (`Db::open_for_bulk_load`): every transition is still
//! its own transaction, but commits are flushed to disk once, at the end, instead of one by one.

mod demo;
mod lifecycle;
mod model;
mod queue;
mod region;
mod simulate;
mod texts;
mod world;

pub use region::{seed_region, Target};
pub use simulate::{deliver_queued, generate, generate_until, seed_activity, SeedOptions, SeedReport};
