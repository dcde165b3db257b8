//! What the EC2 tests share: the two servers the contract holds (moto's and the emulator),
//! clients for them (tibr-ebs, and the raw SDKs for seeding), and seeding an instance with
//! volumes or a snapshot written block by block, identically on both.
#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_sdk_ec2::types::{Placement, ResourceType, Tag, TagSpecification, VolumeType};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use tibr_cloud_sim::{
    cloud::{ACCOUNT_ID, CredentialStore},
    ec2::{Ec2, Ec2Config, Ec2Server},
};
use tibr_ebs::{CloudConfig, Keys};

pub const REGION: &str = "us-west-2";
pub const ZONE: &str = "us-west-2a";
/// What the EBS direct API reports as a block's size (512 KiB); moto says 512 bytes.
pub const AWS_BLOCK_SIZE: i32 = 524_288;

const MOTO_ENDPOINT_VAR: &str = "TIBR_TEST_MOTO_ENDPOINT";

/// A server the contract is held against.
pub struct Target {
    pub name: &'static str,
    pub endpoint: String,
    pub keys: Keys,
    /// The emulator's server; `None` for moto.
    pub server: Option<Ec2Server>,
    pub credentials: Arc<CredentialStore>,
}

impl Target {
    /// moto_server at `TIBR_TEST_MOTO_ENDPOINT`; fails (never skips) when it is not set.
    pub fn moto() -> Target {
        let endpoint = match std::env::var(MOTO_ENDPOINT_VAR) {
            Ok(e) if !e.is_empty() => e.trim_end_matches('/').to_string(),
            _ => panic!(
                "{MOTO_ENDPOINT_VAR} is not set: this test needs moto_server. Run ./scripts/test \
                 (it starts moto and sets the variable), or start `.venv/bin/moto_server -H \
                 127.0.0.1 -p PORT` and export {MOTO_ENDPOINT_VAR}=http://127.0.0.1:PORT"
            ),
        };
        Target {
            name: "moto",
            endpoint,
            // moto checks no signature.
            keys: Keys {
                access_key_id: "AKIAMOTOTESTKEY00000".into(),
                secret_access_key: "moto-test-secret-not-checked-0000000000".into(),
                session_token: None,
            },
            server: None,
            credentials: Arc::new(CredentialStore::default()),
        }
    }

    /// The emulator with snapshots pending for 300 ms, a static key in its store.
    pub async fn emulator() -> Target {
        let mut config = Ec2Config::new(ACCOUNT_ID, REGION);
        config.snapshot_duration = Duration::from_millis(300);
        Target::emulator_with(config).await
    }

    pub async fn emulator_with(config: Ec2Config) -> Target {
        let credentials = Arc::new(CredentialStore::default());
        credentials.add_static(
            "AKIAEC2TEST000000001",
            "ec2-test-secret-0000000000000000000000",
            "user/test",
        );
        let server = Ec2Server::start(Ec2::new(config), credentials.clone(), None)
            .await
            .unwrap();
        Target {
            name: "emulator",
            endpoint: server.endpoint(),
            keys: Keys {
                access_key_id: "AKIAEC2TEST000000001".into(),
                secret_access_key: "ec2-test-secret-0000000000000000000000".into(),
                session_token: None,
            },
            server: Some(server),
            credentials,
        }
    }

    /// The emulator's model (only the emulator has one).
    pub fn ec2(&self) -> &Ec2 {
        &self.server.as_ref().expect("the emulator").ec2
    }

    /// tibr-ebs, as the agent and BR's stand-in build it.
    pub async fn cloud(&self) -> tibr_ebs::Cloud {
        self.cloud_with(self.keys.clone()).await
    }

    pub async fn cloud_with(&self, keys: Keys) -> tibr_ebs::Cloud {
        tibr_ebs::Cloud::from_config(&CloudConfig {
            region: Some(REGION.into()),
            ec2_endpoint: Some(self.endpoint.clone()),
            ebs_endpoint: Some(self.endpoint.clone()),
            keys: Some(keys),
        })
        .await
    }

    /// The SDKs' own clients, without retries (so a test sees every error).
    pub async fn sdk(&self) -> (aws_sdk_ec2::Client, aws_sdk_ebs::Client) {
        self.sdk_with(&self.keys).await
    }

    pub async fn sdk_with(&self, keys: &Keys) -> (aws_sdk_ec2::Client, aws_sdk_ebs::Client) {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .retry_config(RetryConfig::disabled())
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                keys.access_key_id.clone(),
                keys.secret_access_key.clone(),
                keys.session_token.clone(),
                None,
                "test",
            ))
            .load()
            .await;
        let ec2 = aws_sdk_ec2::config::Builder::from(&shared)
            .endpoint_url(&self.endpoint)
            .build();
        let ebs = aws_sdk_ebs::config::Builder::from(&shared)
            .endpoint_url(&self.endpoint)
            .build();
        (
            aws_sdk_ec2::Client::from_conf(ec2),
            aws_sdk_ebs::Client::from_conf(ebs),
        )
    }
}

/// A name no other test run uses (moto's server may be shared).
pub fn unique(stem: &str) -> String {
    format!(
        "{stem}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn tags(resource: ResourceType, pairs: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            pairs
                .iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

/// An instance and its volumes as seeded.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub instance: String,
    pub root_device: String,
    pub root_volume: String,
    /// Attached at `/dev/sdf`, `/dev/sdg`, `/dev/sdh`, tagged `pv=<run>-<n>`.
    pub data: Vec<String>,
}

/// An instance (with the root volume the service gives it) and three data volumes of 10, 11
/// and 12 GiB attached to it, through the EC2 API.
pub async fn seed_instance(ec2: &aws_sdk_ec2::Client, run: &str) -> Seeded {
    let out = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .instance_type(aws_sdk_ec2::types::InstanceType::M5Large)
        .placement(Placement::builder().availability_zone(ZONE).build())
        .send()
        .await
        .expect("RunInstances");
    let instance = out.instances()[0].instance_id().unwrap().to_string();
    let mut data = Vec::new();
    for (n, device) in ["/dev/sdf", "/dev/sdg", "/dev/sdh"].iter().enumerate() {
        let pv = format!("{run}-{n}");
        let v = ec2
            .create_volume()
            .availability_zone(ZONE)
            .size(10 + n as i32)
            .volume_type(VolumeType::Gp3)
            .tag_specifications(tags(
                ResourceType::Volume,
                &[("pv", pv.as_str()), ("contract-run", run)],
            ))
            .send()
            .await
            .expect("CreateVolume");
        let id = v.volume_id().unwrap().to_string();
        ec2.attach_volume()
            .volume_id(&id)
            .instance_id(&instance)
            .device(*device)
            .send()
            .await
            .expect("AttachVolume");
        data.push(id);
    }
    let described = ec2
        .describe_instances()
        .instance_ids(&instance)
        .send()
        .await
        .expect("DescribeInstances");
    let i = &described.reservations()[0].instances()[0];
    let root_device = i.root_device_name().expect("a root device").to_string();
    let root_volume = i
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == Some(root_device.as_str()))
        .and_then(|m| m.ebs()?.volume_id())
        .expect("the root device is mapped to a volume")
        .to_string();
    Seeded {
        instance,
        root_device,
        root_volume,
        data,
    }
}

/// Block `index`'s data: 512 KiB of one byte value.
pub fn block_data(fill: u8) -> Vec<u8> {
    vec![fill; AWS_BLOCK_SIZE as usize]
}

/// A 1 GiB snapshot written through the EBS direct API with `blocks` (index, fill byte).
pub async fn direct_snapshot(ebs: &aws_sdk_ebs::Client, blocks: &[(i32, u8)], run: &str) -> String {
    let started = ebs
        .start_snapshot()
        .volume_size(1)
        .description(run)
        .tags(
            aws_sdk_ebs::types::Tag::builder()
                .key("contract-run")
                .value(run)
                .build(),
        )
        .send()
        .await
        .expect("StartSnapshot");
    let id = started.snapshot_id().unwrap().to_string();
    for (index, fill) in blocks {
        let data = block_data(*fill);
        let checksum = STANDARD.encode(Sha256::digest(&data));
        ebs.put_snapshot_block()
            .snapshot_id(&id)
            .block_index(*index)
            .data_length(AWS_BLOCK_SIZE)
            .checksum(checksum)
            .checksum_algorithm(aws_sdk_ebs::types::ChecksumAlgorithm::ChecksumAlgorithmSha256)
            .block_data(aws_sdk_ebs::primitives::ByteStream::from(data))
            .send()
            .await
            .expect("PutSnapshotBlock");
    }
    ebs.complete_snapshot()
        .snapshot_id(&id)
        .changed_blocks_count(blocks.len() as i32)
        .send()
        .await
        .expect("CompleteSnapshot");
    id
}

/// Polls until every snapshot of `ids` is completed (or fails the test on `error`).
pub async fn wait_completed(
    cloud: &tibr_ebs::Cloud,
    ids: &[String],
) -> Vec<tibr_ebs::SnapshotInfo> {
    kube_emulator::testing::wait_until(30, "snapshots completed", || async {
        let found = cloud
            .snapshots_by_id(ids)
            .await
            .map_err(|e| e.to_string())?;
        assert!(
            found
                .iter()
                .all(|s| s.state != tibr_ebs::SnapshotState::Error),
            "{found:?}"
        );
        if found
            .iter()
            .all(|s| s.state == tibr_ebs::SnapshotState::Completed)
        {
            Ok(found)
        } else {
            Err(format!("{found:?}"))
        }
    })
    .await
}
