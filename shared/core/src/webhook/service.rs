//! The webhook use cases: region admins manage endpoints and read their delivery log; the fan-out
//! turns one published event into a delivery per endpoint that wants it; the delivery makes one
//! signed attempt; the sweep hands due retries to the deliveries queue again.

use super::{
    signed_headers, AttemptResult, DeliveryStatus, Destinations, DisabledReason, Endpoint, Event, NewEndpoint,
    WebhookDelivery, WebhookStore,
};
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::ids::WebhookId;
use crate::ports::{Clock, Job, ReferenceStore, StoreError, WorkQueue};
use crate::reference::Reference;
use async_trait::async_trait;
use std::sync::Arc;

/// Deliveries the log shows at most.
pub const LOG_LIMIT: usize = 100;
/// Due deliveries one sweep re-enqueues at most per page.
const SWEEP_PAGE: usize = 100;

/// Makes one HTTP attempt: POSTs `body` with `headers` to the endpoint's URL, after resolving its
/// host and refusing any forbidden address, connected to the address it checked, following no
/// redirect. Never fails: a failure is an [`AttemptResult::Error`].
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    async fn post(&self, url: &str, headers: &[(&'static str, String)], body: &str) -> AttemptResult;
}

/// What one delivery job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// No such delivery, or it is no longer pending (delivered, dead, or its endpoint disabled).
    Nothing,
    Delivered,
    /// Failed; retried at its `next_attempt_at` by the sweep.
    WillRetry,
    /// Failed for the last time: dead.
    Dead,
}

/// The webhook use cases over a store, the queue, the clock and the reference data.
pub struct Webhooks<S, Q, C> {
    store: S,
    queue: Q,
    clock: C,
    reference: Arc<Reference<S>>,
    destinations: Destinations,
}

impl<S: WebhookStore + ReferenceStore, Q: WorkQueue, C: Clock> Webhooks<S, Q, C> {
    pub fn new(store: S, queue: Q, clock: C, reference: Arc<Reference<S>>, destinations: Destinations) -> Self {
        Self { store, queue, clock, reference, destinations }
    }

    /// The region's time zone, for showing times.
    pub async fn time_zone(&self) -> Result<chrono_tz::Tz, ServiceError> {
        Ok(self.reference.snapshot().await?.value.time_zone())
    }

    async fn require_admin(
        &self,
        actor: &Actor,
    ) -> Result<Arc<crate::ports::Versioned<crate::RegionData>>, ServiceError> {
        let region = self.reference.snapshot().await?;
        crate::policy::require_region_admin(actor, &region.value)?;
        Ok(region)
    }

    async fn endpoint(&self, id: &str) -> Result<Endpoint, ServiceError> {
        let id = WebhookId::parse(id).map_err(|_| ServiceError::NotFound)?;
        self.store.get_endpoint(&id).await?.ok_or(ServiceError::NotFound)
    }

    /// Registers an endpoint; the caller shows its secret this once.
    pub async fn create(&self, actor: &Actor, request: &NewEndpoint) -> Result<Endpoint, ServiceError> {
        let region = self.require_admin(actor).await?;
        let endpoint =
            request.validate(self.destinations, |a| region.value.authority(a).is_some(), self.clock.now())?;
        self.store.create_endpoint(&endpoint).await?;
        tracing::info!(webhook = %endpoint.id, events = endpoint.events.len(), "webhook endpoint created");
        Ok(endpoint)
    }

    pub async fn list(&self, actor: &Actor) -> Result<Vec<Endpoint>, ServiceError> {
        self.require_admin(actor).await?;
        Ok(self.store.list_endpoints().await?)
    }

    pub async fn get(&self, actor: &Actor, id: &str) -> Result<Endpoint, ServiceError> {
        self.require_admin(actor).await?;
        self.endpoint(id).await
    }

    /// Stops deliveries to the endpoint; disabling twice is harmless.
    pub async fn disable(&self, actor: &Actor, id: &str) -> Result<Endpoint, ServiceError> {
        self.require_admin(actor).await?;
        let endpoint = self.endpoint(id).await?;
        if !endpoint.enabled {
            return Ok(endpoint);
        }
        let disabled = Endpoint {
            enabled: false,
            disabled_at: Some(self.clock.now()),
            disabled_reason: Some(DisabledReason::Admin),
            ..endpoint
        };
        self.store.put_endpoint(&disabled).await?;
        tracing::info!(webhook = %disabled.id, "webhook endpoint disabled by an admin");
        Ok(disabled)
    }

    /// The endpoint's delivery log, newest first.
    pub async fn deliveries(&self, actor: &Actor, id: &str) -> Result<Vec<WebhookDelivery>, ServiceError> {
        self.require_admin(actor).await?;
        let endpoint = self.endpoint(id).await?;
        Ok(self.store.list_webhook_deliveries(&endpoint.id, LOG_LIMIT).await?)
    }

    /// Queues a delivery again, with the same `webhook-id`, for an enabled endpoint.
    pub async fn redeliver(&self, actor: &Actor, id: &str, delivery_id: &str) -> Result<WebhookDelivery, ServiceError> {
        self.require_admin(actor).await?;
        let endpoint = self.endpoint(id).await?;
        let delivery = self
            .store
            .get_webhook_delivery(delivery_id)
            .await?
            .filter(|d| d.endpoint_id == endpoint.id)
            .ok_or(ServiceError::NotFound)?;
        if !endpoint.enabled {
            return Err(ServiceError::Conflict {
                code: "webhook_disabled",
                detail: "вебхук отключён: повторная доставка невозможна".into(),
            });
        }
        let again = delivery.redelivered(self.clock.now());
        self.store.put_webhook_delivery(&again).await?;
        self.queue.send(&Job::SendWebhook { delivery_id: again.id.clone() }).await?;
        Ok(again)
    }

    /// The fan-out of one published event: a delivery per enabled endpoint that wants it,
    /// created once, and its send job. A repeat of the event re-sends the jobs of deliveries still
    /// pending, so a crash between the record and the job loses nothing. Returns the jobs sent.
    pub async fn fan_out(&self, event: &Event) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut sent = 0;
        for endpoint in self.store.list_endpoints().await?.iter().filter(|e| e.wants(event)) {
            let delivery = WebhookDelivery::new(event.clone(), &endpoint.id, now);
            let pending = if self.store.create_webhook_delivery(&delivery).await? {
                true
            } else {
                self.store
                    .get_webhook_delivery(&delivery.id)
                    .await?
                    .is_some_and(|d| d.attempts == 0 && d.attemptable(now))
            };
            if pending {
                self.queue.send(&Job::SendWebhook { delivery_id: delivery.id }).await?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// One attempt of a pending delivery, with a fresh timestamp and signature, then its record:
    /// delivered, retried later, or dead. The endpoint's run of failures is kept; an endpoint that
    /// failed for the whole retry window is disabled.
    pub async fn deliver<T: Transport>(&self, transport: &T, delivery_id: &str) -> Result<Attempted, StoreError> {
        let Some(delivery) = self.store.get_webhook_delivery(delivery_id).await? else {
            return Ok(Attempted::Nothing);
        };
        let now = self.clock.now();
        if !delivery.attemptable(now) {
            return Ok(Attempted::Nothing);
        }
        let Some(endpoint) = self.store.get_endpoint(&delivery.endpoint_id).await? else {
            return Ok(Attempted::Nothing);
        };
        if !endpoint.enabled {
            let dead =
                WebhookDelivery { status: DeliveryStatus::Dead, next_attempt_at: None, updated_at: now, ..delivery };
            self.store.put_webhook_delivery(&dead).await?;
            return Ok(Attempted::Nothing);
        }
        let body = delivery.event.body();
        let headers = signed_headers(&endpoint.secret, &delivery.id, now, &body);
        let result = transport.post(&endpoint.url, &headers, &body).await;
        let next = delivery.attempted(result.clone(), now);
        self.store.put_webhook_delivery(&next).await?;
        self.after_attempt(endpoint, &result, now).await?;
        Ok(match next.status {
            DeliveryStatus::Delivered => Attempted::Delivered,
            DeliveryStatus::Pending => {
                tracing::warn!(webhook = %next.endpoint_id, delivery = %next.id, attempts = next.attempts, result = ?result, "webhook attempt failed; retried later");
                Attempted::WillRetry
            }
            DeliveryStatus::Dead => {
                tracing::error!(
                    webhook = %next.endpoint_id,
                    delivery = %next.id,
                    attempts = next.attempts,
                    result = ?result,
                    metric = "WebhookDeliveriesDead",
                    "webhook delivery dead after its retry window"
                );
                Attempted::Dead
            }
        })
    }

    async fn after_attempt(
        &self,
        endpoint: Endpoint,
        result: &AttemptResult,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let next = if result.delivered() {
            if endpoint.failing_since.is_none() {
                return Ok(());
            }
            Endpoint { failing_since: None, ..endpoint }
        } else if endpoint.failing_since.is_none() {
            Endpoint { failing_since: Some(now), ..endpoint }
        } else if endpoint.failed_too_long(now) {
            tracing::error!(
                webhook = %endpoint.id,
                metric = "WebhookEndpointsDisabled",
                "webhook endpoint disabled: every attempt failed for 24 hours; the region's admins see it disabled, with the reason and time, in the portal"
            );
            Endpoint {
                enabled: false,
                disabled_at: Some(now),
                disabled_reason: Some(DisabledReason::Failing),
                ..endpoint
            }
        } else {
            return Ok(());
        };
        match self.store.put_endpoint(&next).await {
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The retry sweep: hands every pending delivery due by now to the deliveries queue again.
    /// Returns how many it handed over.
    pub async fn sweep(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let due = self.store.due_webhook_deliveries(now, SWEEP_PAGE).await?;
        for d in &due {
            self.queue.send(&Job::SendWebhook { delivery_id: d.id.clone() }).await?;
        }
        Ok(due.len())
    }
}
