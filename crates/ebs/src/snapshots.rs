//! Volumes and snapshots through EC2: what BR needs to take crash-consistent snapshots of
//! one TiKV's volumes (`CreateSnapshots` with an instance specification), and what the agent
//! needs to find, tag and delete them.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    CopyTagsFromSource, Filter, InstanceSpecification, ResourceType, Tag, TagSpecification,
};
use jiff::Timestamp;

use crate::{Cloud, Error, Result};

/// A volume and where it is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub volume_id: String,
    pub availability_zone: String,
    /// The instance it is attached to, if any.
    pub instance_id: Option<String>,
    pub size_gib: i32,
}

/// A snapshot requested by `CreateSnapshots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub volume_id: String,
    pub snapshot_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotState {
    Pending,
    Completed,
    Error,
    /// Anything EC2 may add.
    Other,
}

/// A snapshot as `DescribeSnapshots` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotInfo {
    pub snapshot_id: String,
    pub volume_id: String,
    pub state: SnapshotState,
    /// `0%` … `100%`, as a number.
    pub progress: f64,
    pub start_time: Option<Timestamp>,
    pub size_gib: i32,
    /// Why it ended in `error`, when it did.
    pub state_message: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// How a deletion went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Yes,
    /// There was no such snapshot (deleted already): done all the same.
    NotFound,
}

fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl Cloud {
    pub async fn describe_volumes(&self, ids: &[String]) -> Result<Vec<VolumeInfo>> {
        let out = self
            .ec2
            .describe_volumes()
            .set_volume_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeVolumes", e))?;
        Ok(out
            .volumes()
            .iter()
            .map(|v| VolumeInfo {
                volume_id: v.volume_id().unwrap_or_default().to_string(),
                availability_zone: v.availability_zone().unwrap_or_default().to_string(),
                instance_id: v
                    .attachments()
                    .first()
                    .and_then(|a| a.instance_id())
                    .map(str::to_string),
                size_gib: v.size().unwrap_or_default(),
            })
            .collect())
    }

    /// One crash-consistent request for `volumes` of `instance`: its boot volume and every
    /// other data volume attached to it are excluded, the source volumes' tags copied, and
    /// `tags` added.
    pub async fn create_snapshots(
        &self,
        instance: &str,
        volumes: &[String],
        tags_to_add: &[(String, String)],
    ) -> Result<Vec<Created>> {
        let described = self
            .ec2
            .describe_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| Error::from_sdk("DescribeInstances", e))?;
        let found = described
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next();
        let root = found.and_then(|i| i.root_device_name()).unwrap_or_default();
        let exclude: Vec<String> = found
            .iter()
            .flat_map(|i| i.block_device_mappings())
            .filter(|m| m.device_name() != Some(root))
            .filter_map(|m| m.ebs().and_then(|e| e.volume_id()))
            .filter(|id| !volumes.iter().any(|v| v == id))
            .map(str::to_string)
            .collect();
        let mut request = self
            .ec2
            .create_snapshots()
            .instance_specification(
                InstanceSpecification::builder()
                    .instance_id(instance)
                    .exclude_boot_volume(true)
                    .set_exclude_data_volume_ids((!exclude.is_empty()).then_some(exclude))
                    .build(),
            )
            .copy_tags_from_source(CopyTagsFromSource::Volume);
        if !tags_to_add.is_empty() {
            request = request.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Snapshot)
                    .set_tags(Some(tags(tags_to_add)))
                    .build(),
            );
        }
        let out = request
            .send()
            .await
            .map_err(|e| Error::from_sdk("CreateSnapshots", e))?;
        Ok(out
            .snapshots()
            .iter()
            .map(|s| Created {
                volume_id: s.volume_id().unwrap_or_default().to_string(),
                snapshot_id: s.snapshot_id().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// Snapshots by id (missing ones are an error, as in EC2), every page read.
    pub async fn snapshots_by_id(&self, ids: &[String]) -> Result<Vec<SnapshotInfo>> {
        self.describe(Some(ids.to_vec()), Vec::new()).await
    }

    /// This account's snapshots carrying every tag of `tags`, every page read.
    pub async fn snapshots_tagged(&self, tags: &[(String, String)]) -> Result<Vec<SnapshotInfo>> {
        let filters = tags
            .iter()
            .map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build())
            .collect();
        self.describe(None, filters).await
    }

    /// This account's completed snapshots of `volume`, oldest first.
    pub async fn completed_snapshots_of(&self, volume: &str) -> Result<Vec<SnapshotInfo>> {
        let filters = vec![
            Filter::builder().name("volume-id").values(volume).build(),
            Filter::builder().name("status").values("completed").build(),
        ];
        let mut found = self.describe(None, filters).await?;
        found.sort_by_key(|s| s.start_time);
        Ok(found)
    }

    async fn describe(
        &self,
        ids: Option<Vec<String>>,
        filters: Vec<Filter>,
    ) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .set_snapshot_ids(ids.clone())
                .set_next_token(token.clone());
            if !filters.is_empty() {
                request = request.set_filters(Some(filters.clone()));
            }
            if ids.is_none() {
                request = request.max_results(1000);
            }
            let page = request
                .send()
                .await
                .map_err(|e| Error::from_sdk("DescribeSnapshots", e))?;
            out.extend(page.snapshots().iter().map(snapshot_info));
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Deletes one snapshot; one already gone counts as done.
    pub async fn delete_snapshot(&self, id: &str) -> Result<Deleted> {
        match self.ec2.delete_snapshot().snapshot_id(id).send().await {
            Ok(_) => Ok(Deleted::Yes),
            Err(e) => {
                let e = Error::from_sdk("DeleteSnapshot", e);
                if e.is_not_found() {
                    Ok(Deleted::NotFound)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Adds `tags` to `resources` (snapshots, volumes).
    pub async fn tag(&self, resources: &[String], tags_to_add: &[(String, String)]) -> Result<()> {
        self.ec2
            .create_tags()
            .set_resources(Some(resources.to_vec()))
            .set_tags(Some(tags(tags_to_add)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk("CreateTags", e))
    }
}

fn snapshot_info(s: &aws_sdk_ec2::types::Snapshot) -> SnapshotInfo {
    use aws_sdk_ec2::types::SnapshotState as S;
    SnapshotInfo {
        snapshot_id: s.snapshot_id().unwrap_or_default().to_string(),
        volume_id: s.volume_id().unwrap_or_default().to_string(),
        state: match s.state() {
            Some(S::Pending) => SnapshotState::Pending,
            Some(S::Completed) => SnapshotState::Completed,
            Some(S::Error) => SnapshotState::Error,
            _ => SnapshotState::Other,
        },
        progress: s
            .progress()
            .and_then(|p| p.trim_end_matches('%').parse().ok())
            .unwrap_or(0.0),
        start_time: s
            .start_time()
            // Sub-second precision: a volume's snapshots taken in one second keep their order.
            .and_then(|t| Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).ok()?).ok()),
        size_gib: s.volume_size().unwrap_or_default(),
        state_message: s.state_message().map(str::to_string),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
    }
}
