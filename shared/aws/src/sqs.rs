use crate::{backend, sdk_error};
use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use aws_sdk_sqs::Client;
use chrono::{DateTime, Utc};
use feedback_core::ports::{Delivery, Job, QueueName, QueueReceiver, StoreError, WorkQueue};
use std::time::Duration;

/// The URLs of the stack's queues that a function sends to.
#[derive(Debug, Clone, Default)]
pub struct QueueUrls {
    pub submitted: Option<String>,
    pub notifications: Option<String>,
    pub webhook_events: Option<String>,
    pub webhook_deliveries: Option<String>,
}

impl QueueUrls {
    fn url(&self, q: QueueName) -> Result<&str, StoreError> {
        let url = match q {
            QueueName::Submitted => &self.submitted,
            QueueName::Notifications => &self.notifications,
            QueueName::WebhookEvents => &self.webhook_events,
            QueueName::WebhookDeliveries => &self.webhook_deliveries,
        };
        url.as_deref().ok_or_else(|| backend("queue", format!("no {} queue configured", q.as_str())))
    }
}

/// SQS queues. Sending is what functions do; receiving exists for tests and operator tools,
/// since on AWS the event source mapping receives for the consumer functions.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    urls: QueueUrls,
}

impl SqsQueue {
    pub fn new(client: Client, urls: QueueUrls) -> Self {
        Self { client, urls }
    }
    pub fn from_conf(conf: &aws_config::SdkConfig, urls: QueueUrls) -> Self {
        Self::new(Client::new(conf), urls)
    }
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends a raw body: used by tests to deliver a job more than once.
    pub async fn send_raw(&self, queue: QueueName, body: String) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(self.urls.url(queue)?)
            .message_body(body)
            .send()
            .await
            .map_err(|e| sdk_error("SendMessage", e))?;
        Ok(())
    }

    async fn dead_letter_url(&self, queue: QueueName) -> Result<String, StoreError> {
        let attrs = self
            .client
            .get_queue_attributes()
            .queue_url(self.urls.url(queue)?)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map_err(|e| sdk_error("GetQueueAttributes", e))?;
        let policy = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
            .ok_or_else(|| backend("dead letters", "the queue has no redrive policy"))?;
        let arn = serde_json::from_str::<serde_json::Value>(policy)
            .ok()
            .and_then(|v| v.get("deadLetterTargetArn").and_then(|a| a.as_str()).map(str::to_owned))
            .ok_or_else(|| backend("dead letters", "malformed redrive policy"))?;
        let name = arn.rsplit(':').next().unwrap_or_default();
        let out = self.client.get_queue_url().queue_name(name).send().await.map_err(|e| sdk_error("GetQueueUrl", e))?;
        out.queue_url.ok_or_else(|| backend("GetQueueUrl", "no url"))
    }

    async fn receive_from(&self, url: &str, max: usize, visibility: Duration) -> Result<Vec<Delivery>, StoreError> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs().max(1) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| sdk_error("ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let attr = |a: MessageSystemAttributeName| m.attributes().and_then(|x| x.get(&a)).cloned();
                Delivery {
                    message_id: m.message_id().unwrap_or_default().to_owned(),
                    receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1),
                    sent_at: attr(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|v| v.parse::<i64>().ok())
                        .and_then(DateTime::from_timestamp_millis)
                        .unwrap_or_else(Utc::now),
                }
            })
            .collect())
    }
}

#[async_trait]
impl WorkQueue for SqsQueue {
    async fn send(&self, job: &Job) -> Result<(), StoreError> {
        self.send_raw(job.queue(), job.to_body()).await
    }
}

#[async_trait]
impl QueueReceiver for SqsQueue {
    async fn receive(&self, queue: QueueName, max: usize, visibility: Duration) -> Result<Vec<Delivery>, StoreError> {
        let url = self.urls.url(queue)?.to_owned();
        self.receive_from(&url, max, visibility).await
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(self.urls.url(queue)?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteMessage", e))?;
        Ok(())
    }

    async fn dead_letters(&self, queue: QueueName, max: usize) -> Result<Vec<Delivery>, StoreError> {
        let url = self.dead_letter_url(queue).await?;
        self.receive_from(&url, max, Duration::from_secs(1)).await
    }
}
