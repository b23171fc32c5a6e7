//! The actor's policy: who may act in this region, and who may read or act on what. Every rule
//! that depends on the actor's region lives here, once.
//!
//! A stack serves one region. [`admit`] is the first rule every signed-in request passes: the
//! edge calls it with the deployment's region before any handler runs, so a token of another
//! region, or one without a region, is refused on every route whatever its roles.

use crate::actor::{Actor, Role};
use crate::error::ServiceError;
use crate::message::Message;
use crate::region::RegionData;

/// Admits the actor to the deployment's region: every role (citizen, official, moderator, admin,
/// analyst) must hold a token issued for exactly this region. `ServiceError::WrongRegion`
/// otherwise, including for tokens with no region claim.
pub fn admit(actor: &Actor, deployment_region: &str) -> Result<(), ServiceError> {
    if deployment_region.is_empty() || !actor.in_region(deployment_region) {
        return Err(ServiceError::WrongRegion);
    }
    Ok(())
}

/// An admin of the region.
pub fn require_region_admin(actor: &Actor, region: &RegionData) -> Result<(), ServiceError> {
    if !actor.has(Role::Admin) {
        return Err(ServiceError::Forbidden("нужна роль администратора региона"));
    }
    if !actor.in_region(&region.region.code) {
        return Err(ServiceError::WrongRegion);
    }
    Ok(())
}

/// A moderator of the region.
pub fn is_region_moderator(actor: &Actor, region: &RegionData) -> bool {
    actor.has(Role::Moderator) && actor.in_region(&region.region.code)
}

/// An official of the region's coordination centre (ЦУР).
pub fn is_center_official(actor: &Actor, region: &RegionData) -> bool {
    actor.has(Role::Official)
        && actor.in_region(&region.region.code)
        && actor.authority.as_ref() == Some(&region.region.center_authority_id)
}

/// An official of the message's authority, or of the ЦУР, in the region.
pub fn acts_for(actor: &Actor, message: &Message, region: &RegionData) -> bool {
    actor.has(Role::Official)
        && actor.in_region(&region.region.code)
        && actor.authority.is_some()
        && (actor.authority == message.authority_id || is_center_official(actor, region))
}

/// Who may read a message: its author, officials of the assigned authority (and the ЦУР),
/// moderators and admins of the region.
pub fn can_read(actor: &Actor, message: &Message, region: &RegionData) -> bool {
    if !actor.in_region(&region.region.code) {
        return false;
    }
    if actor.id == message.author && actor.has(Role::Citizen) {
        return true;
    }
    if actor.has(Role::Moderator) || actor.has(Role::Admin) {
        return true;
    }
    acts_for(actor, message, region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_region;
    use std::collections::HashMap;

    fn actor(pairs: &[(&str, &str)]) -> Actor {
        let claims: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Actor::from_claims(&claims).unwrap()
    }

    #[test]
    fn every_role_of_another_region_or_of_none_is_refused() {
        for roles in ["[citizen]", "[official]", "[moderator]", "[admin]", "[analyst]", "[citizen official admin]"] {
            let home = actor(&[("sub", "u1"), ("roles", roles), ("region", "72")]);
            let foreign = actor(&[("sub", "u1"), ("roles", roles), ("region", "77")]);
            let none = actor(&[("sub", "u1"), ("roles", roles)]);
            assert!(admit(&home, "72").is_ok(), "{roles}");
            assert!(matches!(admit(&foreign, "72"), Err(ServiceError::WrongRegion)), "{roles}");
            assert!(matches!(admit(&none, "72"), Err(ServiceError::WrongRegion)), "{roles}");
        }
        let home = actor(&[("sub", "u1"), ("roles", "[admin]"), ("region", "72")]);
        assert!(matches!(admit(&home, ""), Err(ServiceError::WrongRegion)));
    }

    #[test]
    fn an_official_of_another_region_with_a_known_authority_slug_acts_for_nothing() {
        let region = sample_region();
        let center = region.region.center_authority_id.to_string();
        let foreign = actor(&[("sub", "o"), ("roles", "[official]"), ("authority", &center), ("region", "66")]);
        let home = actor(&[("sub", "o"), ("roles", "[official]"), ("authority", &center), ("region", "72")]);
        assert!(!is_center_official(&foreign, &region));
        assert!(is_center_official(&home, &region));
    }
}
