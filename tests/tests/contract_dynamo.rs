//! The port contract on DynamoDB and SQS, through the real SDK against moto server. The cases
//! run one at a time: moto is not safe for concurrent transactions.

use feedback_tests::{moto, Harness};

const MAX_RECEIVES: u32 = 3;

macro_rules! harness {
    () => {{
        let guard = moto::serial().lock().await;
        let (store, queue) = moto::backend(MAX_RECEIVES).await;
        (guard, Harness { store, queue, max_receives: MAX_RECEIVES })
    }};
}

feedback_tests::contract_suite!(harness!());
