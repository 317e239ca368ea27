//! Deleting table files nothing references any more.

use std::collections::HashSet;

use strata_catalog::Catalog;
use strata_common::fault;
use strata_storage::DataStore;

use crate::Result;

/// Seconds a retired file is kept for statements that resolved their snapshot before it was
/// retired (the default query timeout).
const GRACE_SECS: i64 = 300;

/// Deletes files on the GC list retired more than [`GRACE_SECS`] ago. At start-up
/// (`startup = true`, no reader exists) it deletes all of them, and every file under the data
/// root that no segment references: the leftovers of loads that crashed or failed between
/// writing a segment and committing it.
pub async fn collect_garbage(catalog: &Catalog, store: &DataStore, startup: bool) -> Result<()> {
    let retired = if startup {
        catalog.gc_files()?
    } else {
        catalog.gc_files_older_than(GRACE_SECS)?
    };
    if !retired.is_empty() {
        store.delete(&retired).await?;
        // A crash here leaves the paths listed; deleting a missing file is no error.
        catalog.hit(fault::GC_DELETE)?;
        catalog.forget_gc_files(&retired)?;
    }
    if startup {
        // Staged segments of unfinished Broker Load jobs are kept: the jobs resume.
        let live: HashSet<String> = catalog
            .all_segment_paths()?
            .into_iter()
            .chain(catalog.staged_paths()?)
            .collect();
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
