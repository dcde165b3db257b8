//! The sandbox as "the cloud" for Job pods, so the three ways TiDB Operator's users
//! grant AWS permissions work as on EKS with unchanged YAML:
//!
//! - static keys from a Secret: accepted by the embedded S3, which authenticates against
//!   the [`CredentialStore`] (`credentials`);
//! - kube2iam (pod annotation `iam.amazonaws.com/role`): the instance metadata
//!   emulator (`imds`), one endpoint per pod;
//! - IRSA (ServiceAccount annotation `eks.amazonaws.com/role-arn`): the pod identity
//!   webhook in the API emulator (`kube_emulator::pod_identity`), the kubelet's projected
//!   token, and the STS emulator (`sts`) trading that token for credentials.
//!
//! The same credentials reach the EC2/EBS emulator ([`crate::ec2`]), which the cloud starts
//! with the others.
//!
//! Where a real pod reaches AWS through DNS and public CAs, the kubelet adds
//! [`CloudEnv`] variables to every container process (never to the pod spec): the S3, STS,
//! EC2 and EBS endpoints, the metadata endpoint, and a CA bundle that trusts the sandbox CA.
//!
//! - `serve`: HTTP(S) listeners; `form`: query-protocol parameters and XML escaping.

pub mod credentials;
pub mod form;
pub mod imds;
pub mod serve;
pub mod sts;

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;

pub use credentials::{CredentialStore, S3Keys, TemporaryCredentials};
pub use imds::{MetadataService, PodRegistration, ROLE_ANNOTATION};

use kube_emulator::{Cluster, Tls};

use crate::ec2::{Ec2, Ec2Config, Ec2Server};

/// The account of the sandbox's cloud: the seed document's example account, so its
/// role ARNs (`arn:aws:iam::123456789012:role/user`) name roles of this account.
pub const ACCOUNT_ID: &str = "123456789012";

#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// Where the CA bundle pods trust is written.
    pub dir: PathBuf,
    pub region: String,
    pub account_id: String,
    /// How long instance-metadata credentials last (kube2iam: its session TTL).
    pub session_lifetime: Duration,
    /// The EC2/EBS emulator's account, region and fault switches.
    pub ec2: Ec2Config,
}

impl CloudConfig {
    pub fn new(dir: PathBuf, region: &str) -> Self {
        CloudConfig {
            dir,
            region: region.to_string(),
            account_id: ACCOUNT_ID.to_string(),
            session_lifetime: Duration::from_secs(3600),
            ec2: Ec2Config::new(ACCOUNT_ID, region),
        }
    }
}

/// What the kubelet adds to every container process: fixed variables, and a
/// per-pod instance-metadata endpoint.
#[derive(Debug, Clone, Default)]
pub struct CloudEnv {
    pub vars: Vec<(String, String)>,
    pub metadata: Option<MetadataService>,
}

/// The variables that make AWS clients use a metadata endpoint: the AWS SDKs' name and
/// object_store's.
pub const METADATA_ENDPOINT_VARS: [&str; 2] =
    ["AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_METADATA_ENDPOINT"];

pub struct Cloud {
    pub config: CloudConfig,
    pub credentials: Arc<CredentialStore>,
    pub metadata: MetadataService,
    /// A PEM file with the host's trusted CAs and the sandbox CA.
    pub ca_bundle: PathBuf,
    /// EC2 and the EBS direct API, one server for both.
    pub ec2: Ec2Server,
    metadata_server: serve::Served,
    sts_server: serve::Served,
}

impl std::fmt::Debug for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cloud")
            .field("metadata", &self.metadata_server.addr)
            .field("sts", &self.sts_server.addr)
            .field("ec2", &self.ec2.addr)
            .finish_non_exhaustive()
    }
}

/// The host's CA bundle, if it has one where Debian and most distributions keep it.
const SYSTEM_BUNDLES: [&str; 2] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

impl Cloud {
    /// Starts the metadata, STS and EC2/EBS emulators. `clusters` are the identity providers
    /// STS trusts; `credentials` is the store the S3 server authenticates against, and EC2.
    pub async fn start(
        config: CloudConfig,
        tls: &Tls,
        clusters: Vec<Arc<Cluster>>,
        credentials: Arc<CredentialStore>,
    ) -> anyhow::Result<Cloud> {
        std::fs::create_dir_all(&config.dir)
            .with_context(|| format!("creating {}", config.dir.display()))?;
        let mut bundle = SYSTEM_BUNDLES
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        if !bundle.is_empty() && !bundle.ends_with('\n') {
            bundle.push('\n');
        }
        bundle.push_str(&tls.ca_pem);
        let ca_bundle = config.dir.join("ca-bundle.pem");
        std::fs::write(&ca_bundle, bundle)
            .with_context(|| format!("writing {}", ca_bundle.display()))?;
        let (metadata, metadata_server) = MetadataService::start(
            credentials.clone(),
            &config.account_id,
            &config.region,
            config.session_lifetime,
        )
        .await?;
        let sts_server =
            sts::start(clusters, credentials.clone(), tls.server_config.clone()).await?;
        let ec2 = Ec2Server::start(
            Ec2::new(config.ec2.clone()),
            credentials.clone(),
            Some(tls.server_config.clone()),
        )
        .await?;
        Ok(Cloud {
            config,
            credentials,
            metadata,
            ca_bundle,
            ec2,
            metadata_server,
            sts_server,
        })
    }

    pub fn sts_endpoint(&self) -> String {
        self.sts_server.url(true)
    }

    pub fn metadata_endpoint(&self) -> String {
        self.metadata_server.url(false)
    }

    /// The EC2 and EBS endpoint for tools on the host (plain HTTP).
    pub fn ec2_endpoint(&self) -> String {
        self.ec2.endpoint()
    }

    /// The EC2 and EBS endpoint pods reach (HTTPS, as on AWS).
    pub fn ec2_tls_endpoint(&self) -> String {
        self.ec2
            .tls_endpoint()
            .expect("the cloud serves EC2 over TLS")
    }

    /// The kubelet hook for pods of this cloud, with S3 at `s3_endpoint` (HTTPS).
    pub fn pod_env(&self, s3_endpoint: &str) -> CloudEnv {
        let bundle = self.ca_bundle.display().to_string();
        let ec2 = self.ec2_tls_endpoint();
        CloudEnv {
            vars: vec![
                ("AWS_ENDPOINT_URL_S3".into(), s3_endpoint.to_string()),
                ("AWS_ENDPOINT_URL".into(), s3_endpoint.to_string()),
                ("AWS_ENDPOINT_URL_STS".into(), self.sts_endpoint()),
                ("AWS_ENDPOINT_URL_EC2".into(), ec2.clone()),
                ("AWS_ENDPOINT_URL_EBS".into(), ec2),
                ("AWS_CA_BUNDLE".into(), bundle.clone()),
                ("SSL_CERT_FILE".into(), bundle),
            ],
            metadata: Some(self.metadata.clone()),
        }
    }

    pub async fn stop(self) {
        self.metadata_server.stop().await;
        self.sts_server.stop().await;
        self.ec2.stop().await;
    }
}
