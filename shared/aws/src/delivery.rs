//! Residents' deliveries and contacts on DynamoDB. A delivery is its own item,
//! `PK = DLV#<delivery id>`, `SK = DLV`, created on condition that it does not exist and claimed
//! on condition that its document is still the one read; its subject's deliveries are
//! `GSI1PK = DLVS#<subject>`, its recipient's `GSI3PK = DLVTO#<resident>`, and while it is
//! pending the due sweep finds it at `GSI2PK = DLV_DUE`, `GSI2SK = <due ms:013>#<id>`. A contact
//! lives in the resident's partition, `SK = CONTACT#<channel>`, and a bounce finds it by its
//! address at `GSI1PK = CONTACT_AT#<channel>#<Address::lookup_hash>`, `GSI1SK = <resident>`. Subscriptions carry
//! `GSI1PK = SUBS_IN#<municipality>` (or `SUBS_POINT` when they follow a point only) and the
//! preferences of a resident who asked for a digest `GSI1PK = DIGEST#<daily|weekly>`, both
//! written by the subscription adapter (`reach.rs`).

use crate::dynamo::{citizen_pk, doc, n, read_doc, s, DynamoStore, Item};
use crate::{backend, sdk_error};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use feedback_core::delivery::{Address, Channel, Contact, Delivery, DeliveryStore};
use feedback_core::ids::{CitizenId, MunicipalityId};
use feedback_core::ports::StoreError;
use feedback_core::preferences::{Digest, Preferences, Subscription};
use feedback_core::webhook::due_key;

const DELIVERY_SK: &str = "DLV";
const DUE_PK: &str = "DLV_DUE";
pub(crate) const CONTACT_PREFIX: &str = "CONTACT#";
const POINT_SUBS_PK: &str = "SUBS_POINT";
/// More than any one partition of these holds; the queries page through it all.
const ALL: usize = 1 << 30;

fn delivery_pk(id: &str) -> String {
    format!("DLV#{id}")
}

fn subject_pk(subject: &str) -> String {
    format!("DLVS#{subject}")
}

fn recipient_pk(citizen: &CitizenId) -> String {
    format!("DLVTO#{citizen}")
}

fn contact_sk(channel: Channel) -> String {
    format!("{CONTACT_PREFIX}{}", channel.as_str())
}

fn contact_at_pk(channel: Channel, address: &Address) -> String {
    format!("CONTACT_AT#{}#{}", channel.as_str(), address.lookup_hash())
}

fn digest_pk(digest: Digest) -> Option<String> {
    match digest {
        Digest::Instant => None,
        Digest::Daily => Some("DIGEST#daily".into()),
        Digest::Weekly => Some("DIGEST#weekly".into()),
    }
}

/// The index keys of a subscription item: found by its municipality, or among the point
/// subscriptions when it names none.
pub(crate) fn subscription_keys(item: &mut Item, sub: &Subscription) {
    let pk = match &sub.place.municipality_id {
        Some(m) => format!("SUBS_IN#{m}"),
        None => POINT_SUBS_PK.to_owned(),
    };
    item.insert("GSI1PK".into(), s(pk));
    item.insert("GSI1SK".into(), s(format!("{}#{}", sub.owner, sub.id)));
}

/// The index keys of a preferences item: listed among the digest residents unless instant.
pub(crate) fn preferences_keys(item: &mut Item, citizen: &CitizenId, preferences: &Preferences) {
    if let Some(pk) = digest_pk(preferences.digest) {
        item.insert("GSI1PK".into(), s(pk));
        item.insert("GSI1SK".into(), s(citizen.to_string()));
    }
}

fn delivery_item(d: &Delivery) -> Result<Item, StoreError> {
    let mut item = Item::from([
        ("PK".into(), s(delivery_pk(&d.id))),
        ("SK".into(), s(DELIVERY_SK)),
        ("doc".into(), doc(d)?),
        ("GSI1PK".into(), s(subject_pk(&d.subject))),
        ("GSI1SK".into(), s(d.id.clone())),
        ("GSI3PK".into(), s(recipient_pk(&d.recipient))),
        ("GSI3SK".into(), s(due_key(d.created_at, &d.id))),
    ]);
    if let Some(expires) = d.expires_at {
        item.insert(crate::schema::TABLE.ttl_attribute.into(), n(expires.timestamp()));
    }
    if let (true, Some(at)) = (d.is_open(), d.next_attempt_at) {
        item.insert("GSI2PK".into(), s(DUE_PK));
        item.insert("GSI2SK".into(), s(due_key(at, &d.id)));
    }
    Ok(item)
}

impl DynamoStore {
    /// Deletes every delivery to the resident, found on `GSI3`; how many there were.
    pub(crate) async fn erase_deliveries_to(&self, citizen: &CitizenId) -> Result<u32, StoreError> {
        let items = self.query_gsi("GSI3", recipient_pk(citizen), None, None, ALL, true).await?;
        for item in &items {
            let pk = item.get("PK").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading a key", "no PK"))?;
            self.delete_key(pk.clone(), DELIVERY_SK).await?;
        }
        Ok(u32::try_from(items.len()).unwrap_or(u32::MAX))
    }

    async fn delete_key(&self, pk: String, sk: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key("PK", s(pk))
            .key("SK", s(sk))
            .send()
            .await
            .map(drop)
            .map_err(|e| sdk_error("DeleteItem", e))
    }

    /// The documents of the GSI1 partition `pk`, read whole.
    async fn index_docs<T: serde::de::DeserializeOwned>(&self, pk: String) -> Result<Vec<T>, StoreError> {
        self.query_gsi("GSI1", pk, None, None, ALL, true).await?.iter().map(read_doc).collect()
    }
}

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn plan_delivery(&self, delivery: &Delivery) -> Result<bool, StoreError> {
        self.put_if(delivery_item(delivery)?, Some("attribute_not_exists(PK)"), None, "PutItem delivery").await
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<Delivery>, StoreError> {
        self.get_doc(delivery_pk(id), DELIVERY_SK).await?.map(|i| read_doc(&i)).transpose()
    }

    async fn claim_delivery(
        &self,
        id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let Some(item) = self.get_doc(delivery_pk(id), DELIVERY_SK).await? else {
            return Ok(None);
        };
        let read: Delivery = read_doc(&item)?;
        let Some(d) = read.claimed(now, until) else { return Ok(None) };
        let old =
            item.get("doc").and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| backend("reading item", "no doc"))?;
        // The document read is the condition: of claims racing on it one write succeeds.
        let won = self.put_if(delivery_item(&d)?, Some("doc = :old"), Some((":old", old)), "PutItem delivery").await;
        match won {
            Ok(true) => Ok(Some(d)),
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn save_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        self.put_if(delivery_item(delivery)?, None, None, "PutItem delivery").await.map(drop)
    }

    async fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let bound = due_key(now, "~");
        self.query_gsi("GSI2", DUE_PK.to_owned(), None, Some(&bound), limit, true).await?.iter().map(read_doc).collect()
    }

    async fn deliveries_of(&self, subject: &str) -> Result<Vec<Delivery>, StoreError> {
        self.index_docs(subject_pk(subject)).await
    }

    async fn deliveries_to(&self, citizen: &CitizenId, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.query_gsi("GSI3", recipient_pk(citizen), None, None, limit, false).await?.iter().map(read_doc).collect()
    }

    async fn get_contact(&self, citizen: &CitizenId, channel: Channel) -> Result<Option<Contact>, StoreError> {
        self.get_doc(citizen_pk(citizen), &contact_sk(channel)).await?.map(|i| read_doc(&i)).transpose()
    }

    async fn put_contact(&self, citizen: &CitizenId, contact: &Contact) -> Result<(), StoreError> {
        let item = Item::from([
            ("PK".into(), s(citizen_pk(citizen))),
            ("SK".into(), s(contact_sk(contact.channel))),
            ("doc".into(), doc(contact)?),
            ("GSI1PK".into(), s(contact_at_pk(contact.channel, &contact.address))),
            ("GSI1SK".into(), s(citizen.to_string())),
        ]);
        self.put_if(item, None, None, "PutItem contact").await.map(drop)
    }

    async fn contacts_at(&self, channel: Channel, address: &Address) -> Result<Vec<(CitizenId, Contact)>, StoreError> {
        self.query_gsi("GSI1", contact_at_pk(channel, address), None, None, ALL, true)
            .await?
            .iter()
            .map(|i| {
                let sk =
                    i.get("GSI1SK").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading a key", "no GSI1SK"))?;
                let citizen = CitizenId::parse(sk).map_err(|e| backend("a stored resident id", e))?;
                Ok((citizen, read_doc(i)?))
            })
            .collect()
    }

    async fn erase_contacts(&self, citizen: &CitizenId) -> Result<u32, StoreError> {
        let items = self.query_prefix(citizen_pk(citizen), CONTACT_PREFIX, None).await?;
        for item in &items {
            let sk = item.get("SK").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading a key", "no SK"))?;
            self.delete_key(citizen_pk(citizen), sk).await?;
        }
        Ok(u32::try_from(items.len()).unwrap_or(u32::MAX))
    }

    async fn subscriptions_in(&self, municipality: &MunicipalityId) -> Result<Vec<Subscription>, StoreError> {
        self.index_docs(format!("SUBS_IN#{municipality}")).await
    }

    async fn point_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.index_docs(POINT_SUBS_PK.to_owned()).await
    }

    async fn digest_residents(
        &self,
        digest: Digest,
        after: Option<&CitizenId>,
        limit: usize,
    ) -> Result<Vec<CitizenId>, StoreError> {
        let Some(pk) = digest_pk(digest) else {
            return Ok(Vec::new());
        };
        let after = after.map(ToString::to_string);
        self.query_gsi("GSI1", pk, after.as_deref(), None, limit, true)
            .await?
            .iter()
            .map(|i| {
                let sk =
                    i.get("GSI1SK").and_then(|v| v.as_s().ok()).ok_or_else(|| backend("reading a key", "no GSI1SK"))?;
                CitizenId::parse(sk).map_err(|e| backend("a stored resident id", e))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedback_core::delivery::{Audience, Payload};
    use feedback_core::notification::{Notification, NotificationKind};

    #[test]
    fn a_delivery_expires_by_its_ttl_with_the_notification_it_carries() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let alice = CitizenId::parse("alice").unwrap();
        let notification = Notification {
            id: "tr-1".into(),
            citizen: alice.clone(),
            message_id: feedback_core::ids::MessageId::new_at(at("2026-12-02T05:00:00Z")),
            kind: NotificationKind::Routed,
            at: at("2026-12-02T05:00:00Z"),
            text: "Ваше сообщение направлено".into(),
            expires_at: None,
            message_number: None,
            read_at: None,
        };
        let payload = Payload::Transition { notification, audience: Audience::Author };
        let planned = Delivery::planned("tr-1", Channel::Email, &alice, payload, at("2026-12-02T05:00:00Z"));
        assert!(!delivery_item(&planned).unwrap().contains_key("ttl"), "no retention given, no TTL");
        let expiring = planned.expiring(at("2027-12-02T05:00:00Z"));
        let item = delivery_item(&expiring).unwrap();
        assert_eq!(item.get("ttl").and_then(|v| v.as_n().ok()).map(String::as_str), Some("1827723600"));
    }
}
