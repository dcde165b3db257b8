//! Where a backup lives: TiDB Operator joins bucket and prefix and splits the result at
//! the first `/`, so `bucket: b/mid` with `prefix: p` means bucket `b`, keys under
//! `mid/p`, and the path `s3://b/mid/p`.

/// Bucket and key prefix after the split; the prefix has no leading or trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    pub prefix: String,
}

impl Location {
    pub fn new(bucket: &str, prefix: &str) -> Self {
        let joined: Vec<&str> = bucket
            .split('/')
            .chain(prefix.split('/'))
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        match joined.split_first() {
            Some((b, rest)) => Location {
                bucket: b.to_string(),
                prefix: rest.join("/"),
            },
            None => Location {
                bucket: String::new(),
                prefix: String::new(),
            },
        }
    }

    /// `s3://bucket/prefix` (no trailing slash), the value of `status.backupPath`.
    pub fn url(&self, scheme: &str) -> String {
        if self.prefix.is_empty() {
            format!("{scheme}://{}", self.bucket)
        } else {
            format!("{scheme}://{}/{}", self.bucket, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_sub_paths_move_into_the_prefix() {
        let l = Location::new("my-bucket", "my-folder");
        assert_eq!(l.url("s3"), "s3://my-bucket/my-folder");
        let l = Location::new("b/mid", "p");
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("b", "mid/p"));
        assert_eq!(Location::new("b/", "/a//c/").url("s3"), "s3://b/a/c");
        assert_eq!(Location::new("b", "").url("s3"), "s3://b");
    }
}
