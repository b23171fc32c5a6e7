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

mod workflow {
    use super::*;
    feedback_tests::workflow_suite!(harness!());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_poison_message_dead_letters_while_its_batch_is_processed() {
        let (_guard, h) = harness!();
        feedback_tests::workflow::a_poison_message_dead_letters_while_its_batch_is_processed(
            &h,
            async |q: &feedback_aws::SqsQueue, body| {
                q.send_raw(feedback_core::ports::QueueName::Submitted, body).await.unwrap()
            },
        )
        .await;
    }
}

mod analytics {
    use super::*;
    feedback_tests::analytics_suite!(harness!());
}

mod polls {
    use super::*;
    feedback_tests::polls_suite!(harness!());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sharded_tally_sums_exactly_for_two_hundred_voters() {
        let (_guard, h) = harness!();
        feedback_tests::polls::the_tally_sums_exactly(&h, 200).await;
    }
}

mod open311 {
    use super::*;
    feedback_tests::open311_suite!(harness!());
}
