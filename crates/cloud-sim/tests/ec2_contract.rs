//! The EC2/EBS contract: one set of assertions, made through tibr-ebs (the client BR's
//! stand-in and the agent use), held against moto's server and against the sandbox's
//! emulator. Both are seeded through the API the same way (RunInstances, CreateVolume,
//! AttachVolume; StartSnapshot, PutSnapshotBlock, CompleteSnapshot).
//!
//! [`contract`] is what both keep. [`beyond_moto`] runs only against the emulator: it holds
//! what moto 5.2.5 does not do, each point with the place in moto's source that says so,
//! so that the emulator is the only witness there (docs/adr/0007-ec2-emulator-contract.md).

mod ec2_support;

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use ec2_support::{
    AWS_BLOCK_SIZE, Seeded, Target, ZONE, direct_snapshot, seed_instance, unique, wait_completed,
};
use tibr_ebs::{Deleted, SnapshotState};

/// What a run of the contract made, for the emulator-only assertions that follow it.
struct Made {
    run: String,
    seeded: Seeded,
    /// CreateSnapshots' answer: (volume, snapshot).
    created: Vec<(String, String)>,
    /// The snapshot written block by block.
    direct: String,
}

fn snapshot_of(created: &[(String, String)], volume: &str) -> String {
    created
        .iter()
        .find(|(v, _)| v == volume)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| panic!("no snapshot of {volume} in {created:?}"))
}

async fn contract(t: &Target) -> Made {
    let run = unique("contract");
    let cloud = t.cloud().await;
    let (ec2, ebs) = t.sdk().await;
    let seeded = seed_instance(&ec2, &run).await;
    let [v1, v2, v3] = <[String; 3]>::try_from(seeded.data.clone()).unwrap();
    let name = t.name;

    // DescribeInstances: the root device is the root volume's mapping; every volume is mapped.
    let described = ec2
        .describe_instances()
        .instance_ids(&seeded.instance)
        .send()
        .await
        .unwrap();
    let mappings: BTreeSet<String> = described.reservations()[0].instances()[0]
        .block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs()?.volume_id().map(str::to_string))
        .collect();
    let expected: BTreeSet<String> = [&seeded.root_volume, &v1, &v2, &v3]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(mappings, expected, "{name}");

    // DescribeVolumes by id, as BR finds a store's instance and the volumes' zones.
    let volumes = cloud
        .describe_volumes(&[v1.clone(), v2.clone()])
        .await
        .unwrap();
    assert_eq!(volumes.len(), 2, "{name}");
    for v in &volumes {
        assert_eq!(v.availability_zone, ZONE, "{name}");
        assert_eq!(
            v.instance_id.as_deref(),
            Some(seeded.instance.as_str()),
            "{name}"
        );
    }
    assert_eq!(
        volumes.iter().find(|v| v.volume_id == v2).unwrap().size_gib,
        11,
        "{name}"
    );
    // ... and by the instance they are attached to.
    let attached = ec2
        .describe_volumes()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(&seeded.instance)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let attached: BTreeSet<String> = attached
        .volumes()
        .iter()
        .filter_map(|v| v.volume_id().map(str::to_string))
        .collect();
    assert_eq!(attached, expected, "{name}");

    // CreateSnapshots for two of the data volumes, as BR asks for one TiKV's volumes.
    let added = [("backup".to_string(), run.clone())];
    let created: Vec<(String, String)> = cloud
        .create_snapshots(&seeded.instance, &[v1.clone(), v2.clone()], &added)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.volume_id, c.snapshot_id))
        .collect();
    let s1 = snapshot_of(&created, &v1);
    let s2 = snapshot_of(&created, &v2);
    assert!(
        created.iter().all(|(v, _)| *v != seeded.root_volume),
        "{name}: the boot volume is excluded: {created:?}"
    );
    let ids: Vec<String> = created.iter().map(|(_, s)| s.clone()).collect();

    // DescribeSnapshots by id: what was created, tagged, pending or completed, then completed.
    let found = cloud.snapshots_by_id(&ids).await.unwrap();
    assert_eq!(found.len(), ids.len(), "{name}");
    for s in &found {
        assert!(
            matches!(s.state, SnapshotState::Pending | SnapshotState::Completed),
            "{name}: {s:?}"
        );
        assert_eq!(s.tags.get("backup"), Some(&run), "{name}: {s:?}");
    }
    let completed = wait_completed(&cloud, &ids).await;
    for s in &completed {
        assert_eq!(s.progress, 100.0, "{name}: {s:?}");
        assert!(s.start_time.is_some(), "{name}: {s:?}");
    }
    assert_eq!(
        completed
            .iter()
            .find(|s| s.snapshot_id == s1)
            .unwrap()
            .size_gib,
        10,
        "{name}"
    );

    // By tag: exactly what CreateSnapshots answered.
    let tagged: BTreeSet<String> = cloud
        .snapshots_tagged(&added)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.snapshot_id)
        .collect();
    assert_eq!(tagged, ids.iter().cloned().collect(), "{name}");

    // By volume: the completed snapshots of v1, oldest first.
    let of_v1 = cloud.completed_snapshots_of(&v1).await.unwrap();
    assert_eq!(
        of_v1.iter().map(|s| &s.snapshot_id).collect::<Vec<_>>(),
        vec![&s1],
        "{name}"
    );

    // Pages: five more snapshots of v1 with the run's tag, read five at a time, give every
    // snapshot of the run once.
    let mut all: BTreeSet<String> = ids.iter().cloned().collect();
    for _ in 0..5 {
        let one = ec2
            .create_snapshot()
            .volume_id(&v1)
            .tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot)
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("backup")
                            .value(&run)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        all.insert(one.snapshot_id().unwrap().to_string());
    }
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ec2
            .describe_snapshots()
            .owner_ids("self")
            .filters(Filter::builder().name("tag:backup").values(&run).build())
            .max_results(5)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        paged.extend(
            page.snapshots()
                .iter()
                .map(|s| s.snapshot_id().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        paged.len(),
        all.len(),
        "{name}: no snapshot twice: {paged:?}"
    );
    assert_eq!(paged.into_iter().collect::<BTreeSet<_>>(), all, "{name}");

    // CreateTags: a tag added later is shown and can be searched for.
    cloud
        .tag(
            std::slice::from_ref(&s2),
            &[("checked".into(), run.clone())],
        )
        .await
        .unwrap();
    let checked = cloud
        .snapshots_tagged(&[("checked".into(), run.clone())])
        .await
        .unwrap();
    assert_eq!(checked.len(), 1, "{name}");
    assert_eq!(checked[0].snapshot_id, s2, "{name}");
    assert_eq!(checked[0].tags.get("backup"), Some(&run), "{name}");

    // DeleteSnapshot: gone, then NotFound (done, for the cleaner); unknown ids are errors.
    assert_eq!(
        cloud.delete_snapshot(&s1).await.unwrap(),
        Deleted::Yes,
        "{name}"
    );
    assert_eq!(
        cloud.delete_snapshot(&s1).await.unwrap(),
        Deleted::NotFound,
        "{name}"
    );
    let gone = cloud
        .snapshots_by_id(std::slice::from_ref(&s1))
        .await
        .unwrap_err();
    assert_eq!(gone.code, "InvalidSnapshot.NotFound", "{name}: {gone}");
    assert!(gone.is_not_found(), "{name}");
    let no_volume = cloud
        .describe_volumes(&["vol-0000000000000dead".into()])
        .await
        .unwrap_err();
    assert_eq!(
        no_volume.code, "InvalidVolume.NotFound",
        "{name}: {no_volume}"
    );
    let no_instance = cloud
        .create_snapshots("i-0000000000000dead", std::slice::from_ref(&v1), &[])
        .await
        .unwrap_err();
    assert_eq!(
        no_instance.code, "InvalidInstanceID.NotFound",
        "{name}: {no_instance}"
    );

    // ListSnapshotBlocks: the blocks of a snapshot written through the EBS direct API.
    let direct = direct_snapshot(&ebs, &[(0, 1), (5, 2), (9, 3)], &run).await;
    let listed = ebs
        .list_snapshot_blocks()
        .snapshot_id(&direct)
        .send()
        .await
        .unwrap();
    let indexes: Vec<i32> = listed
        .blocks()
        .iter()
        .filter_map(|b| b.block_index())
        .collect();
    assert_eq!(indexes, vec![0, 5, 9], "{name}");
    assert!(
        listed.blocks().iter().all(|b| b.block_token().is_some()),
        "{name}"
    );
    let block_size = listed.block_size().unwrap();
    assert_eq!(
        cloud.snapshot_bytes(&direct).await.unwrap(),
        3 * block_size as u64,
        "{name}"
    );
    let direct_info = cloud
        .snapshots_by_id(std::slice::from_ref(&direct))
        .await
        .unwrap();
    assert_eq!(direct_info[0].state, SnapshotState::Completed, "{name}");
    assert_eq!(
        direct_info[0].tags.get("contract-run"),
        Some(&run),
        "{name}"
    );

    Made {
        run,
        seeded,
        created,
        direct,
    }
}

/// What the emulator promises and moto 5.2.5 does not keep. Each assertion names the moto
/// gap (in `moto/ec2/models/elastic_block_store.py` and `moto/ebs/models.py` of moto 5.2.5).
async fn beyond_moto(t: &Target, made: &Made) {
    let cloud = t.cloud().await;
    let (ec2, ebs) = t.sdk().await;
    let [v1, v2, v3] = <[String; 3]>::try_from(made.seeded.data.clone()).unwrap();

    // moto's `create_snapshots` ignores ExcludeDataVolumeIds: it snapshots every non-root
    // volume. Here the third volume was excluded, exactly as BR asks.
    let volumes: BTreeSet<&String> = made.created.iter().map(|(v, _)| v).collect();
    assert_eq!(
        volumes,
        [&v1, &v2].into_iter().collect(),
        "{:?}",
        made.created
    );
    assert!(!volumes.contains(&v3));

    // moto's `create_snapshots` says "The CopyTagsFromSource-parameter is not yet
    // implemented". Here each snapshot carries its volume's tags beside the added one.
    let s2 = snapshot_of(&made.created, &v2);
    let shown = cloud
        .snapshots_by_id(std::slice::from_ref(&s2))
        .await
        .unwrap();
    assert_eq!(
        shown[0].tags.get("pv").map(String::as_str),
        Some(format!("{}-1", made.run).as_str())
    );
    assert_eq!(shown[0].tags.get("backup"), Some(&made.run));

    // moto's `describe_snapshots` ignores MaxResults: one page holds everything. Here a page
    // holds at most MaxResults and says where the next begins.
    let page = ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            Filter::builder()
                .name("tag:backup")
                .values(&made.run)
                .build(),
        )
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(page.snapshots().len(), 5);
    assert!(page.next_token().is_some());

    // moto's EBS snapshots have `block_size = 512`; AWS's blocks are 512 KiB.
    let listed = ebs
        .list_snapshot_blocks()
        .snapshot_id(&made.direct)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.block_size(), Some(AWS_BLOCK_SIZE));
    assert_eq!(listed.volume_size(), Some(1));

    // moto's `list_snapshot_blocks` and `list_changed_blocks` know only snapshots written
    // through the EBS direct API (answering 500 for CreateSnapshots' ones, ecosystem.md §3a),
    // and its changed blocks come from the first snapshot only. Here EC2's snapshots hold the
    // volume's blocks when they were taken (none were written to v2), and changed blocks
    // compare both snapshots.
    let v2_bytes = cloud
        .snapshot_bytes(&snapshot_of(&made.created, &v2))
        .await
        .unwrap();
    assert_eq!(v2_bytes, 0);
    // A second direct snapshot on top of the first: block 5 rewritten, 7 added.
    let child = ebs
        .start_snapshot()
        .volume_size(1)
        .parent_snapshot_id(&made.direct)
        .send()
        .await
        .unwrap()
        .snapshot_id()
        .unwrap()
        .to_string();
    for (index, fill) in [(5, 9u8), (7, 4)] {
        let data = ec2_support::block_data(fill);
        use base64::Engine;
        use sha2::Digest;
        ebs.put_snapshot_block()
            .snapshot_id(&child)
            .block_index(index)
            .data_length(AWS_BLOCK_SIZE)
            .checksum(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&data)))
            .checksum_algorithm(aws_sdk_ebs::types::ChecksumAlgorithm::ChecksumAlgorithmSha256)
            .block_data(aws_sdk_ebs::primitives::ByteStream::from(data))
            .send()
            .await
            .unwrap();
    }
    ebs.complete_snapshot()
        .snapshot_id(&child)
        .changed_blocks_count(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cloud.changed_bytes(&made.direct, &child).await.unwrap(),
        2 * AWS_BLOCK_SIZE as u64
    );
    assert_eq!(
        cloud.snapshot_bytes(&child).await.unwrap(),
        4 * AWS_BLOCK_SIZE as u64,
        "the parent's 0, 5, 9 and the child's 7"
    );
}

#[tokio::test]
async fn moto_keeps_the_contract() {
    contract(&Target::moto()).await;
}

#[tokio::test]
async fn the_emulator_keeps_the_contract_and_what_moto_does_not() {
    let t = Target::emulator().await;
    let made = contract(&t).await;
    beyond_moto(&t, &made).await;
}
