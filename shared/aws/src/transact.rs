//! `TransactWriteItems` and why DynamoDB cancels one: a [`Cancellation`] per item, parsed once
//! from the SDK's `CancellationReason.Code`, in the order the items were given.

use crate::dynamo::DynamoStore;
use crate::sdk_error;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use feedback_core::ports::StoreError;
use std::fmt;

/// How often a transaction cancelled only by contention is retried.
const CONFLICT_RETRIES: u32 = 3;

/// Why DynamoDB cancelled a transaction, for one of its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cancellation {
    /// This item was fine; another one cancelled the transaction.
    None,
    /// The item's condition did not hold.
    ConditionalCheckFailed,
    /// Another transaction or write touched the item at the same time.
    TransactionConflict,
    /// The table or an index was throttled.
    ThrottlingError,
    /// The table's provisioned throughput was exceeded.
    ProvisionedThroughputExceeded,
    /// The request was malformed for this item.
    ValidationError,
    /// Any other code, as DynamoDB named it.
    Other(String),
}

impl Cancellation {
    /// The reason of one item, from its `CancellationReason.Code` (absent means `None`).
    pub(crate) fn parse(code: Option<&str>) -> Cancellation {
        match code {
            None | Some("None") => Cancellation::None,
            Some("ConditionalCheckFailed") => Cancellation::ConditionalCheckFailed,
            Some("TransactionConflict") => Cancellation::TransactionConflict,
            Some("ThrottlingError") => Cancellation::ThrottlingError,
            Some("ProvisionedThroughputExceeded") => Cancellation::ProvisionedThroughputExceeded,
            Some("ValidationError") => Cancellation::ValidationError,
            Some(other) => Cancellation::Other(other.to_owned()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Cancellation::None => "None",
            Cancellation::ConditionalCheckFailed => "ConditionalCheckFailed",
            Cancellation::TransactionConflict => "TransactionConflict",
            Cancellation::ThrottlingError => "ThrottlingError",
            Cancellation::ProvisionedThroughputExceeded => "ProvisionedThroughputExceeded",
            Cancellation::ValidationError => "ValidationError",
            Cancellation::Other(code) => code,
        }
    }

    /// A condition failed or a concurrent write got there first: the caller's view is stale.
    fn is_conflict(&self) -> bool {
        matches!(self, Cancellation::ConditionalCheckFailed | Cancellation::TransactionConflict)
    }

    /// Throttled: nothing was written and a later attempt may pass.
    fn is_transient(&self) -> bool {
        matches!(self, Cancellation::ThrottlingError | Cancellation::ProvisionedThroughputExceeded)
    }
}

/// A cancelled transaction: the reason of each item, by the item's index, and the SDK's error.
#[derive(Debug)]
pub(crate) struct Cancelled {
    reasons: Vec<Cancellation>,
    source: Box<SdkError<TransactWriteItemsError, HttpResponse>>,
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("transaction cancelled:")?;
        for r in &self.reasons {
            write!(f, " {}", r.as_str())?;
        }
        Ok(())
    }
}

impl std::error::Error for Cancelled {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

impl Cancelled {
    /// The reason of the item at `index` of the transaction.
    pub(crate) fn at(&self, index: usize) -> &Cancellation {
        self.reasons.get(index).unwrap_or(&Cancellation::None)
    }

    /// Whether any item was cancelled for `reason`.
    pub(crate) fn contains(&self, reason: &Cancellation) -> bool {
        self.reasons.contains(reason)
    }

    /// Whether any item's condition failed or met a concurrent write.
    pub(crate) fn any_conflict(&self) -> bool {
        self.reasons.iter().any(Cancellation::is_conflict)
    }

    /// Whether only concurrent writes cancelled it: worth another attempt.
    fn only_contention(&self) -> bool {
        self.reasons.contains(&Cancellation::TransactionConflict)
            && self.reasons.iter().all(|r| matches!(r, Cancellation::TransactionConflict | Cancellation::None))
    }

    /// The cancellation as a port error of the operation `context`, this error as its source:
    /// `Unavailable` when throttled, `Backend` otherwise.
    pub(crate) fn into_error(self, context: &'static str) -> StoreError {
        if self.reasons.iter().any(Cancellation::is_transient) {
            StoreError::unavailable(context, self)
        } else {
            StoreError::backend(context, self)
        }
    }
}

/// Why `transact` wrote nothing.
#[derive(Debug)]
pub(crate) enum TransactError {
    /// DynamoDB cancelled the transaction; see the reasons.
    Cancelled(Cancelled),
    /// The call failed before DynamoDB judged the items (throttled, unreachable, malformed).
    Failed(StoreError),
}

impl TransactError {
    /// `Conflict` when an item's condition failed or met a concurrent write, otherwise the
    /// failure as a port error of the operation `context`.
    pub(crate) fn conflict_or(self, context: &'static str) -> StoreError {
        match self {
            TransactError::Cancelled(c) if c.any_conflict() => StoreError::Conflict,
            other => other.into_error(context),
        }
    }

    /// The failure as a port error of the operation `context`.
    pub(crate) fn into_error(self, context: &'static str) -> StoreError {
        match self {
            TransactError::Cancelled(c) => c.into_error(context),
            TransactError::Failed(e) => e,
        }
    }
}

impl DynamoStore {
    /// Runs a transaction. A cancellation caused only by another transaction touching the same
    /// items (a counter shared with a concurrent transition) is retried: nothing was written.
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        let mut attempt = 0;
        loop {
            let sent = self.client().transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let cancelled = match sent {
                Ok(_) => return Ok(()),
                Err(e) => match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        let reasons = c.cancellation_reasons().iter().map(|r| Cancellation::parse(r.code())).collect();
                        Cancelled { reasons, source: Box::new(e) }
                    }
                    _ => return Err(TransactError::Failed(sdk_error("TransactWriteItems", e))),
                },
            };
            if !cancelled.only_contention() || attempt >= CONFLICT_RETRIES {
                return Err(TransactError::Cancelled(cancelled));
            }
            tokio::time::sleep(feedback_core::ports::backoff(attempt)).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_to_their_variants_and_back() {
        for code in [
            "None",
            "ConditionalCheckFailed",
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            "ValidationError",
            "ItemCollectionSizeLimitExceeded",
        ] {
            assert_eq!(Cancellation::parse(Some(code)).as_str(), code);
        }
        assert_eq!(Cancellation::parse(None), Cancellation::None);
        assert_eq!(Cancellation::parse(Some("Mystery")), Cancellation::Other("Mystery".into()));
    }
}
