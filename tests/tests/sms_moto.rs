//! SMS through the real SNS adapter against moto: the text is published to the phone number as
//! a transactional SMS, and moto's record of sent texts (`/moto-api/data.json`, `sns.SMS`) holds
//! exactly that number and text. (That record lists everything moto holds, every suite's tables
//! too, so it is read once.)

use feedback_aws::{SmsError, SnsSms, MAX_SMS_CHARS};
use feedback_core::PhoneNumber;
use feedback_tests::moto;
use serde_json::Value;

async fn sent_texts() -> Vec<Value> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", endpoint.trim_end_matches('/')))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["sns"]["SMS"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_reaches_the_number_it_was_published_to() {
    let conf = moto::sdk().await;
    let sms = SnsSms::from_conf(&conf, Some("Feedback".into()));
    let number = format!("+7999{:07}", rand::random::<u32>() % 10_000_000);
    let phone = PhoneNumber::parse(&number).unwrap();
    let text = "Ответ на обращение №42 готов: откройте «Мои обращения».";
    sms.send(&phone, text).await.unwrap();

    let texts = sent_texts().await;
    let to_phone: Vec<&Value> = texts.iter().filter(|t| t["phone_number"] == number.as_str()).collect();
    assert_eq!(to_phone.len(), 1, "{texts:?}");
    assert_eq!(to_phone[0]["message"], text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_text_is_refused_before_publishing() {
    let conf = moto::sdk().await;
    let sms = SnsSms::from_conf(&conf, None);
    let number = format!("+7998{:07}", rand::random::<u32>() % 10_000_000);
    let phone = PhoneNumber::parse(&number).unwrap();
    let text = "я".repeat(MAX_SMS_CHARS + 1);
    let refused = sms.send(&phone, &text).await;
    assert_eq!(refused, Err(SmsError::Permanent(format!("text of {} characters", MAX_SMS_CHARS + 1))));
}
