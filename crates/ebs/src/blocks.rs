//! Backup sizes from the EBS direct API: the blocks a snapshot holds, and the blocks that
//! changed since the volume's previous snapshot.

use crate::{Cloud, Error, Result};

/// Blocks asked for per page (the API's maximum).
const PAGE: i32 = 10_000;

impl Cloud {
    /// Bytes in the blocks `snapshot` holds (allocated, not provisioned).
    pub async fn snapshot_bytes(&self, snapshot: &str) -> Result<u64> {
        let mut total = 0u64;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .ebs
                .list_snapshot_blocks()
                .snapshot_id(snapshot)
                .max_results(PAGE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| Error::from_sdk("ListSnapshotBlocks", e))?;
            let size = u64::try_from(page.block_size().unwrap_or_default()).unwrap_or(0);
            total += page.blocks().len() as u64 * size;
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(total);
            }
        }
    }

    /// Bytes in the blocks of `second` that differ from `first` (blocks only `first` has are
    /// not counted: they are not in this backup).
    pub async fn changed_bytes(&self, first: &str, second: &str) -> Result<u64> {
        let mut total = 0u64;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .ebs
                .list_changed_blocks()
                .first_snapshot_id(first)
                .second_snapshot_id(second)
                .max_results(PAGE)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| Error::from_sdk("ListChangedBlocks", e))?;
            let size = u64::try_from(page.block_size().unwrap_or_default()).unwrap_or(0);
            let present = page
                .changed_blocks()
                .iter()
                .filter(|b| b.second_block_token().is_some())
                .count() as u64;
            total += present * size;
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(total);
            }
        }
    }
}
