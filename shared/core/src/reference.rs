//! The region's reference data as the use cases read it: a short-lived shared cache over the
//! `ReferenceStore`, seeding, and the routing rules' administration.

use crate::actor::Actor;
use crate::error::{FieldError, ServiceError};
use crate::policy::require_region_admin;
use crate::ports::{ReferenceStore, StoreError, Versioned};
use crate::region::{RegionData, RoutingRule};
use anyhow::anyhow;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// The region's reference data, cached for a short time. One instance is shared by all use
/// cases of a process, so a change made through it is visible to them at once; other processes
/// (other Lambda instances) see it within `ttl`.
pub struct Reference<R> {
    store: R,
    ttl: std::time::Duration,
    cache: RwLock<Option<(Instant, Arc<Versioned<RegionData>>)>>,
}

/// What seeding did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    Created,
    Unchanged,
    Updated,
}

impl<R: ReferenceStore> Reference<R> {
    pub fn new(store: R, ttl: std::time::Duration) -> Self {
        Self { store, ttl, cache: RwLock::new(None) }
    }

    async fn versioned(&self) -> Result<Arc<Versioned<RegionData>>, ServiceError> {
        if let Some((at, data)) = self.cache.read().map_err(|_| anyhow!("reference cache poisoned"))?.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(data.clone());
            }
        }
        let loaded = self
            .store
            .load_region()
            .await?
            .ok_or_else(|| anyhow!("the region's reference data is not loaded; seed the region first"))?;
        let loaded = Arc::new(loaded);
        *self.cache.write().map_err(|_| anyhow!("reference cache poisoned"))? = Some((Instant::now(), loaded.clone()));
        Ok(loaded)
    }

    /// The current reference data, shared. Fails if the region was never seeded.
    pub async fn snapshot(&self) -> Result<Arc<Versioned<RegionData>>, ServiceError> {
        self.versioned().await
    }

    /// Stores a region's data: creates it, or replaces it when it differs from what is stored.
    pub async fn seed(&self, data: &RegionData) -> Result<SeedOutcome, ServiceError> {
        data.validate().map_err(|errs| {
            ServiceError::Validation(errs.into_iter().map(|e| FieldError::new(e.entry, e.problem)).collect())
        })?;
        let current = self.store.load_region().await?;
        let outcome = match current {
            None => {
                self.store.save_region(data, None).await?;
                SeedOutcome::Created
            }
            Some(v) if &v.value == data => SeedOutcome::Unchanged,
            Some(v) => {
                self.store.save_region(data, Some(v.version)).await?;
                SeedOutcome::Updated
            }
        };
        self.invalidate();
        Ok(outcome)
    }

    /// The routing rules (admins of the region).
    pub async fn rules(&self, actor: &Actor) -> Result<Vec<RoutingRule>, ServiceError> {
        let snap = self.versioned().await?;
        require_region_admin(actor, &snap.value)?;
        Ok(snap.value.routing_rules.clone())
    }

    /// Replaces the routing rules after checking them against the reference data (admins of the region).
    pub async fn replace_rules(
        &self,
        actor: &Actor,
        rules: Vec<RoutingRule>,
    ) -> Result<Vec<RoutingRule>, ServiceError> {
        for _attempt in 0..3 {
            let current = self.store.load_region().await?.ok_or_else(|| anyhow!("the region is not seeded"))?;
            require_region_admin(actor, &current.value)?;
            let errs = current.value.check_rules(&rules);
            if !errs.is_empty() {
                return Err(ServiceError::Validation(
                    errs.into_iter().map(|e| FieldError::new(e.entry, e.problem)).collect(),
                ));
            }
            let mut next = current.value.clone();
            next.routing_rules = rules.clone();
            match self.store.save_region(&next, Some(current.version)).await {
                Ok(_) => {
                    self.invalidate();
                    return Ok(rules);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    fn invalidate(&self) {
        if let Ok(mut g) = self.cache.write() {
            *g = None;
        }
    }
}
