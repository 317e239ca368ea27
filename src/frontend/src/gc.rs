//! Deleting table files nothing references any more.

use std::collections::HashSet;

use strata_catalog::Catalog;
use strata_storage::DataStore;

use crate::Result;

/// Deletes files on the GC list. At start-up (`startup = true`) it also deletes every file
/// under the data root that no segment references: the leftovers of loads that crashed or
/// failed between writing a segment and committing it.
pub async fn collect_garbage(catalog: &Catalog, store: &DataStore, startup: bool) -> Result<()> {
    let retired = catalog.gc_files()?;
    if !retired.is_empty() {
        store.delete(&retired).await?;
        catalog.forget_gc_files(&retired)?;
    }
    if startup {
        let live: HashSet<String> = catalog.all_segment_paths()?.into_iter().collect();
        let orphans: Vec<String> = store
            .list_files()
            .await?
            .into_iter()
            .filter(|p| !live.contains(p))
            .collect();
        if !orphans.is_empty() {
            tracing::info!(files = orphans.len(), "removing files of unfinished writes");
            store.delete(&orphans).await?;
        }
    }
    Ok(())
}
