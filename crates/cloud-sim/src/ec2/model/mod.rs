//! The emulated region: instances, volumes and snapshots, and the rules EC2 applies to them.
//! A snapshot's state is a function of the model's clock (`snapshot`), so nothing runs in the
//! background and a test can move the clock instead of sleeping.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use jiff::Timestamp;
use rand::Rng;

use super::{Ec2Error, faults::Faults};

mod snapshot;

pub use snapshot::{Direct, Fate, Snapshot, SnapshotState};

/// The block size of EBS snapshots (512 KiB), as the EBS direct API reports it.
pub const BLOCK_SIZE: u32 = 524_288;

/// The volume id EC2 shows for snapshots made through the EBS direct API.
pub const DIRECT_API_VOLUME: &str = "vol-ffffffff";

pub type Tags = BTreeMap<String, String>;

/// A block index and the version of its content; two snapshots hold the same data in a block
/// when the versions are equal.
pub type Blocks = BTreeMap<u64, u64>;

#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub reservation: String,
    pub availability_zone: String,
    pub image_id: String,
    pub instance_type: String,
    pub root_device: String,
    pub launched: Timestamp,
    pub tags: Tags,
    /// Device name to volume id, the root device among them.
    pub devices: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub instance: String,
    pub device: String,
    pub at: Timestamp,
    pub delete_on_termination: bool,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub id: String,
    pub availability_zone: String,
    pub size_gib: i32,
    pub volume_type: String,
    pub iops: Option<i32>,
    pub throughput: Option<i32>,
    pub created: Timestamp,
    pub tags: Tags,
    pub attachment: Option<Attachment>,
    pub blocks: Blocks,
    next_version: u64,
}

fn random_id(prefix: &str) -> String {
    let n: u128 = rand::rng().random();
    format!("{prefix}-{:017x}", n & ((1u128 << 68) - 1))
}

/// Whether `id` looks like an id with `prefix` (`snap`, `vol`, `i`).
pub fn well_formed(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[derive(Debug, Default)]
pub struct Model {
    pub instances: BTreeMap<String, Instance>,
    pub volumes: BTreeMap<String, Volume>,
    pub snapshots: BTreeMap<String, Snapshot>,
}

/// A new instance: where it runs and what it is called.
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub availability_zone: String,
    pub image_id: String,
    pub instance_type: String,
    /// The root device's name (`/dev/xvda`, as Amazon Linux and EKS AMIs have it).
    pub root_device: String,
    /// The size of the root volume the instance starts with.
    pub root_size_gib: i32,
    pub tags: Tags,
}

impl InstanceSpec {
    pub fn new(availability_zone: &str) -> Self {
        InstanceSpec {
            availability_zone: availability_zone.to_string(),
            image_id: "ami-0sandbox0000000".to_string(),
            instance_type: "m5.2xlarge".to_string(),
            root_device: "/dev/xvda".to_string(),
            root_size_gib: 8,
            tags: Tags::new(),
        }
    }
}

/// A new volume.
#[derive(Debug, Clone)]
pub struct VolumeSpec {
    pub availability_zone: String,
    pub size_gib: i32,
    pub volume_type: String,
    pub iops: Option<i32>,
    pub throughput: Option<i32>,
    pub tags: Tags,
}

impl VolumeSpec {
    pub fn new(availability_zone: &str, size_gib: i32) -> Self {
        VolumeSpec {
            availability_zone: availability_zone.to_string(),
            size_gib,
            volume_type: "gp3".to_string(),
            iops: Some(3000),
            throughput: Some(125),
            tags: Tags::new(),
        }
    }
}

impl Model {
    pub fn volume(&self, id: &str) -> Result<&Volume, Ec2Error> {
        self.volumes
            .get(id)
            .ok_or_else(|| Ec2Error::volume_not_found(id))
    }

    pub fn snapshot(&self, id: &str) -> Result<&Snapshot, Ec2Error> {
        self.snapshots
            .get(id)
            .ok_or_else(|| Ec2Error::snapshot_not_found(id))
    }

    pub fn instance(&self, id: &str) -> Result<&Instance, Ec2Error> {
        self.instances
            .get(id)
            .ok_or_else(|| Ec2Error::instance_not_found(id))
    }

    pub fn create_volume(&mut self, spec: VolumeSpec, now: Timestamp) -> Result<String, Ec2Error> {
        if !(1..=65536).contains(&spec.size_gib) {
            return Err(Ec2Error::invalid_value(format!(
                "Volume of {}GiB is outside the allowed range 1 to 65536",
                spec.size_gib
            )));
        }
        let id = random_id("vol");
        self.volumes.insert(
            id.clone(),
            Volume {
                id: id.clone(),
                availability_zone: spec.availability_zone,
                size_gib: spec.size_gib,
                volume_type: spec.volume_type,
                iops: spec.iops,
                throughput: spec.throughput,
                created: now,
                tags: spec.tags,
                attachment: None,
                blocks: Blocks::new(),
                next_version: 1,
            },
        );
        Ok(id)
    }

    /// A running instance with its root volume attached at its root device.
    pub fn run_instance(&mut self, spec: InstanceSpec, now: Timestamp) -> Result<String, Ec2Error> {
        let id = random_id("i");
        let root = self.create_volume(
            VolumeSpec::new(&spec.availability_zone, spec.root_size_gib),
            now,
        )?;
        self.instances.insert(
            id.clone(),
            Instance {
                id: id.clone(),
                reservation: random_id("r"),
                availability_zone: spec.availability_zone,
                image_id: spec.image_id,
                instance_type: spec.instance_type,
                root_device: spec.root_device.clone(),
                launched: now,
                tags: spec.tags,
                devices: BTreeMap::new(),
            },
        );
        self.attach(&root, &id, &spec.root_device, true, now)?;
        Ok(id)
    }

    pub fn attach(
        &mut self,
        volume: &str,
        instance: &str,
        device: &str,
        delete_on_termination: bool,
        now: Timestamp,
    ) -> Result<Attachment, Ec2Error> {
        let zone = self.instance(instance)?.availability_zone.clone();
        let v = self.volume(volume)?;
        if let Some(a) = &v.attachment {
            return Err(Ec2Error::new(
                "VolumeInUse",
                format!(
                    "{volume} is already attached to an instance ({})",
                    a.instance
                ),
            ));
        }
        if v.availability_zone != zone {
            return Err(Ec2Error::new(
                "InvalidVolume.ZoneMismatch",
                format!(
                    "The volume '{volume}' is not in the same availability zone as instance '{instance}'"
                ),
            ));
        }
        if self.instances[instance].devices.contains_key(device) {
            return Err(Ec2Error::invalid_value(format!(
                "Invalid value '{device}' for unixDevice. Attachment point {device} is already in use"
            )));
        }
        let attachment = Attachment {
            instance: instance.to_string(),
            device: device.to_string(),
            at: now,
            delete_on_termination,
        };
        self.volumes
            .get_mut(volume)
            .expect("checked above")
            .attachment = Some(attachment.clone());
        self.instances
            .get_mut(instance)
            .expect("checked above")
            .devices
            .insert(device.to_string(), volume.to_string());
        Ok(attachment)
    }

    /// Data written to `blocks` of a volume: each gets new content.
    pub fn write_blocks(
        &mut self,
        volume: &str,
        blocks: impl IntoIterator<Item = u64>,
    ) -> Result<(), Ec2Error> {
        let v = self
            .volumes
            .get_mut(volume)
            .ok_or_else(|| Ec2Error::volume_not_found(volume))?;
        let max = u64::try_from(v.size_gib).unwrap_or(0) * (1 << 30) / u64::from(BLOCK_SIZE);
        for index in blocks {
            if index >= max {
                return Err(Ec2Error::invalid_value(format!(
                    "block {index} is beyond the end of {volume} ({max} blocks)"
                )));
            }
            v.blocks.insert(index, v.next_version);
            v.next_version += 1;
        }
        Ok(())
    }

    /// Blocks of a volume discarded (trimmed): later snapshots do not hold them.
    pub fn discard_blocks(
        &mut self,
        volume: &str,
        blocks: impl IntoIterator<Item = u64>,
    ) -> Result<(), Ec2Error> {
        let v = self
            .volumes
            .get_mut(volume)
            .ok_or_else(|| Ec2Error::volume_not_found(volume))?;
        for index in blocks {
            v.blocks.remove(&index);
        }
        Ok(())
    }

    fn pending(&self, now: Timestamp) -> impl Iterator<Item = &Snapshot> {
        self.snapshots
            .values()
            .filter(move |s| s.status(now).state == SnapshotState::Pending)
    }

    /// Refuses new snapshots of `volumes` when the limits in `faults` would be passed.
    fn check_limits(
        &self,
        volumes: &[String],
        faults: &Faults,
        now: Timestamp,
    ) -> Result<(), Ec2Error> {
        if let Some(limit) = faults.pending_limit {
            let pending = self.pending(now).count();
            if pending + volumes.len() > limit {
                return Err(Ec2Error::new(
                    "PendingSnapshotLimitExceeded",
                    format!(
                        "You have {pending} snapshots pending; the limit for this region is {limit}."
                    ),
                ));
            }
        }
        if let Some(limit) = faults.volume_pending_limit {
            for volume in volumes {
                // EC2 counts snapshots in error against this limit as well.
                let busy = self
                    .snapshots
                    .values()
                    .filter(|s| &s.volume_id == volume)
                    .filter(|s| s.status(now).state != SnapshotState::Completed)
                    .count();
                if busy >= limit {
                    return Err(Ec2Error::new(
                        "ConcurrentSnapshotLimitExceeded",
                        format!(
                            "Maximum allowed in-progress snapshots for volume {volume} exceeded ({limit})."
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Snapshots of `volumes` taken at one moment, each starting its own life.
    pub fn snapshot_volumes(
        &mut self,
        volumes: &[String],
        description: &str,
        tags: impl Fn(&Volume) -> Tags,
        faults: &mut Faults,
        now: Timestamp,
    ) -> Result<Vec<String>, Ec2Error> {
        for v in volumes {
            self.volume(v)?;
        }
        self.check_limits(volumes, faults, now)?;
        let mut ids = Vec::new();
        for volume in volumes {
            let v = &self.volumes[volume];
            let id = random_id("snap");
            self.snapshots.insert(
                id.clone(),
                Snapshot {
                    id: id.clone(),
                    volume_id: volume.clone(),
                    lineage: volume.clone(),
                    volume_size_gib: v.size_gib,
                    description: description.to_string(),
                    started: now,
                    duration: faults.snapshot_duration,
                    fate: faults.next_fate(),
                    direct: None,
                    tags: tags(v),
                    blocks: v.blocks.clone(),
                    written: BTreeSet::new(),
                },
            );
            ids.push(id);
        }
        Ok(ids)
    }

    /// The volumes `CreateSnapshots` takes for an instance specification.
    pub fn instance_volumes(
        &self,
        instance: &str,
        exclude_boot: bool,
        exclude: &[String],
    ) -> Result<Vec<String>, Ec2Error> {
        let i = self.instance(instance)?;
        let attached: BTreeSet<&String> = i.devices.values().collect();
        for id in exclude {
            self.volume(id)?;
            if !attached.contains(id) {
                return Err(Ec2Error::invalid_value(format!(
                    "The volume {id} is not attached to instance {instance}"
                )));
            }
            if i.devices.get(&i.root_device) == Some(id) {
                return Err(Ec2Error::invalid_value(format!(
                    "{id} is the root volume of {instance}: exclude it with ExcludeBootVolume"
                )));
            }
        }
        Ok(i.devices
            .iter()
            .filter(|(device, _)| !(exclude_boot && **device == i.root_device))
            .map(|(_, volume)| volume.clone())
            .filter(|volume| !exclude.contains(volume))
            .collect())
    }

    pub fn delete_snapshot(&mut self, id: &str) -> Result<(), Ec2Error> {
        if !well_formed(id, "snap") {
            return Err(Ec2Error::new(
                "InvalidSnapshotID.Malformed",
                format!("Invalid id: \"{id}\" (expecting \"snap-...\")"),
            ));
        }
        self.snapshots
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| Ec2Error::snapshot_not_found(id))
    }

    /// The tags of a snapshot, volume or instance, for CreateTags.
    pub fn tags_of(&mut self, id: &str) -> Result<&mut Tags, Ec2Error> {
        let found = if id.starts_with("snap-") {
            self.snapshots.get_mut(id).map(|s| &mut s.tags)
        } else if id.starts_with("vol-") {
            self.volumes.get_mut(id).map(|v| &mut v.tags)
        } else if id.starts_with("i-") {
            self.instances.get_mut(id).map(|i| &mut i.tags)
        } else {
            return Err(Ec2Error::new(
                "InvalidID",
                format!("The ID '{id}' is not valid"),
            ));
        };
        found.ok_or_else(|| {
            if id.starts_with("snap-") {
                Ec2Error::snapshot_not_found(id)
            } else if id.starts_with("vol-") {
                Ec2Error::volume_not_found(id)
            } else {
                Ec2Error::instance_not_found(id)
            }
        })
    }

    /// A snapshot to be written through the EBS direct API, optionally on top of a parent's
    /// blocks.
    pub fn start_direct(
        &mut self,
        size_gib: i32,
        parent: Option<&str>,
        description: &str,
        tags: Tags,
        now: Timestamp,
    ) -> Result<String, Ec2Error> {
        let (lineage, blocks) = match parent {
            Some(p) => {
                let s = self.snapshot(p)?;
                (s.lineage.clone(), s.blocks.clone())
            }
            None => (random_id("lineage"), Blocks::new()),
        };
        let id = random_id("snap");
        self.snapshots.insert(
            id.clone(),
            Snapshot {
                id: id.clone(),
                volume_id: DIRECT_API_VOLUME.to_string(),
                lineage,
                volume_size_gib: size_gib,
                description: description.to_string(),
                started: now,
                duration: Duration::ZERO,
                fate: Fate::Complete,
                direct: Some(Direct::Open),
                tags,
                blocks,
                written: BTreeSet::new(),
            },
        );
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_aws_ids() {
        let id = random_id("snap");
        assert!(well_formed(&id, "snap"), "{id}");
        assert_eq!(id.len(), "snap-".len() + 17);
        assert!(!well_formed("snap-xyz", "snap"));
        assert!(!well_formed("vol-0123", "snap"));
    }
}
