use super::*;

fn url(bucket: &str, prefix: &str) -> String {
    Location::parse(bucket, prefix).unwrap().url("s3")
}

fn refused(bucket: &str, prefix: &str) -> LocationError {
    Location::parse(bucket, prefix).unwrap_err()
}

#[test]
fn bucket_sub_paths_move_into_the_prefix() {
    assert_eq!(url("my-bucket", "my-folder"), "s3://my-bucket/my-folder");
    let l = Location::parse("b/mid", "p").unwrap();
    assert_eq!((l.bucket(), l.prefix()), ("b", "mid/p"));
    assert_eq!(url("b/", "/a//c/"), "s3://b/a/c");
    assert_eq!(url("b", ""), "s3://b");
    assert_eq!(url("b", "/"), "s3://b");
    assert!(Location::parse("b", "//").unwrap().is_bucket_root());
    assert_eq!(
        url("b/x/", "y z"),
        "s3://b/x/y z",
        "spaces are plain key characters"
    );
}

/// The reports that lost data: each of these named a place other than the one cleaned.
#[test]
fn what_would_leave_the_named_location_is_refused() {
    for (bucket, prefix, part) in [
        ("my-bucket", "x/../keep", Part::Prefix),
        ("my-bucket/../safety", "p", Part::Bucket),
        ("my-bucket", "par/b/..", Part::Prefix),
        ("my-bucket", "..", Part::Prefix),
        ("my-bucket", "./p", Part::Prefix),
        ("..", "p", Part::Bucket),
        ("my-bucket", "p?versionId=1", Part::Prefix),
        ("my-bucket", "p#frag", Part::Prefix),
        ("my-bucket", "p%2F..%2Fother", Part::Prefix),
        ("my-bucket?x=1", "p", Part::Bucket),
        ("my-bucket", "p\nq", Part::Prefix),
        ("my-bucket", "p\u{7f}", Part::Prefix),
        ("", "p", Part::Bucket),
        ("/", "p", Part::Bucket),
        ("my bucket", "p", Part::Bucket),
        ("b:1", "p", Part::Bucket),
    ] {
        let e = refused(bucket, prefix);
        assert_eq!(e.part, part, "{bucket:?} {prefix:?}: {e}");
    }
    let e = refused("my-bucket", "x/../keep");
    assert!(
        e.to_string().starts_with("prefix: has a \"..\" segment"),
        "{e}"
    );
    let e = refused("my-bucket", "p?x");
    assert!(e.message.contains("starts a query"), "{e}");
}

#[test]
fn paths_read_back_under_the_same_rules() {
    let l = Location::from_url("s3://b/mid/p", "s3").unwrap();
    assert_eq!((l.bucket(), l.prefix()), ("b", "mid/p"));
    assert_eq!(Location::from_url("s3://b", "s3").unwrap().prefix(), "");
    for bad in [
        "s3://",
        "s3:///p",
        "gcs://b/p",
        "s3://b/../c",
        "b/p",
        "s3://b/p?q",
    ] {
        assert!(Location::from_url(bad, "s3").is_err(), "{bad}");
    }
    let l = Location::parse("b/x", "y").unwrap();
    assert_eq!(Location::from_url(&l.url("s3"), "s3").unwrap(), l);
}

#[test]
fn keys_are_held_segment_wise() {
    let l = Location::parse("b", "par/a").unwrap();
    assert!(l.holds_key("par/a/backupmeta"));
    assert!(l.holds_key("par/a"));
    assert!(!l.holds_key("par/ab/backupmeta"));
    assert!(!l.holds_key("par/b/x"));
    assert!(!l.holds_key("par"));
    let root = Location::parse("b", "").unwrap();
    assert!(root.holds_key("anything"));
}

#[test]
fn names_from_metadata_stay_inside() {
    let l = Location::parse("b", "p").unwrap();
    assert_eq!(l.key("backupmeta").as_deref(), Some("p/backupmeta"));
    assert_eq!(l.key("1/x.sst").as_deref(), Some("p/1/x.sst"));
    for bad in ["../q/backupmeta", "/abs", "a/../../x", ".", "", "a\u{0}"] {
        assert_eq!(l.key(bad), None, "{bad:?}");
    }
    let root = Location::parse("b", "").unwrap();
    assert_eq!(root.key("backupmeta").as_deref(), Some("backupmeta"));
}

#[test]
fn run_prefixes_join_without_resolving() {
    assert_eq!(
        join_prefix("my-folder", "demo1-pd.test1-2379-x"),
        "my-folder/demo1-pd.test1-2379-x"
    );
    assert_eq!(join_prefix("/a/b/", "c"), "a/b/c");
    assert_eq!(join_prefix("", "c"), "c");
    assert_eq!(join_prefix("a", ""), "a");
    assert_eq!(
        join_prefix("a/..", "c"),
        "a/../c",
        "refused later by Location::parse"
    );
}

/// Go's `path.Clean` of `bucket/prefix` without the leading slash: where a side that
/// resolves `.` and `..` (as TiDB Operator's clean does) would think the backup lives.
fn resolved(bucket: &str, prefix: &str) -> String {
    let joined = format!("{bucket}/{prefix}");
    let mut parts: Vec<&str> = Vec::new();
    for s in joined.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Every bucket and prefix up to four characters over an alphabet of the characters that
/// matter: whatever is accepted names one place for every reader. BR reads the URL
/// literally, a resolving reader cleans it, and the clean lists it: all three agree, the
/// bucket is the first segment the spec wrote, and `status.backupPath` reads back as the
/// same location.
#[test]
fn every_accepted_location_means_the_same_place_to_every_reader() {
    fn strings(alphabet: &[&str], max: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..max {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            out.extend(frontier.iter().cloned());
        }
        out
    }
    let prefixes = strings(&["a", ".", "/", "?", "%"], 4);
    let buckets = [
        "bkt", "bkt/", "bkt/.", "bkt/..", "bkt/a/..", "./bkt", "../bkt", "bkt?",
    ];
    let mut accepted = 0;
    for bucket in buckets {
        for prefix in &prefixes {
            let Ok(l) = Location::parse(bucket, prefix) else {
                continue;
            };
            accepted += 1;
            let literal = l.url("s3").trim_start_matches("s3://").to_string();
            assert_eq!(literal, resolved(bucket, prefix), "{bucket:?} {prefix:?}");
            assert_eq!(l.bucket(), bucket.split('/').next().unwrap(), "{bucket:?}");
            assert_eq!(Location::from_url(&l.url("s3"), "s3").as_ref(), Ok(&l));
            assert!(
                l.prefix().split('/').all(|s| !matches!(s, "." | "..")),
                "{bucket:?} {prefix:?}"
            );
        }
    }
    assert!(
        accepted > 100,
        "the alphabet reaches accepted locations ({accepted})"
    );
}
