//! Writing the Backup's status and Events.
//!
//! The operator writes the same status (`Scheduled`, `RetryFailed`, `backoffRetryStatus`, …),
//! so every write is read → change → JSON merge patch of the status subresource carrying the
//! `metadata.resourceVersion` that was read; a 409 means someone wrote in between, so the
//! change is recomputed on the fresh object. Neither writer clobbers the other, and
//! `status.phase` stays "the type of the latest condition" (`set_condition`).

use std::time::Duration;
use tibr_runtime::events::Recorder;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
    runtime::events::{Event, EventType, Reporter as EventReporter},
};
use serde_json::json;
use tibr_api::{Backup, pingcap::v1alpha1::BackupStatus};
use tibr_core::backup::status::{NewCondition, set_condition};

use crate::secrets::Secrets;

/// The field manager of every write the agent makes.
pub const FIELD_MANAGER: &str = "tibr-agent";

/// Attempts before a write that keeps conflicting is given up.
const MAX_ATTEMPTS: u32 = 10;

/// One Backup's status and Events.
#[derive(Clone)]
pub struct StatusWriter {
    api: Api<Backup>,
    name: String,
    reference: ObjectReference,
    recorder: Recorder,
    secrets: Secrets,
}

impl StatusWriter {
    pub fn new(client: kube::Client, backup: &Backup, secrets: Secrets) -> Self {
        let namespace = backup.metadata.namespace.clone().unwrap_or_default();
        StatusWriter {
            api: Api::namespaced(client.clone(), &namespace),
            name: backup.metadata.name.clone().unwrap_or_default(),
            reference: backup.object_ref(&()),
            recorder: Recorder::new(
                client,
                EventReporter {
                    controller: FIELD_MANAGER.into(),
                    instance: std::env::var("HOSTNAME").ok(),
                },
            ),
            secrets,
        }
    }

    pub fn api(&self) -> &Api<Backup> {
        &self.api
    }

    /// Reads the Backup.
    pub async fn get(&self) -> Result<Backup, kube::Error> {
        self.api.get(&self.name).await
    }

    /// Applies `change` to the freshest status and writes it, retrying on conflicts. `change`
    /// returns whether it changed anything (nothing is written otherwise). Returns the object
    /// as written (or as read, when nothing changed).
    pub async fn update(
        &self,
        mut change: impl FnMut(&mut BackupStatus, Option<i64>, jiff::Timestamp) -> bool,
    ) -> Result<Backup, kube::Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.get().await?;
            let mut status = current.status.clone().unwrap_or_default();
            if !change(
                &mut status,
                current.metadata.generation,
                jiff::Timestamp::now(),
            ) {
                return Ok(current);
            }
            let patch = json!({
                "metadata": {"resourceVersion": current.metadata.resource_version},
                "status": status,
            });
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PatchParams::default()
            };
            match self
                .api
                .patch_status(&self.name, &params, &Patch::Merge(&patch))
                .await
            {
                Ok(written) => return Ok(written),
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, "status changed meanwhile, writing again");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Records one condition (and its phase).
    pub async fn condition(&self, new: NewCondition) -> Result<Backup, kube::Error> {
        let new = self.scrubbed(new);
        self.update(|status, generation, now| set_condition(status, new.clone(), generation, now))
            .await
    }

    /// The condition with any secret value blanked from its message.
    pub fn scrubbed(&self, mut new: NewCondition) -> NewCondition {
        new.message = new.message.map(|m| self.secrets.scrub(&m));
        new
    }

    /// Publishes an Event on the Backup; failures are logged, never fatal (Events are for
    /// humans, the status is the record).
    pub async fn event(&self, warning: bool, reason: &str, action: &str, note: &str) {
        let mut note = self.secrets.scrub(note);
        if note.len() > 1000 {
            let mut cut = 1000;
            while !note.is_char_boundary(cut) {
                cut -= 1;
            }
            note.truncate(cut);
            note.push('…');
        }
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(note),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &self.reference).await {
            tracing::warn!(reason, error = %e, "could not publish an Event");
        }
    }
}
