//! `feedback seed`: realistic regional activity generated through the domain services.

use std::path::PathBuf;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub data: PathBuf,
    pub region_file: PathBuf,
    pub messages: u64,
    pub polls: u32,
    pub days: u32,
    pub rng_seed: u64,
}

/// Generates the activity and reports what it wrote.
pub async fn seed_activity(opts: SeedOptions) -> anyhow::Result<()> {
    anyhow::bail!("seeding {} messages is not available yet ({opts:?})", opts.messages)
}
