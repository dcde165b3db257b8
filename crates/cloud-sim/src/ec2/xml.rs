//! EC2's XML: the response envelope, its error document, and the elements of instances,
//! volumes and snapshots, named as the EC2 API's `locationName`s (what the AWS SDKs read).

use jiff::Timestamp;

use super::{
    Ec2Error,
    model::{Attachment, Instance, Snapshot, Tags, Volume},
};
use crate::cloud::form::xml as esc;

pub const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// EC2's timestamps: ISO 8601 in UTC with milliseconds.
pub fn time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S.%3fZ").to_string()
}

/// `<name>value</name>`, the value escaped.
pub fn el(name: &str, value: impl std::fmt::Display) -> String {
    format!("<{name}>{}</{name}>", esc(&value.to_string()))
}

/// `<name><item>…</item>…</name>`.
pub fn set(name: &str, items: impl IntoIterator<Item = String>) -> String {
    let inner: String = items
        .into_iter()
        .map(|i| format!("<item>{i}</item>"))
        .collect();
    format!("<{name}>{inner}</{name}>")
}

pub fn tag_set(tags: &Tags) -> String {
    set(
        "tagSet",
        tags.iter()
            .map(|(k, v)| format!("{}{}", el("key", k), el("value", v))),
    )
}

/// A whole response: `<ActionResponse>` with a request id and `body`.
pub fn response(action: &str, request_id: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{action}Response xmlns=\"{NAMESPACE}\">{}{body}</{action}Response>",
        el("requestId", request_id)
    )
}

/// EC2's error document (`Response/Errors/Error` with `Code` and `Message`, and `RequestID`).
pub fn error(e: &Ec2Error, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>{}{}</Error></Errors>{}</Response>",
        el("Code", &e.code),
        el("Message", &e.message),
        el("RequestID", request_id)
    )
}

/// A snapshot as DescribeSnapshots and CreateSnapshot show it.
pub fn snapshot(s: &Snapshot, account: &str, now: Timestamp) -> String {
    let status = s.status(now);
    let mut out = String::new();
    out.push_str(&el("snapshotId", &s.id));
    out.push_str(&el("volumeId", &s.volume_id));
    out.push_str(&el("status", status.state.as_str()));
    if let Some(m) = &status.message {
        out.push_str(&el("statusMessage", m));
    }
    out.push_str(&el("startTime", time(s.started)));
    out.push_str(&el("progress", format!("{}%", status.progress)));
    out.push_str(&el("ownerId", account));
    out.push_str(&el("volumeSize", s.volume_size_gib));
    out.push_str(&el("description", &s.description));
    out.push_str(&el("encrypted", false));
    out.push_str(&el("storageTier", "standard"));
    out.push_str(&tag_set(&s.tags));
    out
}

/// A snapshot as CreateSnapshots lists it (`SnapshotInfo`: `state`, no message).
pub fn snapshot_info(s: &Snapshot, account: &str, now: Timestamp) -> String {
    let status = s.status(now);
    [
        el("description", &s.description),
        tag_set(&s.tags),
        el("encrypted", false),
        el("volumeId", &s.volume_id),
        el("state", status.state.as_str()),
        el("volumeSize", s.volume_size_gib),
        el("startTime", time(s.started)),
        el("progress", format!("{}%", status.progress)),
        el("ownerId", account),
        el("snapshotId", &s.id),
    ]
    .concat()
}

/// An attachment as AttachVolume and a volume's `attachmentSet` show it.
pub fn attachment(volume: &str, a: &Attachment, status: &str) -> String {
    [
        el("volumeId", volume),
        el("instanceId", &a.instance),
        el("device", &a.device),
        el("status", status),
        el("attachTime", time(a.at)),
        el("deleteOnTermination", a.delete_on_termination),
    ]
    .concat()
}

pub fn volume(v: &Volume) -> String {
    let mut out = [
        el("volumeId", &v.id),
        el("size", v.size_gib),
        el("snapshotId", ""),
        el("availabilityZone", &v.availability_zone),
        el(
            "status",
            if v.attachment.is_some() {
                "in-use"
            } else {
                "available"
            },
        ),
        el("createTime", time(v.created)),
        set(
            "attachmentSet",
            v.attachment
                .iter()
                .map(|a| attachment(&v.id, a, "attached")),
        ),
        el("volumeType", &v.volume_type),
        el("encrypted", false),
        el("multiAttachEnabled", false),
    ]
    .concat();
    if let Some(iops) = v.iops {
        out.push_str(&el("iops", iops));
    }
    if let Some(t) = v.throughput {
        out.push_str(&el("throughput", t));
    }
    if !v.tags.is_empty() {
        out.push_str(&tag_set(&v.tags));
    }
    out
}

pub fn instance(i: &Instance, volumes: &std::collections::BTreeMap<String, Volume>) -> String {
    let mappings = i.devices.iter().map(|(device, volume)| {
        let attached = volumes.get(volume).and_then(|v| v.attachment.as_ref());
        let ebs = [
            el("volumeId", volume),
            el("status", "attached"),
            el("attachTime", time(attached.map_or(i.launched, |a| a.at))),
            el(
                "deleteOnTermination",
                attached.is_some_and(|a| a.delete_on_termination),
            ),
        ]
        .concat();
        format!("{}<ebs>{ebs}</ebs>", el("deviceName", device))
    });
    [
        el("instanceId", &i.id),
        el("imageId", &i.image_id),
        "<instanceState><code>16</code><name>running</name></instanceState>".to_string(),
        el(
            "privateDnsName",
            format!(
                "ip-10-0-0-1.{}.compute.internal",
                region_of(&i.availability_zone)
            ),
        ),
        el("dnsName", ""),
        el("amiLaunchIndex", 0),
        el("instanceType", &i.instance_type),
        el("launchTime", time(i.launched)),
        format!(
            "<placement>{}{}</placement>",
            el("availabilityZone", &i.availability_zone),
            el("tenancy", "default")
        ),
        "<monitoring><state>disabled</state></monitoring>".to_string(),
        el("architecture", "x86_64"),
        el("rootDeviceType", "ebs"),
        el("rootDeviceName", &i.root_device),
        set("blockDeviceMapping", mappings),
        el("virtualizationType", "hvm"),
        el("hypervisor", "xen"),
        tag_set(&i.tags),
    ]
    .concat()
}

/// The region of an availability zone (`us-west-2a` -> `us-west-2`).
fn region_of(zone: &str) -> &str {
    zone.trim_end_matches(|c: char| c.is_ascii_alphabetic())
}

/// A reservation's fields: RunInstances answers with them at the top level, DescribeInstances
/// as items of `reservationSet`.
pub fn reservation(
    reservation: &str,
    account: &str,
    instances: &[&Instance],
    volumes: &std::collections::BTreeMap<String, Volume>,
) -> String {
    [
        el("reservationId", reservation),
        el("ownerId", account),
        "<groupSet/>".to_string(),
        set(
            "instancesSet",
            instances.iter().map(|i| instance(i, volumes)),
        ),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_times_read_as_ec2_writes_them() {
        let e = Ec2Error::snapshot_not_found("snap-0<1>");
        let doc = error(&e, "r-1");
        assert!(
            doc.contains("<Code>InvalidSnapshot.NotFound</Code>"),
            "{doc}"
        );
        assert!(doc.contains("snap-0&lt;1&gt;"), "{doc}");
        assert!(doc.contains("<RequestID>r-1</RequestID>"), "{doc}");
        let t: Timestamp = "2026-12-05T10:48:06.5Z".parse().unwrap();
        assert_eq!(time(t), "2026-12-05T10:48:06.500Z");
        assert_eq!(region_of("us-west-2a"), "us-west-2");
    }
}
