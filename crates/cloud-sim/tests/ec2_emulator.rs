//! The EC2 emulator's own promises, which moto has no counterpart for: SigV4 checked
//! against the credential store, snapshots that take time or fail, the pending-snapshot
//! limits, throttling, the call log tests prove pacing with, block lists of EC2's snapshots
//! and pages longer than tibr-ebs's. The contract shared with moto is in `ec2_contract.rs`.

mod ec2_support;

use std::time::Duration;

use ec2_support::{Target, seed_instance, unique};
use tibr_cloud_sim::ec2::{BLOCK_SIZE, SnapshotState as ModelState, Tags, Throttle};
use tibr_ebs::{Keys, SnapshotState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn code<T: std::fmt::Debug, E: aws_sdk_ec2::error::ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, aws_sdk_ec2::error::SdkError<E, aws_sdk_ec2::config::http::HttpResponse>>,
) -> (String, u16) {
    let e = r.expect_err("the call fails");
    let status = e.raw_response().map_or(0, |r| r.status().as_u16());
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_else(|| panic!("no service error: {e:?}"))
        .to_string();
    (code, status)
}

#[tokio::test]
async fn requests_are_signed_with_keys_the_cloud_issued() {
    let t = Target::emulator().await;
    let wrong_secret = Keys {
        secret_access_key: "not-the-secret".into(),
        ..t.keys.clone()
    };
    let (ec2, ebs) = t.sdk_with(&wrong_secret).await;
    assert_eq!(
        code(ec2.describe_snapshots().owner_ids("self").send().await),
        ("AuthFailure".into(), 401)
    );
    let e = ebs
        .list_snapshot_blocks()
        .snapshot_id("snap-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ebs::error::ProvideErrorMetadata::code(&e),
        Some("InvalidSignatureException"),
        "{e:?}"
    );

    let unknown = Keys {
        access_key_id: "AKIANOSUCHKEY0000000".into(),
        ..t.keys.clone()
    };
    let (ec2, ebs) = t.sdk_with(&unknown).await;
    assert_eq!(
        code(ec2.describe_volumes().send().await),
        ("AuthFailure".into(), 401)
    );
    let e = ebs
        .list_snapshot_blocks()
        .snapshot_id("snap-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ebs::error::ProvideErrorMetadata::code(&e),
        Some("UnrecognizedClientException")
    );

    // Temporary keys work with their session token, and not without it or once expired.
    let live = t
        .credentials
        .issue("assumed-role/user/test", Duration::from_secs(600));
    let with_token = Keys {
        access_key_id: live.access_key_id.clone(),
        secret_access_key: live.secret_access_key.clone(),
        session_token: Some(live.session_token.clone()),
    };
    let (ec2, _) = t.sdk_with(&with_token).await;
    ec2.describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .expect("a temporary key with its token");
    let (ec2, _) = t
        .sdk_with(&Keys {
            session_token: None,
            ..with_token.clone()
        })
        .await;
    assert_eq!(code(ec2.describe_volumes().send().await).0, "AuthFailure");
    let expired = t
        .credentials
        .issue("assumed-role/user/test", Duration::from_millis(0));
    let (ec2, ebs) = t
        .sdk_with(&Keys {
            access_key_id: expired.access_key_id.clone(),
            secret_access_key: expired.secret_access_key.clone(),
            session_token: Some(expired.session_token.clone()),
        })
        .await;
    assert_eq!(
        code(ec2.describe_volumes().send().await),
        ("RequestExpired".into(), 400)
    );
    let e = ebs
        .list_snapshot_blocks()
        .snapshot_id("snap-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ebs::error::ProvideErrorMetadata::code(&e),
        Some("ExpiredTokenException")
    );

    // No signature at all.
    let addr = t.server.as_ref().unwrap().addr;
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = "Action=DescribeSnapshots&Version=2016-11-15";
    raw.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.contains("<Code>MissingAuthenticationToken</Code>"),
        "{answer}"
    );

    // Every refusal is in the call log, under its operation.
    let calls = t.ec2().calls();
    assert!(
        calls.iter().any(
            |c| c.operation == "DescribeSnapshots" && c.error.as_deref() == Some("AuthFailure")
        ),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.operation == "ListSnapshotBlocks"
            && c.error.as_deref() == Some("ExpiredTokenException")),
        "{calls:?}"
    );
}

/// An instance with three data volumes, seeded through the API.
async fn seeded(t: &Target) -> (String, Vec<String>) {
    let (ec2, _) = t.sdk().await;
    let s = seed_instance(&ec2, &unique("emulator")).await;
    (s.instance, s.data)
}

#[tokio::test]
async fn snapshots_are_pending_with_progress_then_completed() {
    let t = Target::emulator().await;
    t.ec2().set_snapshot_duration(Duration::from_secs(600));
    let cloud = t.cloud().await;
    let (instance, volumes) = seeded(&t).await;
    let created = cloud
        .create_snapshots(&instance, &volumes[..2], &[])
        .await
        .unwrap();
    let ids: Vec<String> = created.into_iter().map(|c| c.snapshot_id).collect();
    let at_start = cloud.snapshots_by_id(&ids).await.unwrap();
    for s in &at_start {
        assert_eq!(s.state, SnapshotState::Pending, "{s:?}");
        assert!(s.progress < 5.0, "{s:?}");
    }
    // The model's clock moves; nobody waits.
    t.ec2().advance(Duration::from_secs(300));
    let halfway = cloud.snapshots_by_id(&ids).await.unwrap();
    for s in &halfway {
        assert_eq!(s.state, SnapshotState::Pending, "{s:?}");
        assert!((45.0..=55.0).contains(&s.progress), "{s:?}");
    }
    t.ec2().advance(Duration::from_secs(301));
    for s in cloud.snapshots_by_id(&ids).await.unwrap() {
        assert_eq!(s.state, SnapshotState::Completed, "{s:?}");
        assert_eq!(s.progress, 100.0);
    }
    // Snapshots made after the switch complete at once.
    t.ec2().set_snapshot_duration(Duration::ZERO);
    let now = cloud
        .create_snapshots(&instance, &volumes[2..], &[])
        .await
        .unwrap();
    let s = cloud
        .snapshots_by_id(&[now[0].snapshot_id.clone()])
        .await
        .unwrap();
    assert_eq!(s[0].state, SnapshotState::Completed);
}

#[tokio::test]
async fn snapshots_made_to_fail_end_in_error_with_their_message() {
    let t = Target::emulator().await;
    let cloud = t.cloud().await;
    let (instance, volumes) = seeded(&t).await;
    t.ec2().fail_next_snapshots(1, "volume vanished");
    let created = cloud
        .create_snapshots(&instance, &volumes[..2], &[])
        .await
        .unwrap();
    let ids: Vec<String> = created.iter().map(|c| c.snapshot_id.clone()).collect();
    t.ec2().advance(Duration::from_secs(1));
    let found = cloud.snapshots_by_id(&ids).await.unwrap();
    let failed: Vec<_> = found
        .iter()
        .filter(|s| s.state == SnapshotState::Error)
        .collect();
    assert_eq!(failed.len(), 1, "{found:?}");
    assert_eq!(failed[0].state_message.as_deref(), Some("volume vanished"));
    assert_eq!(
        found
            .iter()
            .filter(|s| s.state == SnapshotState::Completed)
            .count(),
        1,
        "only the next one fails: {found:?}"
    );
    // A snapshot in error is found by status as such.
    let (ec2, _) = t.sdk().await;
    let errors = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("status")
                .values("error")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(errors.snapshots().len(), 1);
}

#[tokio::test]
async fn pending_snapshot_limits_refuse_new_snapshots_until_some_complete() {
    let t = Target::emulator().await;
    t.ec2().set_snapshot_duration(Duration::from_secs(60));
    let cloud = t.cloud().await;
    let (instance, volumes) = seeded(&t).await;
    t.ec2().set_pending_limit(Some(2));
    cloud
        .create_snapshots(&instance, &volumes[..2], &[])
        .await
        .unwrap();
    let refused = cloud
        .create_snapshots(&instance, &volumes[2..], &[])
        .await
        .unwrap_err();
    assert_eq!(refused.code, "PendingSnapshotLimitExceeded", "{refused}");
    t.ec2().advance(Duration::from_secs(61));
    cloud
        .create_snapshots(&instance, &volumes[2..], &[])
        .await
        .expect("room again once the first two completed");

    // Per volume: unfinished snapshots of one volume (in error too) count against it.
    t.ec2().set_pending_limit(None);
    t.ec2().set_volume_pending_limit(Some(1));
    let refused = cloud
        .create_snapshots(&instance, &volumes[2..], &[])
        .await
        .unwrap_err();
    assert_eq!(refused.code, "ConcurrentSnapshotLimitExceeded", "{refused}");
    assert_eq!(t.ec2().count("CreateSnapshots"), 4);
}

/// A caller whose policy does not cover one instance: its CreateSnapshots is refused with
/// 403 `UnauthorizedOperation` and creates nothing, other instances are unaffected.
#[tokio::test]
async fn create_snapshots_of_a_denied_instance_is_unauthorized() {
    let t = Target::emulator().await;
    let cloud = t.cloud().await;
    let (instance, volumes) = seeded(&t).await;
    t.ec2().deny_create_snapshots(
        &instance,
        Some("You are not authorized to perform this operation."),
    );
    let (ec2, _) = t.sdk().await;
    let spec = aws_sdk_ec2::types::InstanceSpecification::builder()
        .instance_id(&instance)
        .build();
    let (code_, status) = code(
        ec2.create_snapshots()
            .instance_specification(spec)
            .send()
            .await,
    );
    assert_eq!((code_.as_str(), status), ("UnauthorizedOperation", 403));
    assert!(t.ec2().snapshots().is_empty());
    t.ec2().deny_create_snapshots(&instance, None);
    cloud
        .create_snapshots(&instance, &volumes[..1], &[])
        .await
        .expect("allowed again");
}

#[tokio::test]
async fn throttled_calls_get_request_limit_exceeded_and_the_log_shows_pacing() {
    let t = Target::emulator().await;
    t.ec2().set_snapshot_duration(Duration::ZERO);
    let (instance, volumes) = seeded(&t).await;
    let cloud = t.cloud().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.extend(
            cloud
                .create_snapshots(&instance, &volumes, &[])
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.snapshot_id),
        );
    }
    t.ec2()
        .set_throttle(Some(Throttle::new(4.0).only(&["DeleteSnapshot"])));
    t.ec2().clear_calls();
    // Without retries, the second deletion in a row is refused as EC2 refuses it.
    let (ec2, _) = t.sdk().await;
    ec2.delete_snapshot()
        .snapshot_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(ec2.delete_snapshot().snapshot_id(&ids[1]).send().await),
        ("RequestLimitExceeded".into(), 503)
    );
    // Other operations are not throttled.
    cloud.snapshots_by_id(&ids[1..]).await.unwrap();
    // Paced below the rate (tibr-ebs's pacer, as the cleaner deletes), the rest go through
    // without one refusal, and the log shows the spacing. (Retrying into the throttle instead
    // costs tibr-ebs's adaptive retry a 20 s client-side wait per refusal.)
    t.ec2().clear_calls();
    let mut pacer = tibr_ebs::Pacer::new(3.0);
    // The refused call just now counts as the last one: the first paced one waits too.
    pacer.ready().await;
    for id in &ids[1..] {
        pacer.ready().await;
        assert_eq!(
            cloud.delete_snapshot(id).await.unwrap(),
            tibr_ebs::Deleted::Yes
        );
    }
    let calls = t.ec2().calls();
    assert!(calls.iter().all(|c| c.error.is_none()), "{calls:?}");
    assert_eq!(t.ec2().count("DeleteSnapshot"), ids.len() - 1);
    for pair in calls.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_millis(300), "{gap:?}");
    }
    assert!(t.ec2().snapshots().is_empty());

    // The EBS direct API throttles in its own words.
    t.ec2()
        .set_throttle(Some(Throttle::new(0.1).only(&["ListSnapshotBlocks"])));
    let (_, ebs) = t.sdk().await;
    let list = || {
        ebs.list_snapshot_blocks()
            .snapshot_id("snap-0123456789abcdef0")
            .send()
    };
    let first = list().await.unwrap_err();
    assert_eq!(
        aws_sdk_ebs::error::ProvideErrorMetadata::code(&first),
        Some("ResourceNotFoundException")
    );
    let second = list().await.unwrap_err();
    assert_eq!(
        aws_sdk_ebs::error::ProvideErrorMetadata::code(&second),
        Some("RequestThrottledException")
    );
}

#[tokio::test]
async fn block_lists_of_ec2_snapshots_follow_what_was_written() {
    let t = Target::emulator().await;
    t.ec2().set_snapshot_duration(Duration::ZERO);
    let (instance, volumes) = seeded(&t).await;
    let cloud = t.cloud().await;
    let volume = &volumes[0];
    t.ec2().write_blocks(volume, 0..4).unwrap();
    let snap = |cloud: tibr_ebs::Cloud| {
        let instance = instance.clone();
        let volume = volume.clone();
        async move {
            cloud
                .create_snapshots(&instance, &[volume], &[])
                .await
                .unwrap()
                .into_iter()
                .next()
                .unwrap()
                .snapshot_id
        }
    };
    let first = snap(cloud.clone()).await;
    // Later, so that "oldest first" (to the second, as tibr-ebs reads start times) is clear.
    t.ec2().advance(Duration::from_secs(2));
    // Block 2 rewritten, 10 new, 3 discarded.
    t.ec2().write_blocks(volume, [2, 10]).unwrap();
    t.ec2().discard_blocks(volume, [3]).unwrap();
    let second = snap(cloud.clone()).await;
    let block = u64::from(BLOCK_SIZE);
    assert_eq!(cloud.snapshot_bytes(&first).await.unwrap(), 4 * block);
    assert_eq!(cloud.snapshot_bytes(&second).await.unwrap(), 4 * block);
    // Changed: 2, 3 and 10; only 2 and 10 are in the second snapshot.
    assert_eq!(
        cloud.changed_bytes(&first, &second).await.unwrap(),
        2 * block
    );
    let (_, ebs) = t.sdk().await;
    let changed = ebs
        .list_changed_blocks()
        .first_snapshot_id(&first)
        .second_snapshot_id(&second)
        .send()
        .await
        .unwrap();
    let indexes: Vec<(i32, bool, bool)> = changed
        .changed_blocks()
        .iter()
        .map(|b| {
            (
                b.block_index().unwrap(),
                b.first_block_token().is_some(),
                b.second_block_token().is_some(),
            )
        })
        .collect();
    assert_eq!(
        indexes,
        vec![(2, true, true), (3, true, false), (10, false, true)]
    );

    // Snapshots of different volumes cannot be compared; pending ones cannot be read.
    let other = cloud
        .create_snapshots(&instance, &volumes[1..2], &[])
        .await
        .unwrap()[0]
        .snapshot_id
        .clone();
    let e = cloud.changed_bytes(&first, &other).await.unwrap_err();
    assert_eq!(e.code, "ValidationException", "{e}");
    t.ec2().set_snapshot_duration(Duration::from_secs(60));
    let pending = snap(cloud.clone()).await;
    let e = cloud.snapshot_bytes(&pending).await.unwrap_err();
    assert_eq!(e.code, "ValidationException", "{e}");
    // A pending snapshot is found by status, and by volume only once completed.
    let of_volume = cloud.completed_snapshots_of(volume).await.unwrap();
    assert_eq!(
        of_volume.iter().map(|s| &s.snapshot_id).collect::<Vec<_>>(),
        vec![&first, &second]
    );
    assert_eq!(
        t.ec2().snapshot(&pending).unwrap().state,
        ModelState::Pending
    );
}

#[tokio::test]
async fn listings_longer_than_a_page_are_read_whole() {
    let t = Target::emulator().await;
    t.ec2().set_snapshot_duration(Duration::ZERO);
    let (_, volumes) = seeded(&t).await;
    let cloud = t.cloud().await;
    // More snapshots than a DescribeSnapshots page (1000), seeded in process.
    let run = unique("pages");
    let tags: Tags = [("run".to_string(), run.clone())].into();
    for _ in 0..1003 {
        t.ec2().snapshot_volume(&volumes[0], tags.clone()).unwrap();
    }
    t.ec2().clear_calls();
    let found = cloud
        .snapshots_tagged(&[("run".into(), run.clone())])
        .await
        .unwrap();
    assert_eq!(found.len(), 1003);
    assert_eq!(t.ec2().count("DescribeSnapshots"), 2, "two pages");

    // More blocks than a ListSnapshotBlocks page (10 000): a 6 GiB volume, 10 050 blocks.
    let (ec2, _) = t.sdk().await;
    let big = ec2
        .create_volume()
        .availability_zone(ec2_support::ZONE)
        .size(6)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_string();
    t.ec2().write_blocks(&big, 0..10_050).unwrap();
    let snapshot = t.ec2().snapshot_volume(&big, Tags::new()).unwrap();
    assert_eq!(
        cloud.snapshot_bytes(&snapshot).await.unwrap(),
        10_050 * u64::from(BLOCK_SIZE)
    );
    assert_eq!(t.ec2().count("ListSnapshotBlocks"), 2, "two pages");
}
