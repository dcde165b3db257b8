//! A volume-snapshot backup's sizes, as `spec.calcSizeLevel` asks: the full size is the
//! blocks each snapshot holds; the incremental size is the blocks that changed since the
//! volume's previous completed snapshot (whoever took it), or the full size of a volume's
//! first snapshot (which holds every block; TiDB Operator counts 0 there when it did not also
//! compute full sizes).
//!
//! Sizes are for humans and retention: a size that cannot be computed leaves the backup
//! complete, with the gap said in the condition message.

use futures::{StreamExt, stream};
use tibr_core::backup::VolumeSettings;
use tibr_core::volume::VolumeMeta;

/// Volumes sized at once (the EBS direct API throttles per account; the SDK's adaptive
/// retry slows down under it).
const CONCURRENCY: usize = 40;

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Sizes {
    pub full: u64,
    pub incremental: u64,
    /// What could not be sized, and why.
    pub problems: Vec<String>,
}

impl Sizes {
    /// The condition's note about sizes, if any.
    pub(super) fn note(&self, snapshots: usize) -> Option<String> {
        let first = self.problems.first()?;
        Some(format!(
            "the sizes leave out {} of {snapshots} snapshot(s): {first}",
            self.problems.len()
        ))
    }
}

/// One snapshot's sizes, `None` for what was not asked for.
struct One {
    full: Option<u64>,
    incremental: Option<u64>,
}

pub(super) async fn sizes(
    cloud: &tibr_ebs::Cloud,
    meta: &VolumeMeta,
    settings: &VolumeSettings,
) -> Sizes {
    if !settings.full_size && !settings.incremental_size {
        return Sizes::default();
    }
    let pairs: Vec<(String, String)> = meta
        .snapshots()
        .into_iter()
        .map(|(v, s)| (v.to_string(), s.to_string()))
        .collect();
    let results: Vec<Result<One, String>> = stream::iter(pairs)
        .map(|(volume, snapshot)| async move {
            one(cloud, &volume, &snapshot, settings)
                .await
                .map_err(|e| format!("{snapshot} of {volume}: {e}"))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut sizes = Sizes::default();
    for r in results {
        match r {
            Ok(one) => {
                sizes.full += one.full.unwrap_or(0);
                sizes.incremental += one.incremental.unwrap_or(0);
            }
            Err(e) => sizes.problems.push(e),
        }
    }
    sizes.problems.sort();
    sizes
}

async fn one(
    cloud: &tibr_ebs::Cloud,
    volume: &str,
    snapshot: &str,
    settings: &VolumeSettings,
) -> Result<One, tibr_ebs::Error> {
    let full = if settings.full_size {
        Some(cloud.snapshot_bytes(snapshot).await?)
    } else {
        None
    };
    if !settings.incremental_size {
        return Ok(One {
            full,
            incremental: None,
        });
    }
    let history = cloud.completed_snapshots_of(volume).await?;
    let ids: Vec<&str> = history.iter().map(|s| s.snapshot_id.as_str()).collect();
    let Some(before) = previous(&ids, snapshot) else {
        return Err(tibr_ebs::Error {
            operation: "DescribeSnapshots",
            code: "NotListed".into(),
            message: format!("{snapshot} is not among the completed snapshots of {volume}"),
        });
    };
    let incremental = match before {
        Some(prev) => cloud.changed_bytes(prev, snapshot).await?,
        None => match full {
            Some(f) => f,
            None => cloud.snapshot_bytes(snapshot).await?,
        },
    };
    Ok(One {
        full,
        incremental: Some(incremental),
    })
}

/// The snapshot just before `ours` in a volume's history (oldest first): `Some(None)` for
/// the first, `None` when ours is not in it.
fn previous<'a>(history: &[&'a str], ours: &str) -> Option<Option<&'a str>> {
    let at = history.iter().position(|s| *s == ours)?;
    Some(at.checked_sub(1).map(|i| history[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_snapshot_is_the_one_just_before() {
        let h = ["snap-1", "snap-2", "snap-3"];
        assert_eq!(previous(&h, "snap-3"), Some(Some("snap-2")));
        assert_eq!(previous(&h, "snap-1"), Some(None));
        assert_eq!(previous(&h, "snap-9"), None);
    }

    #[test]
    fn gaps_are_named_with_a_count() {
        let s = Sizes {
            problems: vec!["snap-1 of vol-1: ListSnapshotBlocks: Throttling: slow down".into()],
            ..Sizes::default()
        };
        assert_eq!(
            s.note(6).as_deref(),
            Some(
                "the sizes leave out 1 of 6 snapshot(s): snap-1 of vol-1: ListSnapshotBlocks: Throttling: slow down"
            )
        );
        assert_eq!(Sizes::default().note(6), None);
    }
}
