//! Ready-made answers («шаблоны ответов»): each authority keeps its own, and its officials list,
//! add, change and delete them. A template belongs to one authority of the stack's region; an
//! official never reads or changes another authority's (404, as for a template that does not
//! exist). The store keeps at most [`MAX_TEMPLATES`] per authority, counted inside the write.

use crate::actor::{Actor, Role};
use crate::error::{FieldError, ServiceError};
use crate::ids::{AuthorityId, TemplateId};
use crate::ports::{Clock, ReferenceStore, StoreError};
use crate::reference::Reference;
use crate::values::MessageText;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How many templates one authority keeps at most.
pub const MAX_TEMPLATES: u32 = 100;
/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;

/// An authority's ready-made answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTemplate {
    pub id: TemplateId,
    pub authority_id: AuthorityId,
    pub title: String,
    /// Within the bounds of an answer's text.
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The templates of each authority.
#[async_trait]
pub trait TemplateStore: Send + Sync + 'static {
    /// The authority's templates, oldest first (there are at most [`MAX_TEMPLATES`]).
    async fn templates(&self, authority: &AuthorityId) -> Result<Vec<ReplyTemplate>, StoreError>;

    /// One template of the authority; `None` when it has none of this id.
    async fn get_template(&self, authority: &AuthorityId, id: &TemplateId)
        -> Result<Option<ReplyTemplate>, StoreError>;

    /// Stores a new template unless its authority already has `max`; false (nothing written)
    /// then. The count is checked in the same transaction as the write.
    async fn add_template(&self, template: &ReplyTemplate, max: u32) -> Result<bool, StoreError>;

    /// Replaces the authority's template of the same id; false (nothing written) when it has
    /// none of this id.
    async fn replace_template(&self, template: &ReplyTemplate) -> Result<bool, StoreError>;

    /// Deletes the authority's template; false when it has none of this id.
    async fn delete_template(&self, authority: &AuthorityId, id: &TemplateId) -> Result<bool, StoreError>;
}

/// A checked title and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInput {
    pub title: String,
    pub text: MessageText,
}

impl TemplateInput {
    /// Checks both fields, reporting every problem at once in Russian.
    pub fn parse(title: &str, text: &str) -> Result<TemplateInput, ServiceError> {
        let mut errs = Vec::new();
        let title = title.trim();
        let n = title.chars().count();
        if n == 0 {
            errs.push(FieldError::new("title", "Введите название шаблона."));
        } else if n > MAX_TITLE_CHARS {
            errs.push(FieldError::new("title", format!("Сократите название до {MAX_TITLE_CHARS} символов.")));
        } else if title.chars().any(char::is_control) {
            errs.push(FieldError::new("title", "Уберите из названия управляющие символы."));
        }
        let text =
            MessageText::parse(text).map_err(|m| errs.push(FieldError::new("text", format!("Текст ответа {m}."))));
        match text {
            Ok(text) if errs.is_empty() => Ok(TemplateInput { title: title.to_owned(), text }),
            _ => Err(ServiceError::Validation(errs)),
        }
    }
}

/// The officials' templates.
pub struct Templates<S, C> {
    store: S,
    clock: C,
    reference: Arc<Reference<S>>,
}

impl<S: TemplateStore + ReferenceStore, C: Clock> Templates<S, C> {
    pub fn new(store: S, clock: C, reference: Arc<Reference<S>>) -> Self {
        Self { store, clock, reference }
    }

    /// The caller's authority: officials of an authority of the region only.
    async fn authority(&self, actor: &Actor) -> Result<AuthorityId, ServiceError> {
        let refused = ServiceError::Forbidden("шаблоны ответов ведут сотрудники органа власти");
        let Some(authority) = actor.authority.clone().filter(|_| actor.has(Role::Official)) else {
            return Err(refused);
        };
        let snap = self.reference.snapshot().await?;
        if !actor.in_region(&snap.value.region.code) || snap.value.authority(&authority).is_none() {
            return Err(refused);
        }
        Ok(authority)
    }

    /// The templates of the caller's authority, by title.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<ReplyTemplate>, ServiceError> {
        let authority = self.authority(actor).await?;
        let mut all = self.store.templates(&authority).await?;
        all.sort_by_cached_key(|t| (t.title.to_lowercase(), t.id));
        Ok(all)
    }

    /// Adds a template to the caller's authority; 409 `template_limit` when it has
    /// [`MAX_TEMPLATES`] already.
    pub async fn create(&self, actor: &Actor, input: TemplateInput) -> Result<ReplyTemplate, ServiceError> {
        let authority = self.authority(actor).await?;
        let now = self.clock.now();
        let template = ReplyTemplate {
            id: TemplateId::new_at(now),
            authority_id: authority,
            title: input.title,
            text: input.text.as_str().to_owned(),
            created_at: now,
            updated_at: now,
        };
        if !self.store.add_template(&template, MAX_TEMPLATES).await? {
            return Err(ServiceError::Conflict {
                code: "template_limit",
                detail: format!("У органа уже {MAX_TEMPLATES} шаблонов: удалите ненужный, чтобы добавить новый."),
            });
        }
        Ok(template)
    }

    /// Changes the title and text of a template of the caller's authority; 404 for any other.
    pub async fn update(
        &self,
        actor: &Actor,
        id: &TemplateId,
        input: TemplateInput,
    ) -> Result<ReplyTemplate, ServiceError> {
        let authority = self.authority(actor).await?;
        let old = self.store.get_template(&authority, id).await?.ok_or(ServiceError::NotFound)?;
        let next = ReplyTemplate {
            title: input.title,
            text: input.text.as_str().to_owned(),
            updated_at: self.clock.now(),
            ..old
        };
        if !self.store.replace_template(&next).await? {
            return Err(ServiceError::NotFound);
        }
        Ok(next)
    }

    /// Deletes a template of the caller's authority; 404 for any other.
    pub async fn delete(&self, actor: &Actor, id: &TemplateId) -> Result<(), ServiceError> {
        let authority = self.authority(actor).await?;
        if !self.store.delete_template(&authority, id).await? {
            return Err(ServiceError::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ServiceError) -> Vec<(String, String)> {
        match e {
            ServiceError::Validation(errs) => errs.into_iter().map(|e| (e.field, e.message)).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn a_title_and_text_are_checked_together_in_russian() {
        let ok = TemplateInput::parse("  Яма заделана ", "Яма заделана, спасибо за сообщение.").unwrap();
        assert_eq!(ok.title, "Яма заделана");
        let errs = fields(TemplateInput::parse(" ", "коротко").unwrap_err());
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0], ("title".into(), "Введите название шаблона.".into()));
        assert_eq!(errs[1].0, "text");
        assert!(errs[1].1.contains("не короче 10"), "{}", errs[1].1);
        let long = "я".repeat(MAX_TITLE_CHARS + 1);
        let errs = fields(TemplateInput::parse(&long, "Яма заделана, спасибо.").unwrap_err());
        assert_eq!(errs, vec![("title".into(), "Сократите название до 100 символов.".into())]);
        assert!(TemplateInput::parse(&"я".repeat(MAX_TITLE_CHARS), "Яма заделана, спасибо.").is_ok());
        let errs = fields(TemplateInput::parse("Ответ", &"а".repeat(MessageText::MAX_CHARS + 1)).unwrap_err());
        assert_eq!(errs[0].0, "text");
    }
}
