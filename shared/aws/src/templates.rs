//! Authorities' reply templates on DynamoDB, in the authority's partition
//! `TEMPLATES#<authority>`: `SK = TPL#<id>` each template, and `SK = COUNT` their number, added
//! to in the transaction that writes one on condition that it stays under the limit (and taken
//! from in the one that deletes one). Reads are a `Query` of the partition or a `GetItem`.

use crate::backend;
use crate::dynamo::{doc, read_doc, s, DynamoStore, Item};
use crate::transact::{Cancellation, TransactError};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use feedback_core::ids::{AuthorityId, TemplateId};
use feedback_core::ports::StoreError;
use feedback_core::templates::{ReplyTemplate, TemplateStore};

const PREFIX: &str = "TPL#";
const COUNT_SK: &str = "COUNT";

fn templates_pk(authority: &AuthorityId) -> String {
    format!("TEMPLATES#{authority}")
}

fn template_sk(id: &TemplateId) -> String {
    format!("{PREFIX}{id}")
}

fn template_item(template: &ReplyTemplate) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("PK".into(), s(templates_pk(&template.authority_id))),
        ("SK".into(), s(template_sk(&template.id))),
        ("doc".into(), doc(template)?),
    ]))
}

impl DynamoStore {
    /// The Update that adds `by` to the authority's number of templates, on condition that it is
    /// under `max` when given.
    fn count_templates(
        &self,
        authority: &AuthorityId,
        by: i32,
        max: Option<u32>,
    ) -> Result<TransactWriteItem, StoreError> {
        self.bounded_count(templates_pk(authority), COUNT_SK, by, max)
    }
}

#[async_trait]
impl TemplateStore for DynamoStore {
    async fn templates(&self, authority: &AuthorityId) -> Result<Vec<ReplyTemplate>, StoreError> {
        self.query_prefix(templates_pk(authority), PREFIX, None).await?.iter().map(read_doc).collect()
    }

    async fn get_template(
        &self,
        authority: &AuthorityId,
        id: &TemplateId,
    ) -> Result<Option<ReplyTemplate>, StoreError> {
        self.get_doc(templates_pk(authority), &template_sk(id)).await?.map(|i| read_doc(&i)).transpose()
    }

    async fn add_template(&self, template: &ReplyTemplate, max: u32) -> Result<bool, StoreError> {
        let items = vec![
            self.put(template_item(template)?, "attribute_not_exists(PK)", None)?,
            self.count_templates(&template.authority_id, 1, Some(max))?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(c)) if *c.at(1) == Cancellation::ConditionalCheckFailed => Ok(false),
            Err(TransactError::Cancelled(c)) if *c.at(0) == Cancellation::ConditionalCheckFailed => {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(e.conflict_or("TransactWriteItems add template")),
        }
    }

    async fn replace_template(&self, template: &ReplyTemplate) -> Result<bool, StoreError> {
        match self.transact(vec![self.put(template_item(template)?, "attribute_exists(PK)", None)?]).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(c)) if *c.at(0) == Cancellation::ConditionalCheckFailed => Ok(false),
            Err(e) => Err(e.conflict_or("TransactWriteItems replace template")),
        }
    }

    async fn delete_template(&self, authority: &AuthorityId, id: &TemplateId) -> Result<bool, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table())
            .key("PK", s(templates_pk(authority)))
            .key("SK", s(template_sk(id)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(|e| backend("building Delete", e))?;
        let items =
            vec![TransactWriteItem::builder().delete(delete).build(), self.count_templates(authority, -1, None)?];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::Cancelled(c)) if *c.at(0) == Cancellation::ConditionalCheckFailed => Ok(false),
            Err(e) => Err(e.conflict_or("TransactWriteItems delete template")),
        }
    }
}
