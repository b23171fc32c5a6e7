//! `mail-events` against DynamoDB on moto, through the real store: the SES event fixtures turn
//! the reported addresses off in the table (found by the address's hash on GSI1, no Scan), once.

use feedback_aws::{create_table, DynamoStore};
use feedback_tests::{mail_events, moto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_events_turn_off_bounced_and_complained_addresses_in_dynamodb() {
    let _serial = moto::serial().lock().await;
    let conf = moto::sdk().await;
    let table = moto::unique("feedback-mail-events");
    let store = DynamoStore::from_conf(&conf, &table);
    create_table(store.client(), &table).await.expect("create table on moto");
    mail_events::ses_events_turn_off_bounced_and_complained_addresses_once(store.clone()).await;

    // The contact items in the table itself: turned off, and keyed for the lookup by a hash,
    // never by the address.
    let item = store
        .client()
        .get_item()
        .table_name(&table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S("CITIZEN#bounced".into()))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S("CONTACT#email".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the contact item");
    let doc: serde_json::Value = serde_json::from_str(item["doc"].as_s().unwrap()).unwrap();
    assert_eq!(doc["disabled"], true);
    let lookup = item["GSI1PK"].as_s().unwrap();
    assert!(lookup.starts_with("CONTACT_AT#email#") && !lookup.contains("example"), "{lookup}");
}
