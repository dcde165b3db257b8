//! The sandbox's EC2 and EBS: the operations volume-snapshot backups use, over the same wire
//! protocols AWS speaks, so the AWS SDKs, the AWS CLI and boto3 work against it unchanged.
//!
//! - EC2's Query API (form-encoded `POST /`, XML answers and EC2's XML errors):
//!   DescribeInstances, DescribeVolumes, CreateSnapshots (per instance), CreateSnapshot,
//!   DescribeSnapshots (ids, owners, filters, pages), DeleteSnapshot, CreateTags, and for
//!   seeding RunInstances, CreateVolume and AttachVolume (`query`, `xml`).
//! - The EBS direct API (REST and JSON): ListSnapshotBlocks, ListChangedBlocks, and for
//!   seeding StartSnapshot, PutSnapshotBlock and CompleteSnapshot (`ebs`).
//!
//! Both check SigV4 against the sandbox's [`CredentialStore`] like its S3 (`sigv4`). Snapshots
//! take time: `pending` with growing progress, then `completed`, or `error` when made to fail;
//! the region's pending-snapshot limit, the per-volume limit and throttling can be switched
//! on, and every call is logged (`faults`). The state lives in memory (`model`); [`Ec2`] is the
//! Rust handle tests and the sandbox seed and steer it with, [`Ec2Server`] serves it.
//! docs/adr/0007-ec2-emulator-contract.md says what it promises and what it does not model.

mod ebs;
mod faults;
mod model;
mod query;
mod server;
mod sigv4;
mod xml;

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use jiff::{SignedDuration, Timestamp};

pub use faults::{Call, DEFAULT_FAIL_MESSAGE, DEFAULT_SNAPSHOT_DURATION, Ec2Config, Throttle};
pub use model::{
    Attachment, BLOCK_SIZE, DIRECT_API_VOLUME, Instance, InstanceSpec, SnapshotState, Tags, Volume,
    VolumeSpec,
};
pub use server::Ec2Server;

use faults::Faults;
use model::Model;

/// An EC2 error: its code (`InvalidSnapshot.NotFound`…), message and HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Ec2Error {
    pub code: String,
    pub message: String,
    pub status: u16,
}

impl Ec2Error {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Ec2Error {
            code: code.to_string(),
            message: message.into(),
            status: 400,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn snapshot_not_found(id: &str) -> Self {
        Ec2Error::new(
            "InvalidSnapshot.NotFound",
            format!("The snapshot '{id}' does not exist."),
        )
    }

    pub fn volume_not_found(id: &str) -> Self {
        Ec2Error::new(
            "InvalidVolume.NotFound",
            format!("The volume '{id}' does not exist."),
        )
    }

    pub fn instance_not_found(id: &str) -> Self {
        Ec2Error::new(
            "InvalidInstanceID.NotFound",
            format!("The instance ID '{id}' does not exist"),
        )
    }

    pub fn invalid_value(message: impl Into<String>) -> Self {
        Ec2Error::new("InvalidParameterValue", message)
    }

    pub fn missing(parameter: &str) -> Self {
        Ec2Error::new(
            "MissingParameter",
            format!("The request must contain the parameter {parameter}"),
        )
    }
}

/// A snapshot as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotView {
    pub id: String,
    pub volume_id: String,
    pub state: SnapshotState,
    pub progress: u8,
    pub message: Option<String>,
    pub started: Timestamp,
    pub volume_size_gib: i32,
    pub tags: Tags,
    /// The indexes of the blocks it holds.
    pub blocks: Vec<u64>,
}

pub(crate) struct State {
    pub model: Model,
    pub faults: Faults,
    /// How far the model's clock is ahead of the wall clock ([`Ec2::advance`]).
    offset: SignedDuration,
    calls: Vec<Call>,
}

impl State {
    pub fn now(&self) -> Timestamp {
        Timestamp::now() + self.offset
    }
}

struct Inner {
    config: Ec2Config,
    state: Mutex<State>,
}

/// The emulated region: a cheap handle shared by the server, the sandbox and tests.
#[derive(Clone)]
pub struct Ec2 {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Ec2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Ec2")
            .field("region", &self.inner.config.region)
            .field("instances", &s.model.instances.len())
            .field("volumes", &s.model.volumes.len())
            .field("snapshots", &s.model.snapshots.len())
            .field("faults", &s.faults)
            .finish()
    }
}

impl Ec2 {
    pub fn new(config: Ec2Config) -> Ec2 {
        let faults = Faults::new(&config);
        Ec2 {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State {
                    model: Model::default(),
                    faults,
                    offset: SignedDuration::ZERO,
                    calls: Vec::new(),
                }),
            }),
        }
    }

    pub fn config(&self) -> &Ec2Config {
        &self.inner.config
    }

    /// The availability zone `<region><letter>` (`us-west-2a`).
    pub fn zone(&self, letter: char) -> String {
        format!("{}{letter}", self.inner.config.region)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The model's clock: the wall clock plus every [`Ec2::advance`].
    pub fn now(&self) -> Timestamp {
        self.lock().now()
    }

    /// Moves the model's clock forward, so pending snapshots progress without waiting.
    pub fn advance(&self, by: Duration) {
        let by = SignedDuration::try_from(by).expect("a duration a clock can move by");
        self.lock().offset += by;
    }

    // Seeding.

    /// A running instance with its root volume; returns the instance id.
    pub fn run_instance(&self, spec: InstanceSpec) -> Result<String, Ec2Error> {
        let mut s = self.lock();
        let now = s.now();
        s.model.run_instance(spec, now)
    }

    /// An available volume; returns its id.
    pub fn create_volume(&self, spec: VolumeSpec) -> Result<String, Ec2Error> {
        let mut s = self.lock();
        let now = s.now();
        s.model.create_volume(spec, now)
    }

    pub fn attach_volume(
        &self,
        volume: &str,
        instance: &str,
        device: &str,
    ) -> Result<(), Ec2Error> {
        let mut s = self.lock();
        let now = s.now();
        s.model
            .attach(volume, instance, device, false, now)
            .map(|_| ())
    }

    /// Simulates data written to `blocks` (512 KiB each) of a volume: later snapshots hold
    /// them, and differ from earlier ones there.
    pub fn write_blocks(
        &self,
        volume: &str,
        blocks: impl IntoIterator<Item = u64>,
    ) -> Result<(), Ec2Error> {
        self.lock().model.write_blocks(volume, blocks)
    }

    /// Simulates blocks of a volume discarded (trimmed): later snapshots do not hold them.
    pub fn discard_blocks(
        &self,
        volume: &str,
        blocks: impl IntoIterator<Item = u64>,
    ) -> Result<(), Ec2Error> {
        self.lock().model.discard_blocks(volume, blocks)
    }

    /// A snapshot of `volume` with `tags`, as CreateSnapshot would make it (the limits and
    /// the fault switches apply); returns its id.
    pub fn snapshot_volume(&self, volume: &str, tags: Tags) -> Result<String, Ec2Error> {
        let mut s = self.lock();
        let now = s.now();
        let State { model, faults, .. } = &mut *s;
        let ids =
            model.snapshot_volumes(&[volume.to_string()], "", |_| tags.clone(), faults, now)?;
        Ok(ids.into_iter().next().expect("one volume, one snapshot"))
    }

    /// Adds or replaces a tag of a snapshot, volume or instance.
    pub fn tag(&self, resource: &str, key: &str, value: &str) -> Result<(), Ec2Error> {
        self.lock()
            .model
            .tags_of(resource)?
            .insert(key.to_string(), value.to_string());
        Ok(())
    }

    // Observing.

    pub fn instances(&self) -> Vec<Instance> {
        self.lock().model.instances.values().cloned().collect()
    }

    pub fn volumes(&self) -> Vec<Volume> {
        self.lock().model.volumes.values().cloned().collect()
    }

    /// Every snapshot, in id order, as it is at [`Ec2::now`].
    pub fn snapshots(&self) -> Vec<SnapshotView> {
        let s = self.lock();
        let now = s.now();
        s.model
            .snapshots
            .values()
            .map(|snap| {
                let status = snap.status(now);
                SnapshotView {
                    id: snap.id.clone(),
                    volume_id: snap.volume_id.clone(),
                    state: status.state,
                    progress: status.progress,
                    message: status.message,
                    started: snap.started,
                    volume_size_gib: snap.volume_size_gib,
                    tags: snap.tags.clone(),
                    blocks: snap.blocks.keys().copied().collect(),
                }
            })
            .collect()
    }

    pub fn snapshot(&self, id: &str) -> Option<SnapshotView> {
        self.snapshots().into_iter().find(|s| s.id == id)
    }

    // Faults.

    /// How long snapshots made from now on stay pending; zero completes them at once.
    pub fn set_snapshot_duration(&self, duration: Duration) {
        self.lock().faults.snapshot_duration = duration;
    }

    /// The next `n` snapshots end in `error` with `message` as their state message.
    pub fn fail_next_snapshots(&self, n: usize, message: &str) {
        let mut s = self.lock();
        s.faults.fail_snapshots = n;
        s.faults.fail_message = message.to_string();
    }

    /// At most `limit` snapshots pending at once in the region; more are refused with
    /// `PendingSnapshotLimitExceeded`.
    pub fn set_pending_limit(&self, limit: Option<usize>) {
        self.lock().faults.pending_limit = limit;
    }

    /// At most `limit` unfinished snapshots per volume; more are refused with
    /// `ConcurrentSnapshotLimitExceeded`.
    pub fn set_volume_pending_limit(&self, limit: Option<usize>) {
        self.lock().faults.volume_pending_limit = limit;
    }

    /// CreateSnapshots of `instance` is refused with `UnauthorizedOperation` (as when the
    /// caller's policy does not cover that instance); `None` allows it again.
    pub fn deny_create_snapshots(&self, instance: &str, message: Option<&str>) {
        let denied = &mut self.lock().faults.denied_instances;
        match message {
            Some(m) => denied.insert(instance.to_string(), m.to_string()),
            None => denied.remove(instance),
        };
    }

    pub fn set_throttle(&self, throttle: Option<Throttle>) {
        self.lock().faults.set_throttle(throttle);
    }

    // Calls.

    /// Every call answered so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many calls of `operation` were answered (throttled and failed ones included).
    pub fn count(&self, operation: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Takes a throttling token for `operation` (false: throttled).
    pub(crate) fn admit(&self, operation: &str) -> bool {
        self.lock().faults.admit(operation, Instant::now())
    }

    pub(crate) fn record(&self, operation: &str, error: Option<&str>, principal: Option<String>) {
        self.lock().calls.push(Call {
            operation: operation.to_string(),
            at: Instant::now(),
            error: error.map(str::to_string),
            principal,
        });
    }
}
