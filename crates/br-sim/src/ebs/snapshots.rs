//! BR's EC2 steps (`br/pkg/aws/ebs.go`) through `tibr-ebs`: one crash-consistent
//! `CreateSnapshots` per TiKV instance, the volumes' zones, polling until every snapshot is
//! `completed`, and the best-effort deletion of what was created when the backup fails.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use tibr_core::volume::VolumeMeta;
use tibr_ebs::{Cloud, Deleted, SnapshotState};

use super::meta::ByVolume;
use super::progress::Progress;
use crate::config::SimEnv;
use crate::log::{Logger, field, raw};
use crate::pd::list;

/// EC2's answer when too many snapshots are pending; BR waits and asks again.
const PENDING_LIMIT: &str = "PendingSnapshotLimitExceeded";

pub struct Ec2<'a> {
    pub cloud: &'a Cloud,
    pub log: &'a Logger,
    pub sim: &'a SimEnv,
    /// `--cloud-api-concurrency`.
    pub concurrency: usize,
}

/// One store's request: its instance and the volumes the volume file lists.
struct Request {
    instance: String,
    volumes: Vec<String>,
}

impl Request {
    /// How BR's error names the request (aws-sdk-go's rendering, on one line).
    fn describe(&self) -> String {
        format!(
            "{{CopyTagsFromSource: \"volume\", InstanceSpecification: {{ExcludeBootVolume: \
             true, InstanceId: \"{}\"}}}}",
            self.instance
        )
    }
}

impl Ec2<'_> {
    /// Requests the snapshots; every snapshot EC2 reports goes into `created` as soon as
    /// its request returns (so a failure later still deletes it). Returns each listed
    /// volume's zone.
    pub async fn create(
        &self,
        meta: &VolumeMeta,
        created: &Mutex<ByVolume>,
    ) -> Result<ByVolume, String> {
        let log = self.log;
        let mut requests = Vec::new();
        let mut all_volumes = Vec::new();
        for store in meta.tikv.stores.iter().filter(|s| !s.volumes.is_empty()) {
            log.info("ebs.go:82", "fetch EC2 instance id using first volume", &[]);
            let volumes: Vec<String> = store.volumes.iter().map(|v| v.volume_id.clone()).collect();
            all_volumes.extend(volumes.iter().cloned());
            let first = self
                .cloud
                .describe_volumes(&volumes[..1])
                .await
                .map_err(|e| e.to_string())?;
            let instance = first
                .first()
                .and_then(|v| v.instance_id.clone())
                .ok_or_else(|| format!("specified volume {} is not attached", volumes[0]))?;
            log.info("ebs.go:99", "EC2 instance id is", &[field("id", &instance)]);
            requests.push(Request { instance, volumes });
        }

        let tickets = AtomicU64::new(0);
        let results: Vec<Result<(), String>> = futures::stream::iter(requests)
            .map(|request| {
                let tickets = &tickets;
                async move {
                    let ticket = tickets.fetch_add(1, Ordering::SeqCst);
                    if let Some(limit) = self.sim.ebs.fail_after_creates
                        && ticket >= limit
                    {
                        return Err(format!(
                            "failed to create snapshot for request {}: InternalError: simulated \
                             failure injected by BR_SIM_EBS_FAIL_AFTER_CREATES={limit}",
                            request.describe()
                        ));
                    }
                    let snapshots = self.create_with_retry(&request).await?;
                    if let Ok(mut created) = created.lock() {
                        created.extend(snapshots.into_iter().map(|s| (s.volume_id, s.snapshot_id)));
                    }
                    Ok(())
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        // Like BR's errgroup: every request runs to its end, the first error is reported.
        results.into_iter().collect::<Result<Vec<()>, String>>()?;

        let described = self
            .cloud
            .describe_volumes(&all_volumes)
            .await
            .map_err(|e| e.to_string())?;
        let mut zones = ByVolume::new();
        for volume in described {
            log.info(
                "ebs.go:172",
                "volume information",
                &[field(
                    "vol",
                    format!(
                        "{{ AvailabilityZone: \"{}\", Size: {}, VolumeId: \"{}\" }}",
                        volume.availability_zone, volume.size_gib, volume.volume_id
                    ),
                )],
            );
            zones.insert(volume.volume_id, volume.availability_zone);
        }
        Ok(zones)
    }

    async fn create_with_retry(&self, request: &Request) -> Result<Vec<tibr_ebs::Created>, String> {
        loop {
            match self
                .cloud
                .create_snapshots(&request.instance, &request.volumes, &[])
                .await
            {
                Ok(created) => return Ok(created),
                Err(e) if e.code == PENDING_LIMIT => {
                    self.log.warn(
                        "ebs.go:185",
                        "the pending snapshots exceeds the limit. waiting...",
                        &[field("instance", &request.instance), field("volumns", "[]")],
                    );
                    tokio::time::sleep(self.sim.ebs.pending_retry).await;
                }
                Err(e) => {
                    return Err(format!(
                        "failed to create snapshot for request {}: {e}",
                        request.describe()
                    ));
                }
            }
        }
    }

    /// Polls until every snapshot is `completed`; one in `error` fails the backup. Returns
    /// BR's "size": the provisioned GiB of the completed snapshots' volumes.
    pub async fn wait(&self, snapshots: &ByVolume, progress: &Progress) -> Result<i64, String> {
        let log = self.log;
        let mut pending: Vec<String> = snapshots.values().cloned().collect();
        let mut seen: std::collections::BTreeMap<String, i64> = Default::default();
        let mut total_gib = 0i64;
        log.info(
            "ebs.go:241",
            "starts check pending snapshots",
            &[field("snapshots", list(&pending))],
        );
        loop {
            if pending.is_empty() {
                log.info(
                    "ebs.go:244",
                    "all pending volume snapshots are finished.",
                    &[],
                );
                return Ok(total_gib);
            }
            tokio::time::sleep(self.sim.ebs.poll_interval).await;
            log.info(
                "ebs.go:250",
                "check pending snapshots",
                &[raw("count", pending.len())],
            );
            let described = self
                .cloud
                .snapshots_by_id(&pending)
                .await
                .map_err(|e| e.to_string())?;
            let mut still = Vec::new();
            for snapshot in described {
                match snapshot.state {
                    SnapshotState::Completed => {
                        log.info(
                            "ebs.go:261",
                            "snapshot completed",
                            &[field("id", &snapshot.snapshot_id)],
                        );
                        total_gib += i64::from(snapshot.size_gib);
                    }
                    SnapshotState::Error => {
                        log.error(
                            "ebs.go:264",
                            "snapshot failed",
                            &[
                                field("id", &snapshot.snapshot_id),
                                field("error", snapshot.state_message.clone().unwrap_or_default()),
                            ],
                        );
                        return Err(format!("snapshot {} failed", snapshot.snapshot_id));
                    }
                    _ => still.push(snapshot.snapshot_id.clone()),
                }
                let now = (snapshot.progress as i64).clamp(0, 100);
                let before = seen.entry(snapshot.snapshot_id).or_insert(0);
                if now > *before {
                    progress.add(now - *before);
                    *before = now;
                }
            }
            pending = still;
        }
    }

    /// BR's `DeleteSnapshots`: every one tried, failures logged and not retried.
    pub async fn delete(&self, snapshots: &ByVolume) {
        let log = self.log;
        let deleted: usize = futures::stream::iter(snapshots.values())
            .map(|id| async move {
                match self.cloud.delete_snapshot(id).await {
                    Ok(Deleted::Yes) => 1,
                    // BR's SDK call fails on a missing snapshot; it counts as not deleted.
                    Ok(Deleted::NotFound) => {
                        log.error(
                            "ebs.go:303",
                            "failed to delete snapshot",
                            &[
                                field("error", "InvalidSnapshot.NotFound"),
                                field("snap-id", id),
                            ],
                        );
                        0
                    }
                    Err(e) => {
                        log.error(
                            "ebs.go:303",
                            "failed to delete snapshot",
                            &[field("error", e.to_string()), field("snap-id", id)],
                        );
                        0
                    }
                }
            })
            .buffer_unordered(self.concurrency.max(1))
            .fold(0, |sum, n| async move { sum + n })
            .await;
        log.info(
            "ebs.go:312",
            "delete snapshot end",
            &[raw("need-to-del", snapshots.len()), raw("deleted", deleted)],
        );
    }
}
