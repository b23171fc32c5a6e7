//! Custody of the polls' private ballot keys on AWS: one SSM SecureString parameter per poll under
//! the stack's path (`BALLOT_KEYS_PATH`), apart from the table. `polls` keeps a new poll's key,
//! only `close-polls` reads it, and the close deletes it with the sealed ballots.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_ssm::types::ParameterType;
use feedback_core::ids::PollId;
use feedback_core::participation::{BallotKey, BallotKeys};
use feedback_core::StoreError;

/// Ballot keys as SSM parameters under `path`.
#[derive(Debug, Clone)]
pub struct SsmKeys {
    client: aws_sdk_ssm::Client,
    path: String,
}

impl SsmKeys {
    pub fn new(client: aws_sdk_ssm::Client, path: impl Into<String>) -> SsmKeys {
        SsmKeys { client, path: path.into().trim_end_matches('/').to_owned() }
    }

    pub fn from_conf(conf: &aws_config::SdkConfig, path: impl Into<String>) -> SsmKeys {
        SsmKeys::new(aws_sdk_ssm::Client::new(conf), path)
    }

    fn name(&self, poll: &PollId) -> String {
        format!("{}/{poll}", self.path)
    }
}

#[async_trait]
impl BallotKeys for SsmKeys {
    async fn put_key(&self, poll: &PollId, key: &BallotKey) -> Result<(), StoreError> {
        let value = zeroize::Zeroizing::new(hex::encode(key.as_bytes()));
        match self
            .client
            .put_parameter()
            .name(self.name(poll))
            .value(value.as_str())
            .r#type(ParameterType::SecureString)
            .overwrite(false)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_already_exists()) => {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(sdk_error("PutParameter ballot key", e)),
        }
    }

    async fn get_key(&self, poll: &PollId) -> Result<Option<BallotKey>, StoreError> {
        let out = match self.client.get_parameter().name(self.name(poll)).with_decryption(true).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => return Ok(None),
            Err(e) => return Err(sdk_error("GetParameter ballot key", e)),
        };
        let value = zeroize::Zeroizing::new(out.parameter.and_then(|p| p.value).unwrap_or_default());
        let bytes = hex::decode(value.trim()).map_err(|e| StoreError::backend("decoding a ballot key", e))?;
        BallotKey::from_bytes(bytes).map(Some).map_err(|e| StoreError::backend("decoding a ballot key", e))
    }

    async fn destroy_key(&self, poll: &PollId) -> Result<(), StoreError> {
        match self.client.delete_parameter().name(self.name(poll)).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => Ok(()),
            Err(e) => Err(sdk_error("DeleteParameter ballot key", e)),
        }
    }
}
