//! `feedback seed-region`: loads a region file into a store, validated and idempotent.

use crate::region_file::RegionSource;
use anyhow::Context;
use feedback_core::service::{Reference, SeedOutcome};
use feedback_core::ReferenceStore;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Duration;

/// Where to seed.
pub enum Target {
    Local(PathBuf),
    Aws { table: String, create_table: bool },
}

/// Validates the region file, then stores it unless the stored data is already equal.
pub async fn seed_region(target: Target, region_file: &RegionSource) -> anyhow::Result<()> {
    let bar = ProgressBar::new(3);
    bar.set_style(ProgressStyle::with_template("{spinner} [{bar:20}] {pos}/{len} {msg}")?.progress_chars("=> "));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message(format!("validating {region_file}"));
    let region = region_file.load()?;
    bar.inc(1);
    bar.set_message("connecting");
    let outcome = match target {
        Target::Local(data) => {
            crate::datadir::prepare(&data)?;
            let store = feedback_embedded::SqliteStore::new(feedback_embedded::Db::open(&data.join("feedback.db"))?);
            bar.inc(1);
            bar.set_message("writing reference data");
            seed(store, &region).await?
        }
        Target::Aws { table, create_table } => {
            let conf = feedback_aws::sdk_config().await;
            let store = feedback_aws::DynamoStore::from_conf(&conf, &table);
            if create_table {
                match feedback_aws::create_table(store.client(), &table).await {
                    Ok(()) => bar.println(format!("created table {table}")),
                    Err(e) if format!("{e:?}").contains("ResourceInUse") => {}
                    Err(e) => return Err(e),
                }
            }
            bar.inc(1);
            bar.set_message(format!("writing reference data to {table}"));
            seed(store, &region).await?
        }
    };
    bar.inc(1);
    bar.finish_with_message(match outcome {
        SeedOutcome::Created => "seeded",
        SeedOutcome::Updated => "updated",
        SeedOutcome::Unchanged => "already up to date",
    });
    println!(
        "region {} ({}): {} municipalities, {} authorities, {} categories, {} routing rules — {}",
        region.region.code,
        region.region.name,
        region.municipalities.len(),
        region.authorities.len(),
        region.categories.len(),
        region.routing_rules.len(),
        match outcome {
            SeedOutcome::Created => "seeded",
            SeedOutcome::Updated => "updated",
            SeedOutcome::Unchanged => "unchanged",
        }
    );
    Ok(())
}

async fn seed<R: ReferenceStore>(store: R, region: &feedback_core::RegionData) -> anyhow::Result<SeedOutcome> {
    Reference::new(store, Duration::from_secs(1)).seed(region).await.context("seeding")
}
