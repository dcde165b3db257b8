use serde_json::json;

use super::*;

fn spec(s3: serde_json::Value) -> S3StorageProvider {
    serde_json::from_value(s3).unwrap()
}

fn target(s3: serde_json::Value) -> S3Target {
    s3_target(&spec(s3), "spec.s3").unwrap()
}

fn refused(s3: serde_json::Value) -> Vec<String> {
    s3_target(&spec(s3), "spec.s3")
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_seed_maps_field_for_field() {
    let t = target(
        json!({"provider": "aws", "secretName": "s3-secret", "region": "us-west-1",
        "bucket": "my-bucket", "prefix": "my-folder"}),
    );
    assert_eq!(t.backup_path(), "s3://my-bucket/my-folder");
    assert_eq!(t.region.as_deref(), Some("us-west-1"));
    assert_eq!((t.acl.as_deref(), t.storage_class.as_deref()), (None, None));
    assert_eq!(t.effective_acl(true), Some("private"));
    assert_eq!(t.effective_storage_class(true), Some("STANDARD_IA"));
    assert_eq!(t.effective_storage_class(false), None);
}

#[test]
fn path_style_rule() {
    let l = Location::parse("b", "").unwrap();
    let mut t = S3Target::new("aws", l);
    assert!(t.path_style());
    t.provider = "alibaba".into();
    assert!(!t.path_style());
    t.provider = "netease".into();
    assert!(!t.path_style());
    t.force_path_style = Some(true);
    assert!(t.path_style());
    t.provider = "ceph".into();
    t.force_path_style = Some(false);
    assert!(!t.path_style());
}

#[test]
fn provider_defaults_only_for_aws() {
    let t = target(json!({"provider": "ceph", "bucket": "b", "endpoint": "http://ceph:80"}));
    assert_eq!(
        (t.effective_acl(true), t.effective_storage_class(true)),
        (None, None)
    );
    let t = target(json!({"provider": "aws", "bucket": "bkt", "storageClass": "STANDARD"}));
    assert_eq!(t.effective_storage_class(true), Some("STANDARD"));
}

#[test]
fn ceph_endpoints_without_a_scheme_mean_http() {
    let t = target(json!({"provider": "ceph", "bucket": "b", "endpoint": "rook-ceph-rgw:80"}));
    assert_eq!(t.endpoint.as_deref(), Some("http://rook-ceph-rgw:80"));
    let e = refused(json!({"provider": "minio", "bucket": "b", "endpoint": "minio:9000"}));
    assert!(
        e[0].starts_with("spec.s3.endpoint: \"minio:9000\" is not a URL with a scheme"),
        "{e:?}"
    );
}

#[test]
fn every_rule_names_its_field() {
    let e = refused(json!({"provider": "", "bucket": "", "endpoint": "ftp://x",
        "acl": "public", "storageClass": "INTELLIGENT_TIERING", "sse": "none"}));
    let fields: Vec<&str> = e.iter().map(|m| m.split(':').next().unwrap()).collect();
    assert_eq!(
        fields,
        [
            "spec.s3.provider",
            "spec.s3.bucket",
            "spec.s3.endpoint",
            "spec.s3.acl",
            "spec.s3.storageClass",
            "spec.s3.sse"
        ],
        "{e:?}"
    );
    assert!(e[3].contains("bucket-owner-full-control"), "{e:?}");
    let e = s3_target(
        &spec(json!({"provider": "aws", "bucket": "b", "prefix": "x/../y"})),
        "spec.backupTemplate.s3",
    )
    .unwrap_err();
    assert_eq!(e[0].field, "spec.backupTemplate.s3.prefix");
}

#[test]
fn http_and_https_urls_with_a_host_pass() {
    for ok in [
        "http://minio.minio:9000",
        "https://s3.us-west-1.amazonaws.com",
        "HTTPS://storage.example.com/",
        "http://10.0.0.5:9000/path?x=1",
        "http://[fd00::5]:9000",
        "http://localhost",
    ] {
        assert_eq!(endpoint_problem(ok), None, "{ok}");
    }
}

#[test]
fn other_schemes_and_hostless_urls_are_refused() {
    for (bad, why) in [
        ("ftp://x", "the scheme must be http or https"),
        ("s3://bucket", "the scheme must be http or https"),
        ("minio:9000", "is not a URL with a scheme and a host"),
        ("http://", "is not a URL with a host"),
        ("http:///bucket", "is not a URL with a host"),
        ("http://:9000", "is not a URL with a host"),
        ("https://:9000", "is not a URL with a host"),
        ("http://minio:99999", "port is not a number"),
        ("http://minio:", "port is not a number"),
        ("http://mi nio:9000", "white space"),
        ("http://[fd00::5:9000", "IPv6 host"),
    ] {
        let text = endpoint_problem(bad).unwrap_or_default();
        assert!(
            text.starts_with(&format!("{bad:?} ")) && text.contains(why),
            "{bad}: want {why:?}, got {text:?}"
        );
    }
    // The message quotes the URL without what precedes the host.
    let text = endpoint_problem("http://key:s3cr3t-value@minio:9000/x").unwrap();
    assert!(text.contains("must not carry credentials"), "{text}");
    assert!(text.contains("\"http://***@minio:9000/x\""), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[test]
fn aws_buckets_follow_aws_naming_other_providers_do_not() {
    for bad in [
        "My-Bucket",
        "ab",
        "-bucket",
        "bucket-",
        "my_bucket",
        "a..b",
        "192.168.1.1",
        &"x".repeat(64),
    ] {
        let e = refused(json!({"provider": "aws", "bucket": bad}));
        assert!(e[0].starts_with("spec.s3.bucket:"), "{bad}: {e:?}");
    }
    for ok in ["my-bucket", "abc", "my.bucket.1", "b/with/sub-path"] {
        let b = if ok.starts_with("b/") {
            "bkt/with/sub-path"
        } else {
            ok
        };
        target(json!({"provider": "aws", "bucket": b}));
    }
    // Ceph and MinIO deployments may allow legacy names; they refuse them themselves.
    target(json!({"provider": "ceph", "bucket": "Legacy_Bucket", "endpoint": "http://c"}));
}
