//! EC2's Query API: parameters as the SDKs flatten them (`SnapshotId.1`, `Filter.1.Value.1`,
//! `TagSpecification.1.Tag.1.Key`, `InstanceSpecification.ExcludeDataVolumeId.1`), one
//! function per action, filters with EC2's wildcards, and pages with opaque tokens.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jiff::Timestamp;

use super::{
    Ec2Error, State,
    model::{InstanceSpec, Snapshot, Tags, VolumeSpec, well_formed},
    xml::{self, el, set},
};

/// The parameters of one request.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Params(pairs)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, Ec2Error> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Ec2Error::missing(name))
    }

    /// `prefix.1`, `prefix.2`… in numeric order.
    fn list(&self, prefix: &str) -> Vec<String> {
        let mut found: Vec<(u32, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.strip_prefix('.')?.parse().ok()?;
                Some((n, v.clone()))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, v)| v).collect()
    }

    /// The numbers `n` of `prefix.n.…` parameters, in order.
    fn indexes(&self, prefix: &str) -> Vec<u32> {
        let mut ns: Vec<u32> = self
            .0
            .iter()
            .filter_map(|(k, _)| {
                let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
                rest.split('.').next()?.parse().ok()
            })
            .collect();
        ns.sort();
        ns.dedup();
        ns
    }

    fn bool(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn int(&self, name: &str) -> Result<Option<i64>, Ec2Error> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    Ec2Error::invalid_value(format!("Value ({v}) for parameter {name} is invalid"))
                })
            })
            .transpose()
    }

    /// `prefix.n.Key`/`prefix.n.Value` pairs.
    fn tags(&self, prefix: &str) -> Tags {
        self.indexes(prefix)
            .into_iter()
            .filter_map(|n| {
                let key = self.get(&format!("{prefix}.{n}.Key"))?;
                let value = self.get(&format!("{prefix}.{n}.Value")).unwrap_or_default();
                Some((key.to_string(), value.to_string()))
            })
            .collect()
    }

    /// The tags `TagSpecification`s give resources of `resource_type`.
    fn tag_specs(&self, resource_type: &str) -> Result<Tags, Ec2Error> {
        let mut tags = Tags::new();
        for n in self.indexes("TagSpecification") {
            let prefix = format!("TagSpecification.{n}");
            let kind = self
                .get(&format!("{prefix}.ResourceType"))
                .unwrap_or_default();
            if kind != resource_type {
                return Err(Ec2Error::invalid_value(format!(
                    "'{kind}' is not a valid taggable resource type for this operation."
                )));
            }
            tags.extend(self.tags(&format!("{prefix}.Tag")));
        }
        Ok(tags)
    }

    fn filters(&self) -> Vec<(String, Vec<String>)> {
        self.indexes("Filter")
            .into_iter()
            .filter_map(|n| {
                let name = self.get(&format!("Filter.{n}.Name"))?.to_string();
                Some((name, self.list(&format!("Filter.{n}.Value"))))
            })
            .collect()
    }
}

/// EC2's filter wildcards: `*` any run of characters, `?` one character.
fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// Whether a resource passes every filter; `field` gives a filter's values for it (`None`:
/// not a filter of this action).
fn passes(
    filters: &[(String, Vec<String>)],
    tags: &Tags,
    field: impl Fn(&str) -> Option<Vec<String>>,
) -> Result<bool, Ec2Error> {
    for (name, patterns) in filters {
        let values = if let Some(key) = name.strip_prefix("tag:") {
            tags.get(key).cloned().into_iter().collect()
        } else if name == "tag-key" {
            tags.keys().cloned().collect()
        } else {
            field(name)
                .ok_or_else(|| Ec2Error::invalid_value(format!("The filter '{name}' is invalid")))?
        };
        if !patterns.iter().any(|p| values.iter().any(|v| glob(p, v))) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// One page of `items` (in id order) after the `NextToken`, and the token of the next.
fn page<T>(
    items: Vec<(String, T)>,
    params: &Params,
    max: i64,
) -> Result<(Vec<T>, Option<String>), Ec2Error> {
    let after = match params.get("NextToken").filter(|t| !t.is_empty()) {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    Ec2Error::new(
                        "InvalidPaginationToken",
                        format!("The pagination token {token} is not valid"),
                    )
                })?,
        ),
        None => None,
    };
    let limit = match params.int("MaxResults")? {
        None => usize::MAX,
        Some(n) if n < 5 => {
            return Err(Ec2Error::invalid_value(format!(
                "Value ({n}) for parameter maxResults is invalid. It may not be less than 5"
            )));
        }
        Some(n) => usize::try_from(n.min(max)).unwrap_or(usize::MAX),
    };
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(id, _)| after.as_ref().is_none_or(|a| id > a))
        .collect();
    let next = (rest.len() > limit).then(|| URL_SAFE_NO_PAD.encode(&rest[limit - 1].0));
    rest.truncate(limit);
    Ok((rest.into_iter().map(|(_, t)| t).collect(), next))
}

fn next_token(token: Option<String>) -> String {
    token.map(|t| el("nextToken", t)).unwrap_or_default()
}

/// Runs `action` on the model; the result is the response's body (inside the envelope).
pub fn dispatch(
    action: &str,
    params: &Params,
    state: &mut State,
    account: &str,
    region: &str,
) -> Result<String, Ec2Error> {
    let now = state.now();
    if params.bool("DryRun") {
        return Err(Ec2Error::new(
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        )
        .with_status(412));
    }
    match action {
        "DescribeSnapshots" => describe_snapshots(params, state, account, now),
        "CreateSnapshots" => create_snapshots(params, state, account, now),
        "CreateSnapshot" => {
            let volume = params.required("VolumeId")?;
            let tags = params.tag_specs("snapshot")?;
            let description = params.get("Description").unwrap_or_default();
            let State { model, faults, .. } = state;
            let id = model.snapshot_volumes(
                &[volume.to_string()],
                description,
                |_| tags.clone(),
                faults,
                now,
            )?;
            Ok(xml::snapshot(&model.snapshots[&id[0]], account, now))
        }
        "DeleteSnapshot" => {
            state
                .model
                .delete_snapshot(params.required("SnapshotId")?)?;
            Ok(el("return", true))
        }
        "CreateTags" => {
            let resources = params.list("ResourceId");
            if resources.is_empty() {
                return Err(Ec2Error::missing("ResourceId"));
            }
            let tags = params.tags("Tag");
            for r in &resources {
                state.model.tags_of(r)?;
            }
            for r in &resources {
                state.model.tags_of(r)?.extend(tags.clone());
            }
            Ok(el("return", true))
        }
        "DescribeVolumes" => describe_volumes(params, state),
        "DescribeInstances" => describe_instances(params, state, account),
        "RunInstances" => {
            let zone = params
                .get("Placement.AvailabilityZone")
                .map(str::to_string)
                .unwrap_or_else(|| format!("{region}a"));
            let count = params.int("MinCount")?.unwrap_or(1).clamp(1, 100);
            let mut spec = InstanceSpec::new(&zone);
            if let Some(image) = params.get("ImageId") {
                spec.image_id = image.to_string();
            }
            if let Some(t) = params.get("InstanceType") {
                spec.instance_type = t.to_string();
            }
            spec.tags = params.tag_specs("instance")?;
            let mut ids = Vec::new();
            for _ in 0..count {
                ids.push(state.model.run_instance(spec.clone(), now)?);
            }
            let instances: Vec<_> = ids.iter().map(|id| &state.model.instances[id]).collect();
            let reservation = instances[0].reservation.clone();
            Ok(xml::reservation(
                &reservation,
                account,
                &instances,
                &state.model.volumes,
            ))
        }
        "CreateVolume" => {
            let zone = params.required("AvailabilityZone")?;
            let size = params
                .int("Size")?
                .ok_or_else(|| Ec2Error::missing("Size"))?;
            let mut spec = VolumeSpec::new(zone, i32::try_from(size).unwrap_or(i32::MAX));
            if let Some(t) = params.get("VolumeType") {
                spec.volume_type = t.to_string();
                if t != "gp3" {
                    spec.throughput = None;
                    spec.iops = None;
                }
            }
            if let Some(iops) = params.int("Iops")? {
                spec.iops = i32::try_from(iops).ok();
            }
            if let Some(t) = params.int("Throughput")? {
                spec.throughput = i32::try_from(t).ok();
            }
            spec.tags = params.tag_specs("volume")?;
            let id = state.model.create_volume(spec, now)?;
            Ok(xml::volume(&state.model.volumes[&id]))
        }
        "AttachVolume" => {
            let volume = params.required("VolumeId")?;
            let instance = params.required("InstanceId")?;
            let device = params.required("Device")?;
            let a = state.model.attach(volume, instance, device, false, now)?;
            Ok(xml::attachment(volume, &a, "attaching"))
        }
        other => Err(Ec2Error::new(
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        )),
    }
}

/// The owners a DescribeSnapshots asks for include this account.
fn owned_by_us(params: &Params, account: &str) -> bool {
    let owners = params.list("Owner");
    owners.is_empty() || owners.iter().any(|o| o == "self" || o == account)
}

fn describe_snapshots(
    params: &Params,
    state: &State,
    account: &str,
    now: Timestamp,
) -> Result<String, Ec2Error> {
    let ids = params.list("SnapshotId");
    if !ids.is_empty() && params.get("MaxResults").is_some() {
        return Err(Ec2Error::new(
            "InvalidParameterCombination",
            "The parameter snapshotSet cannot be used with the parameter maxResults",
        ));
    }
    for id in &ids {
        if !well_formed(id, "snap") {
            return Err(Ec2Error::new(
                "InvalidSnapshotID.Malformed",
                format!("Invalid id: \"{id}\" (expecting \"snap-...\")"),
            ));
        }
        state.model.snapshot(id)?;
    }
    let filters = params.filters();
    let mut found = Vec::new();
    if owned_by_us(params, account) {
        for s in state.model.snapshots.values() {
            if !ids.is_empty() && !ids.contains(&s.id) {
                continue;
            }
            if passes(&filters, &s.tags, |name| {
                snapshot_field(s, name, account, now)
            })? {
                found.push((s.id.clone(), xml::snapshot(s, account, now)));
            }
        }
    }
    let (items, next) = page(found, params, 1000)?;
    Ok(format!("{}{}", set("snapshotSet", items), next_token(next)))
}

fn snapshot_field(s: &Snapshot, name: &str, account: &str, now: Timestamp) -> Option<Vec<String>> {
    let status = s.status(now);
    let one = |v: String| Some(vec![v]);
    match name {
        "snapshot-id" => one(s.id.clone()),
        "volume-id" => one(s.volume_id.clone()),
        "status" => one(status.state.as_str().to_string()),
        "owner-id" => one(account.to_string()),
        "description" => one(s.description.clone()),
        "volume-size" => one(s.volume_size_gib.to_string()),
        "progress" => one(format!("{}%", status.progress)),
        "start-time" => one(xml::time(s.started)),
        "encrypted" => one("false".into()),
        "storage-tier" => one("standard".into()),
        _ => None,
    }
}

fn create_snapshots(
    params: &Params,
    state: &mut State,
    account: &str,
    now: Timestamp,
) -> Result<String, Ec2Error> {
    let instance = params.required("InstanceSpecification.InstanceId")?;
    if let Some(message) = state.faults.denied_instances.get(instance) {
        return Err(Ec2Error::new("UnauthorizedOperation", message.clone()).with_status(403));
    }
    let exclude_boot = params.bool("InstanceSpecification.ExcludeBootVolume");
    let exclude = params.list("InstanceSpecification.ExcludeDataVolumeId");
    let copy_tags = match params.get("CopyTagsFromSource") {
        None => false,
        Some("volume") => true,
        Some(other) => {
            return Err(Ec2Error::invalid_value(format!(
                "Value ({other}) for parameter CopyTagsFromSource is invalid"
            )));
        }
    };
    let added = params.tag_specs("snapshot")?;
    let description = params.get("Description").unwrap_or_default();
    let volumes = state
        .model
        .instance_volumes(instance, exclude_boot, &exclude)?;
    let State { model, faults, .. } = state;
    let ids = model.snapshot_volumes(
        &volumes,
        description,
        |v| {
            // Tags given in the request win over the volume's.
            let mut tags = if copy_tags {
                v.tags.clone()
            } else {
                Tags::new()
            };
            tags.extend(added.clone());
            tags
        },
        faults,
        now,
    )?;
    Ok(set(
        "snapshotSet",
        ids.iter()
            .map(|id| xml::snapshot_info(&model.snapshots[id], account, now)),
    ))
}

fn describe_volumes(params: &Params, state: &State) -> Result<String, Ec2Error> {
    let ids = params.list("VolumeId");
    for id in &ids {
        state.model.volume(id)?;
    }
    let filters = params.filters();
    let mut found = Vec::new();
    for v in state.model.volumes.values() {
        if !ids.is_empty() && !ids.contains(&v.id) {
            continue;
        }
        let field = |name: &str| -> Option<Vec<String>> {
            let a = v.attachment.as_ref();
            let of_attachment =
                |f: fn(&super::Attachment) -> String| a.map(f).into_iter().collect();
            Some(match name {
                "volume-id" => vec![v.id.clone()],
                "availability-zone" => vec![v.availability_zone.clone()],
                "size" => vec![v.size_gib.to_string()],
                "volume-type" => vec![v.volume_type.clone()],
                "status" => vec![if a.is_some() { "in-use" } else { "available" }.to_string()],
                "attachment.instance-id" => of_attachment(|a| a.instance.clone()),
                "attachment.device" => of_attachment(|a| a.device.clone()),
                "attachment.status" => of_attachment(|_| "attached".to_string()),
                "attachment.delete-on-termination" => {
                    of_attachment(|a| a.delete_on_termination.to_string())
                }
                "encrypted" => vec!["false".into()],
                _ => return None,
            })
        };
        if passes(&filters, &v.tags, field)? {
            found.push((v.id.clone(), xml::volume(v)));
        }
    }
    let (items, next) = page(found, params, 1000)?;
    Ok(format!("{}{}", set("volumeSet", items), next_token(next)))
}

fn describe_instances(params: &Params, state: &State, account: &str) -> Result<String, Ec2Error> {
    let ids = params.list("InstanceId");
    for id in &ids {
        state.model.instance(id)?;
    }
    let filters = params.filters();
    let mut by_reservation: BTreeMap<String, Vec<&super::Instance>> = BTreeMap::new();
    for i in state.model.instances.values() {
        if !ids.is_empty() && !ids.contains(&i.id) {
            continue;
        }
        let field = |name: &str| -> Option<Vec<String>> {
            Some(match name {
                "instance-id" => vec![i.id.clone()],
                "availability-zone" => vec![i.availability_zone.clone()],
                "image-id" => vec![i.image_id.clone()],
                "instance-type" => vec![i.instance_type.clone()],
                "instance-state-name" => vec!["running".into()],
                "reservation-id" => vec![i.reservation.clone()],
                "block-device-mapping.volume-id" => i.devices.values().cloned().collect(),
                "block-device-mapping.device-name" => i.devices.keys().cloned().collect(),
                _ => return None,
            })
        };
        if passes(&filters, &i.tags, field)? {
            by_reservation
                .entry(i.reservation.clone())
                .or_default()
                .push(i);
        }
    }
    let found = by_reservation
        .into_iter()
        .map(|(r, instances)| {
            let body = xml::reservation(&r, account, &instances, &state.model.volumes);
            (r, body)
        })
        .collect();
    let (items, next) = page(found, params, 1000)?;
    Ok(format!(
        "{}{}",
        set("reservationSet", items),
        next_token(next)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn flattened_lists_filters_and_tags() {
        let p = params(&[
            ("SnapshotId.2", "snap-b"),
            ("SnapshotId.10", "snap-c"),
            ("SnapshotId.1", "snap-a"),
            ("Filter.1.Name", "tag:backup"),
            ("Filter.1.Value.1", "x"),
            ("Filter.1.Value.2", "y"),
            ("TagSpecification.1.ResourceType", "snapshot"),
            ("TagSpecification.1.Tag.1.Key", "k"),
            ("TagSpecification.1.Tag.1.Value", "v"),
        ]);
        assert_eq!(p.list("SnapshotId"), vec!["snap-a", "snap-b", "snap-c"]);
        assert_eq!(
            p.filters(),
            vec![(
                "tag:backup".to_string(),
                vec!["x".to_string(), "y".to_string()]
            )]
        );
        assert_eq!(p.tag_specs("snapshot").unwrap()["k"], "v");
        assert!(p.tag_specs("volume").is_err());
    }

    #[test]
    fn wildcards() {
        assert!(glob("fed-*", "fed-backup-1"));
        assert!(glob("snap-?", "snap-1"));
        assert!(!glob("snap-?", "snap-12"));
        assert!(glob("*", ""));
        assert!(!glob("a", "b"));
    }

    #[test]
    fn pages_follow_their_tokens() {
        let items: Vec<(String, u32)> = (0..12).map(|i| (format!("id-{i:02}"), i)).collect();
        let (first, next) = page(items.clone(), &params(&[("MaxResults", "5")]), 1000).unwrap();
        assert_eq!(first, vec![0, 1, 2, 3, 4]);
        let token = next.unwrap();
        let (second, next) = page(
            items.clone(),
            &params(&[("MaxResults", "5"), ("NextToken", &token)]),
            1000,
        )
        .unwrap();
        assert_eq!(second, vec![5, 6, 7, 8, 9]);
        let token = next.unwrap();
        let (last, next) = page(
            items.clone(),
            &params(&[("MaxResults", "5"), ("NextToken", &token)]),
            1000,
        )
        .unwrap();
        assert_eq!((last, next), (vec![10, 11], None));
        assert_eq!(
            page(items.clone(), &params(&[("MaxResults", "4")]), 1000)
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
        assert_eq!(
            page(items, &params(&[("NextToken", "!!")]), 1000)
                .unwrap_err()
                .code,
            "InvalidPaginationToken"
        );
    }
}
