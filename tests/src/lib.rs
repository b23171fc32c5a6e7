//! Shared test support and the contract suite every adapter must pass. The same cases run on
//! SQLite (`tests/contract_sqlite.rs`) and on DynamoDB/SQS through moto (`tests/contract_dynamo.rs`).

pub mod contract;
pub mod fixtures;
pub mod moto;

/// What a contract case needs: a store and a queue of one backend.
pub struct Harness<S, Q> {
    pub store: S,
    pub queue: Q,
    /// Receptions after which the backend's queue dead-letters a message.
    pub max_receives: u32,
}
