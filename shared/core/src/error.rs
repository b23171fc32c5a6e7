//! The errors use cases return. The HTTP edge maps each variant to one status and problem code.

use crate::moderation::ModerationReason;
use crate::ports::StoreError;
use serde::Serialize;
use std::fmt;

/// How long a caller is told to wait when the backend is temporarily unavailable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The invalid fields of one request, collected so that all are reported at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// The parsed value; on an error, `None`, and the error is recorded under `field`.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: impl Into<String>, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError::new(field, e.to_string()));
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.0.extend(errors);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when no field failed, else every failure as one `Validation` error.
    pub fn finish(self) -> Result<(), ServiceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Validation(self.0))
        }
    }

    /// What `build` makes of the checked fields (`?` on each) when no field failed; else every
    /// failure as one `Validation` error.
    pub fn finish_with<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ServiceError> {
        self.finish()?;
        build().ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("a field failed without an error")))
    }
}

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller lacks the role or scope for this action (403).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The caller's token is for another region, or for none (403 `wrong_region`).
    #[error("the token is for another region")]
    WrongRegion,
    /// The caller is not in the audience of a poll or discussion (403 `not_eligible`).
    #[error("not eligible")]
    NotEligible,
    /// The resource does not exist or belongs to someone else (404).
    #[error("not found")]
    NotFound,
    /// The request parsed but is invalid (422 `validation_failed`).
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// Automatic moderation refused the text (422 `moderation_failed`).
    #[error("moderation refused the text: {}", .0.code())]
    Moderation(ModerationReason),
    /// The same idempotency key came with another body (422 `idempotency_key_reused`).
    #[error("idempotency key reused with another request body")]
    IdempotencyKeyReused,
    /// The resource's state forbids the action (409 with `code`).
    #[error("conflict {code}: {detail}")]
    Conflict { code: &'static str, detail: String },
    /// Too many requests; retry after the given number of seconds (429).
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The backend is temporarily unable to serve; nothing was written. Retry after the given
    /// number of seconds (503).
    #[error("temporarily unavailable; retry in {retry_after_secs} s")]
    Unavailable { retry_after_secs: u64 },
    /// Anything else: a backend failure, never the caller's fault (500).
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ServiceError::Conflict {
                code: "concurrent_update",
                detail: "Ресурс изменился одновременно с запросом; повторите попытку.".into(),
            },
            StoreError::OverQuota => ServiceError::RateLimited { retry_after_secs: 60 },
            StoreError::Backend(e) => ServiceError::Unexpected(e),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %ErrorChain(e.as_ref()), "backend temporarily unavailable");
                ServiceError::Unavailable { retry_after_secs: UNAVAILABLE_RETRY_AFTER_SECS }
            }
        }
    }
}

/// An error and the errors that caused it, joined with `: ` for a log line:
/// `tracing::error!(error = %ErrorChain(&e), "…")`. A cause whose text its error already ends with
/// (`#[error("…: {0}")]` over its source) is not repeated.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            let text = e.to_string();
            if !text.is_empty() && !shown.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            cause = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_report_every_failed_field_and_the_values_that_parsed() {
        let mut errs = FieldErrors::new();
        let a = errs.check("a", Ok::<_, String>(1));
        let b = errs.check("b", Err::<u8, _>("плохо"));
        let c = errs.check("c", "x".parse::<u8>());
        assert_eq!((a, b, c), (Some(1), None, None));
        let Err(ServiceError::Validation(v)) = errs.finish_with(|| Some((a?, b?))) else {
            panic!("a validation error")
        };
        assert_eq!(v.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        let mut ok = FieldErrors::new();
        let a = ok.check("a", Ok::<_, String>(1));
        assert_eq!(ok.finish_with(|| a).unwrap(), 1);
    }

    #[test]
    fn a_store_error_keeps_its_cause_and_the_chain_prints_each_once() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full");
        let e = StoreError::unavailable("writing a message", io);
        assert_eq!(e.to_string(), "backend temporarily unavailable");
        let cause = std::error::Error::source(&e).and_then(std::error::Error::source);
        assert!(cause.and_then(|c| c.downcast_ref::<std::io::Error>()).is_some(), "{e:?}");
        assert_eq!(ErrorChain(&e).to_string(), "backend temporarily unavailable: writing a message: disk full");

        #[derive(Debug, thiserror::Error)]
        #[error("unreadable job: {0}")]
        struct Unreadable(#[source] std::io::Error);
        let wrapped = Unreadable(std::io::Error::other("eof"));
        assert_eq!(ErrorChain(&wrapped).to_string(), "unreadable job: eof");
    }

    #[test]
    fn a_backend_failure_becomes_unexpected_with_its_chain() {
        let e: ServiceError = StoreError::backend("reading a message", "no doc").into();
        assert!(matches!(e, ServiceError::Unexpected(_)));
        assert_eq!(ErrorChain(&e).to_string(), "reading a message: no doc");
    }
}
