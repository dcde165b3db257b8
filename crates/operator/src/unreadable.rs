//! Objects in the API that cannot be read as their kind (see `tibr_core::unreadable`):
//! each is marked on its own status and named in a Warning Event, and lists leave it out
//! with a warning, so one such object stops nothing but itself.
//!
//! Everything here goes through `DynamicObject`: a typed request or response would fail
//! on the very field at fault.

use kube::{
    Api, Client, Resource,
    api::{ApiResource, DynamicObject, ListParams, Patch},
    core::error_boundary::InvalidObject,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tibr_api::{Backup, BackupSchedule};
use tibr_core::unreadable::{self, Unreadable};

use crate::{
    Context,
    error::{Error, is_conflict},
    events,
};

/// Builds the status change that records an unreadable object of a kind.
type StatusChange = fn(Option<&Value>, Option<i64>, &Unreadable, jiff::Timestamp) -> Option<Value>;

/// Marks the Backup `Invalid`, with a condition naming the field, and warns in an Event.
/// Returns the error that makes the controller wait for an edit.
pub async fn backup(ctx: &Context, invalid: &InvalidObject) -> Error {
    mark::<Backup>(ctx, "Backup", invalid, unreadable::backup_status).await
}

/// Marks the BackupSchedule not `Valid`, naming the field, and warns in an Event. Returns
/// the error that makes the controller wait for an edit.
pub async fn schedule(ctx: &Context, invalid: &InvalidObject) -> Error {
    mark::<BackupSchedule>(ctx, "BackupSchedule", invalid, unreadable::schedule_status).await
}

fn dynamic<K: Resource<DynamicType = ()>>(
    client: &Client,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<K>(&());
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

async fn mark<K>(
    ctx: &Context,
    kind: &'static str,
    invalid: &InvalidObject,
    status_change: StatusChange,
) -> Error
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let namespace = invalid.metadata.namespace.clone().unwrap_or_default();
    let name = invalid.metadata.name.clone().unwrap_or_default();
    let what = || format!("marking unreadable {kind} {namespace}/{name}");
    let api = dynamic::<K>(&ctx.client, Some(&namespace));
    // kube's error text does not name the field reliably: read the object again, raw.
    let object = match api.get_opt(&name).await {
        Ok(Some(object)) => object,
        Ok(None) => return events::unreadable_error(kind, &invalid.metadata, &invalid.error),
        Err(e) => return Error::kube(what(), e),
    };
    let raw = serde_json::to_value(&object).unwrap_or_default();
    let why = match unreadable::read::<K>(raw.clone()) {
        Err(why) => why,
        // Fixed since the watch saw it: the new version is on its way.
        Ok(_) => return Error::Conflict { what: what() },
    };
    let change = status_change(
        raw.get("status"),
        object.metadata.generation,
        &why,
        jiff::Timestamp::now(),
    );
    if let Some(status) = change {
        let patch = json!({
            "metadata": {"resourceVersion": object.metadata.resource_version},
            "status": status,
        });
        let params = crate::patch_params();
        match api
            .patch_status(&name, &params, &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(e) if is_conflict(&e) => return Error::kube(what(), e),
            // An API server may refuse any write to an object its current schema rejects;
            // the Event below still says what to fix.
            Err(e) => tracing::warn!(
                kind,
                namespace = %namespace,
                name = %name,
                error = %e,
                "could not record in the status that this {kind} cannot be read"
            ),
        }
    }
    events::unreadable(ctx, kind, &invalid.metadata, &why.to_string()).await
}

/// Objects per page of the lists below: a page, not the whole list, is held raw at once.
const PAGE: u32 = 500;

/// The `K`s `params` selects in `namespace` (`None`: every namespace), each read on its
/// own: one that cannot be read is left out with a warning that names it and the field at
/// fault, where a typed list would fail whole.
pub async fn list<K>(
    client: &Client,
    namespace: Option<&str>,
    params: &ListParams,
) -> Result<Vec<K>, kube::Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    list_filter_map(client, namespace, params, Some).await
}

/// As [`list`], keeping of each object only what `keep` makes of it, as each page is read:
/// thousands of completed Backups are looked at, not held.
pub async fn list_filter_map<K, T>(
    client: &Client,
    namespace: Option<&str>,
    params: &ListParams,
    keep: impl FnMut(K) -> Option<T>,
) -> Result<Vec<T>, kube::Error>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let mut keep = keep;
    let api = dynamic::<K>(client, namespace);
    let mut params = params.clone().limit(PAGE);
    let mut kept = Vec::new();
    loop {
        let page = api.list(&params).await?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        let raw = page
            .items
            .into_iter()
            .map(|o| serde_json::to_value(o).unwrap_or_default());
        let (read, skipped) = unreadable::read_each::<K>(raw);
        for s in skipped {
            tracing::warn!(
                kind = %K::kind(&()),
                namespace = %s.namespace,
                name = %s.name,
                "left out of a list: this {} cannot be read: {}",
                K::kind(&()),
                s.why
            );
        }
        kept.extend(read.into_iter().filter_map(&mut keep));
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(kept),
        }
    }
}
