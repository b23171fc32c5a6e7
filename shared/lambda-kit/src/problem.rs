//! Every failure as `application/problem+json` (RFC 9457), mapped in this one place.

use feedback_core::{FieldError, ServiceError};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A failure at the edge or in a use case.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthorized,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("no such route")]
    RouteNotFound,
    /// The deployment has not turned on what the route serves (503 `not_configured`): the
    /// Russian explanation.
    #[error("not configured")]
    NotConfigured(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The body of every error response: `application/problem+json` (RFC 9457).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// `urn:feedback:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short Russian summary.
    pub title: &'a str,
    pub status: u16,
    /// What went wrong, in Russian.
    pub detail: String,
    /// A stable machine word, e.g. `validation_failed`.
    pub code: &'a str,
    /// The invalid fields, for `validation_failed` and `moderation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<&'a [FieldError]>,
}

impl ApiError {
    pub fn internal() -> ApiError {
        ApiError::Service(ServiceError::Unexpected(anyhow::anyhow!("internal error")))
    }

    pub fn validation(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Service(ServiceError::field(field, message))
    }

    /// A body that is not JSON, told by where reading it stopped.
    pub fn malformed_json(e: &serde_json::Error) -> ApiError {
        let place = format!("строка {}, столбец {}", e.line(), e.column());
        ApiError::MalformedJson(match e.classify() {
            serde_json::error::Category::Eof => format!("тело пустое или оборвано ({place})"),
            _ => format!("синтаксическая ошибка ({place})"),
        })
    }

    /// The HTTP status and stable code of this error.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            ApiError::Unauthorized => (401, "unauthorized"),
            ApiError::MalformedJson(_) => (400, "malformed_json"),
            ApiError::UnsupportedMediaType => (415, "unsupported_media_type"),
            ApiError::PayloadTooLarge => (413, "payload_too_large"),
            ApiError::RouteNotFound => (404, "not_found"),
            ApiError::NotConfigured(_) => (503, "not_configured"),
            ApiError::Service(e) => match e {
                ServiceError::Forbidden(_) => (403, "forbidden"),
                ServiceError::WrongRegion => (403, "wrong_region"),
                ServiceError::NotEligible => (403, "not_eligible"),
                ServiceError::NotFound => (404, "not_found"),
                ServiceError::Validation(_) => (422, "validation_failed"),
                ServiceError::Moderation(_) => (422, "moderation_failed"),
                ServiceError::IdempotencyKeyReused => (422, "idempotency_key_reused"),
                ServiceError::Conflict { code, .. } => (409, code),
                ServiceError::RateLimited { .. } => (429, "rate_limited"),
                ServiceError::Unavailable { .. } => (503, "unavailable"),
                ServiceError::Unexpected(_) => (500, "internal"),
            },
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let (status, code) = self.status_and_code();
        let moderation_errors;
        let (title, detail, errors): (&str, String, Option<&[FieldError]>) = match &self {
            ApiError::Unauthorized => ("Требуется вход", "Нужен действительный токен доступа.".into(), None),
            ApiError::MalformedJson(e) => {
                ("Некорректный JSON", format!("Тело запроса не разбирается как JSON: {e}."), None)
            }
            ApiError::UnsupportedMediaType => {
                ("Неподдерживаемый тип содержимого", "Ожидается Content-Type: application/json.".into(), None)
            }
            ApiError::PayloadTooLarge => ("Слишком большой запрос", "Тело запроса больше 64 КиБ.".into(), None),
            ApiError::RouteNotFound => ("Не найдено", "Такого адреса нет.".into(), None),
            ApiError::NotConfigured(why) => ("Не настроено", (*why).to_owned(), None),
            ApiError::Service(e) => match e {
                ServiceError::Forbidden(why) => ("Доступ запрещён", (*why).to_owned(), None),
                ServiceError::WrongRegion => (
                    "Другой регион",
                    "Токен доступа выдан для другого региона или без региона; войдите на платформу своего региона."
                        .into(),
                    None,
                ),
                ServiceError::NotEligible => {
                    ("Нет права участия", "Вы не входите в аудиторию этого голосования или обсуждения.".into(), None)
                }
                ServiceError::NotFound => ("Не найдено", "Ресурс не найден.".into(), None),
                ServiceError::Validation(errs) => {
                    ("Ошибка в данных", "Исправьте отмеченные поля.".into(), Some(&errs[..]))
                }
                ServiceError::Moderation(reason) => {
                    moderation_errors = [FieldError::new("text", reason.message_ru())];
                    ("Текст не прошёл модерацию", reason.message_ru().to_owned(), Some(&moderation_errors[..]))
                }
                ServiceError::IdempotencyKeyReused => (
                    "Ключ идемпотентности уже использован",
                    "Этот Idempotency-Key уже использован с другим телом запроса.".into(),
                    None,
                ),
                ServiceError::Conflict { detail, .. } => ("Конфликт", detail.clone(), None),
                ServiceError::RateLimited { retry_after_secs } => {
                    ("Слишком много запросов", format!("Повторите через {retry_after_secs} с."), None)
                }
                ServiceError::Unavailable { retry_after_secs } => (
                    "Сервис временно недоступен",
                    format!("Хранилище временно не принимает запросы; ничего не сохранено. Повторите через {retry_after_secs} с."),
                    None,
                ),
                ServiceError::Unexpected(err) => {
                    tracing::error!(error = %feedback_core::error::ErrorChain(err.as_ref()), "request failed");
                    ("Внутренняя ошибка", "Не удалось выполнить запрос; повторите позже.".into(), None)
                }
            },
        };
        let problem = Problem { kind: format!("urn:feedback:problem:{code}"), title, status, detail, code, errors };
        let body = serde_json::to_string(&problem).unwrap_or_else(|_| format!("{{\"status\":{status}}}"));
        let mut builder = Response::builder().status(status).header("content-type", "application/problem+json");
        if let ApiError::Service(
            ServiceError::RateLimited { retry_after_secs } | ServiceError::Unavailable { retry_after_secs },
        ) = &self
        {
            builder = builder.header("retry-after", retry_after_secs.to_string());
        }
        builder.body(Body::Text(body)).unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_backend_is_a_503_with_retry_after() {
        let resp = ApiError::Service(ServiceError::Unavailable { retry_after_secs: 5 }).into_response();
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
        assert_eq!(resp.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
        let Body::Text(body) = resp.body() else { panic!("a text body") };
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["code"], "unavailable");
        assert_eq!(v["status"], 503);
        assert!(v["title"].as_str().is_some_and(|t| t.contains("недоступен")), "{v}");
    }

    fn has_cyrillic(text: &str) -> bool {
        text.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))
    }

    #[test]
    fn every_problem_speaks_russian() {
        use feedback_core::moderation::ModerationReason;
        let eof = serde_json::from_slice::<serde_json::Value>(b"{").unwrap_err();
        let syntax = serde_json::from_slice::<serde_json::Value>(b"{not json}").unwrap_err();
        let kinds = vec![
            ApiError::Unauthorized,
            ApiError::malformed_json(&eof),
            ApiError::malformed_json(&syntax),
            ApiError::UnsupportedMediaType,
            ApiError::PayloadTooLarge,
            ApiError::RouteNotFound,
            ApiError::NotConfigured("Уведомления в браузере на этой платформе не настроены."),
            ApiError::Service(ServiceError::Forbidden("нужна роль модератора")),
            ApiError::Service(ServiceError::WrongRegion),
            ApiError::Service(ServiceError::NotEligible),
            ApiError::Service(ServiceError::NotFound),
            ApiError::validation("text", "не короче 10 символов"),
            ApiError::Service(ServiceError::Moderation(ModerationReason::Obscene)),
            ApiError::Service(ServiceError::Moderation(ModerationReason::NoContent)),
            ApiError::Service(ServiceError::Moderation(ModerationReason::Junk)),
            ApiError::Service(ServiceError::IdempotencyKeyReused),
            ApiError::Service(feedback_core::StoreError::Conflict.into()),
            ApiError::Service(ServiceError::RateLimited { retry_after_secs: 60 }),
            ApiError::Service(ServiceError::Unavailable { retry_after_secs: 5 }),
            ApiError::internal(),
        ];
        for kind in kinds {
            // Every kind is listed above: a new one fails to compile here until it is.
            match &kind {
                ApiError::Unauthorized
                | ApiError::MalformedJson(_)
                | ApiError::UnsupportedMediaType
                | ApiError::PayloadTooLarge
                | ApiError::RouteNotFound
                | ApiError::NotConfigured(_)
                | ApiError::Service(
                    ServiceError::Forbidden(_)
                    | ServiceError::WrongRegion
                    | ServiceError::NotEligible
                    | ServiceError::NotFound
                    | ServiceError::Validation(_)
                    | ServiceError::Moderation(_)
                    | ServiceError::IdempotencyKeyReused
                    | ServiceError::Conflict { .. }
                    | ServiceError::RateLimited { .. }
                    | ServiceError::Unavailable { .. }
                    | ServiceError::Unexpected(_),
                ) => {}
            }
            let name = format!("{kind:?}");
            let resp = kind.into_response();
            let Body::Text(body) = resp.body() else { panic!("a text body") };
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(has_cyrillic(v["title"].as_str().unwrap()), "{name}: {v}");
            assert!(has_cyrillic(v["detail"].as_str().unwrap()), "{name}: {v}");
            for e in v["errors"].as_array().into_iter().flatten() {
                assert!(has_cyrillic(e["message"].as_str().unwrap()), "{name}: {v}");
            }
        }
    }

    #[test]
    fn a_store_that_cannot_serve_now_becomes_unavailable() {
        let e: ServiceError =
            feedback_core::StoreError::Unavailable(anyhow::anyhow!("database or disk is full")).into();
        assert_eq!(ApiError::Service(e).status_and_code(), (503, "unavailable"));
    }
}
