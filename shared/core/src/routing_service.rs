//! Routing of submitted messages: the authority by the rules (`routing::decide`) or, for a
//! duplicate, the original's; the deadline in working days; the `routed` transition committed with
//! the notification it owes.

use crate::error::ServiceError;
use crate::ids::{AuthorityId, MessageId};
use crate::message::{By, Message, Status, Transition};
use crate::outbox::commit;
use crate::ports::{Clock, MessageStore, MessageUpdate, ReferenceStore, StoreError, WorkQueue};
use crate::reference::Reference;
use crate::region::RegionData;
use crate::routing;
use anyhow::anyhow;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// What routing did with one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOutcome {
    /// The message was routed now, as a duplicate of an open message when `duplicate_of` is set.
    Routed { authority_id: AuthorityId, deadline: DateTime<Utc>, duplicate_of: Option<MessageId> },
    /// Someone routed it before (a redelivery): nothing changed.
    AlreadyRouted,
    /// No such message: nothing to do.
    Missing,
}

/// Routing of submitted messages.
pub struct Routing<S, Q, C> {
    store: S,
    queue: Q,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S: MessageStore + ReferenceStore, Q: WorkQueue, C: Clock> Routing<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, queue, clock, reference }
    }

    pub fn reference(&self) -> &Arc<Reference<S>> {
        &self.reference
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Routes one message by the rules and sets its deadline. A message in the same category
    /// within the category's radius of an open message is linked to it as a duplicate and goes
    /// to the same authority. Safe to run any number of times.
    pub async fn route(&self, id: &MessageId) -> Result<RouteOutcome, ServiceError> {
        for _attempt in 0..5 {
            let Some(message) = self.store.get_message(id).await? else {
                return Ok(RouteOutcome::Missing);
            };
            if message.status != Status::Submitted {
                return Ok(RouteOutcome::AlreadyRouted);
            }
            let snap = self.reference.snapshot().await?;
            let region = &snap.value;
            let now = self.clock.now();
            let days = region.deadline_days(&message.category_id);
            let deadline = region.calendar.deadline(now, days, &region.time_zone());
            let original = self.find_original(&message, region).await?;
            let (authority_id, note) = match &original {
                Some(o) => {
                    let authority =
                        o.authority_id.clone().ok_or_else(|| anyhow!("an open message without authority"))?;
                    let name = region.authority(&authority).map(|a| a.name.clone()).unwrap_or(authority.to_string());
                    (authority, format!("Повтор сообщения {}; направлено: {name}; срок ответа — {days} раб. дн.", o.id))
                }
                None => {
                    let decision = routing::decide(region, &message.category_id, &message.municipality_id);
                    let name = region
                        .authority(&decision.authority_id)
                        .map(|a| a.name.as_str())
                        .unwrap_or(decision.authority_id.as_str());
                    let note = match &decision.rule {
                        Some(_) => format!("Направлено: {name}; срок ответа — {days} раб. дн."),
                        None => format!("Правило маршрутизации не найдено; направлено в {name} для ручной сортировки"),
                    };
                    (decision.authority_id, note)
                }
            };
            let route = Transition::Route {
                authority_id: authority_id.clone(),
                deadline,
                duplicate_of: original.as_ref().map(|o| o.id),
            };
            let (next, entry) = message
                .apply(route, By::System, now, region.time_zone(), &region.calendar, note)
                .map_err(|e| anyhow!(e))?;
            let mut updates = vec![MessageUpdate::new(message.version, next, entry)];
            if let Some(o) = &original {
                let link = Transition::LinkDuplicate { duplicate_id: message.id };
                let note = format!("Присоединено повторное сообщение {}", message.id);
                let (o_next, o_entry) = o
                    .apply(link, By::System, now, region.time_zone(), &region.calendar, note)
                    .map_err(|e| anyhow!(e))?;
                updates.push(MessageUpdate::new(o.version, o_next, o_entry));
            }
            match commit(&self.store, &self.queue, region, &updates).await {
                Ok(()) => {
                    return Ok(RouteOutcome::Routed { authority_id, deadline, duplicate_of: original.map(|o| o.id) })
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// The nearest open message of the same category within the category's radius, if any.
    async fn find_original(&self, message: &Message, region: &RegionData) -> Result<Option<Message>, ServiceError> {
        let Some(loc) = message.location else {
            return Ok(None);
        };
        let radius = f64::from(region.duplicate_radius_m(&message.category_id).min(crate::geo::MAX_RADIUS_M));
        let cells = crate::geo::cell_and_neighbours(loc.lat(), loc.lon());
        let candidates = self.store.open_in_cells(&message.category_id, &cells, 200).await?;
        Ok(candidates
            .into_iter()
            .filter(|c| c.id != message.id && c.awaits_answer() && c.duplicate_of.is_none())
            .filter_map(|c| c.location.map(|l| (l.distance_m(&loc), c)))
            .filter(|(d, _)| *d <= radius)
            .min_by(|(a, ca), (b, cb)| a.total_cmp(b).then(ca.id.cmp(&cb.id)))
            .map(|(_, c)| c))
    }
}
