//! One page of a bucket listing, read from the directory tree in key order.
//!
//! Keys are paths under the bucket's directory. A depth-first walk whose siblings are sorted
//! with directories as `name/` yields keys in S3's byte order, so a page starts where the
//! previous one ended and stops after `max_keys`: whole subtrees before the resume point are
//! skipped unread, and only listed files are stat'ed. The walk starts in the directory that
//! holds the prefix, never at the bucket's top.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use s3s::dto::{CommonPrefix, EncodingType, Object, Timestamp};

/// S3's page size when the request gives none.
pub(super) const MAX_KEYS: i32 = 1000;

/// What one list request asks.
#[derive(Debug, Clone)]
pub(super) struct Query {
    prefix: String,
    /// Only `/` groups keys natively; an empty delimiter means none (as on S3).
    delimiter: Option<String>,
    /// Keys and prefixes at or before this are not listed.
    after: Option<String>,
    max_keys: usize,
}

impl Query {
    pub(super) fn new(
        prefix: Option<&str>,
        delimiter: Option<&str>,
        after: Option<&str>,
        max_keys: Option<i32>,
    ) -> Query {
        Query {
            prefix: prefix.unwrap_or_default().to_owned(),
            delimiter: delimiter.filter(|d| !d.is_empty()).map(str::to_owned),
            after: after.filter(|a| !a.is_empty()).map(str::to_owned),
            max_keys: usize::try_from(max_keys.unwrap_or(MAX_KEYS).max(0)).unwrap_or(0),
        }
    }

    fn listed(&self, key: &str) -> bool {
        self.after.as_deref().is_none_or(|a| key > a)
    }

    /// The common prefix `key` rolls up into, when a delimiter follows the prefix in it.
    fn rolled_up(&self, key: &str) -> Option<String> {
        let delimiter = self.delimiter.as_deref()?;
        let rest = key.strip_prefix(&self.prefix)?;
        let at = rest.find(delimiter)?;
        Some(format!("{}{}", self.prefix, &rest[..at + delimiter.len()]))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Object {
        key: String,
        size: u64,
        modified: SystemTime,
    },
    Prefix(String),
}

impl Item {
    fn key(&self) -> &str {
        match self {
            Item::Object { key, .. } | Item::Prefix(key) => key,
        }
    }
}

/// The answer to a [`Query`].
#[derive(Debug, Default)]
pub(super) struct Page {
    items: Vec<Item>,
    pub(super) truncated: bool,
    /// Where the next page starts (the last key or prefix of this one).
    pub(super) next: Option<String>,
}

impl Page {
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn contents(&self, url: bool) -> Option<Vec<Object>> {
        let objects: Vec<Object> = self
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Object {
                    key,
                    size,
                    modified,
                } => Some(Object {
                    key: Some(encode(key, url)),
                    size: Some(i64::try_from(*size).unwrap_or(i64::MAX)),
                    last_modified: Some(Timestamp::from(*modified)),
                    ..Default::default()
                }),
                Item::Prefix(_) => None,
            })
            .collect();
        (!objects.is_empty()).then_some(objects)
    }

    pub(super) fn common_prefixes(&self, url: bool) -> Option<Vec<CommonPrefix>> {
        let prefixes: Vec<CommonPrefix> = self
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Prefix(p) => Some(CommonPrefix {
                    prefix: Some(encode(p, url)),
                }),
                Item::Object { .. } => None,
            })
            .collect();
        (!prefixes.is_empty()).then_some(prefixes)
    }
}

/// Whether keys go back URL-encoded (`encoding-type=url`, which rclone and the AWS CLI ask
/// for and then decode).
pub(super) fn url_encoded(encoding: Option<&EncodingType>) -> bool {
    encoding.is_some_and(|e| e.as_str().eq_ignore_ascii_case(EncodingType::URL))
}

fn encode(key: &str, url: bool) -> String {
    if !url {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One page of `bucket`'s keys for `query`.
pub(super) fn page(bucket: &Path, query: &Query) -> io::Result<Page> {
    let mut page = Page::default();
    if query.max_keys == 0 {
        return Ok(page);
    }
    // The directory holding the prefix's last segment: keys outside it cannot match.
    let base = match query.prefix.rfind('/') {
        Some(at) => &query.prefix[..=at],
        None => "",
    };
    let mut walk = Walk {
        query,
        items: &mut page.items,
        // One more than a page, to know whether the listing is truncated.
        want: query.max_keys + 1,
    };
    walk.dir(&bucket.join(base), base)?;
    if page.items.len() > query.max_keys {
        page.items.truncate(query.max_keys);
        page.truncated = true;
        page.next = page.items.last().map(|i| i.key().to_owned());
    }
    Ok(page)
}

struct Walk<'a> {
    query: &'a Query,
    items: &'a mut Vec<Item>,
    want: usize,
}

impl Walk<'_> {
    fn full(&self) -> bool {
        self.items.len() >= self.want
    }

    /// Lists `dir`, whose keys all start with `key` (empty or ending in `/`).
    fn dir(&mut self, dir: &Path, key: &str) -> io::Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut children: Vec<(String, PathBuf, bool)> = Vec::new();
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let is_dir = entry.file_type()?.is_dir();
            let child = if is_dir {
                format!("{key}{name}/")
            } else {
                format!("{key}{name}")
            };
            children.push((child, entry.path(), is_dir));
        }
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (child, path, is_dir) in children {
            if self.full() {
                break;
            }
            let q = self.query;
            let under_prefix = child.starts_with(&q.prefix);
            // A directory the prefix runs into is entered; anything else must match.
            let leads_to_prefix = is_dir && q.prefix.starts_with(&child);
            if !(under_prefix || leads_to_prefix) {
                continue;
            }
            if under_prefix && let Some(rolled) = q.rolled_up(&child) {
                // Every key below rolls up into one prefix; it is listed once, and only
                // when a key is there (deleting a directory's last object leaves it empty).
                let last = self.items.last().map(Item::key);
                if q.listed(&rolled)
                    && last != Some(rolled.as_str())
                    && (!is_dir || holds_a_file(&path)?)
                {
                    self.items.push(Item::Prefix(rolled));
                }
                continue;
            }
            if is_dir {
                // A subtree wholly at or before the resume point is not read.
                let skipped = q
                    .after
                    .as_deref()
                    .is_some_and(|a| child.as_str() < a && !a.starts_with(&child));
                if !skipped {
                    self.dir(&path, &child)?;
                }
            } else if q.listed(&child) {
                let meta = match fs::metadata(&path) {
                    Ok(meta) => meta,
                    // Deleted since the directory was read.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                self.items.push(Item::Object {
                    key: child,
                    size: meta.len(),
                    modified: meta.modified()?,
                });
            }
        }
        Ok(())
    }
}

/// Whether a file lies anywhere below `dir` (stops at the first).
fn holds_a_file(dir: &Path) -> io::Result<bool> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() || holds_a_file(&entry.path())? {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(keys: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for key in keys {
            let path = dir.path().join(key);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, key).unwrap();
        }
        dir
    }

    fn keys(
        dir: &Path,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: i32,
    ) -> (Vec<String>, bool) {
        let page = page(dir, &Query::new(Some(prefix), delimiter, after, Some(max))).unwrap();
        let keys = page.items.iter().map(|i| i.key().to_owned()).collect();
        (keys, page.truncated)
    }

    const KEYS: &[&str] = &[
        "a.txt",
        "a/x",
        "a/y/z",
        "a0",
        "b/b1/1",
        "b/b10/1",
        "b/b1.keep",
    ];

    #[test]
    fn keys_come_in_byte_order_across_directories() {
        let dir = bucket(KEYS);
        let (all, truncated) = keys(dir.path(), "", None, None, 1000);
        let mut sorted: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        sorted.sort();
        assert_eq!(all, sorted);
        assert!(!truncated);
    }

    #[test]
    fn pages_resume_after_the_last_key() {
        let dir = bucket(KEYS);
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (page, truncated) = keys(dir.path(), "", None, after.as_deref(), 2);
            seen.extend(page.clone());
            if !truncated {
                break;
            }
            after = page.last().cloned();
        }
        let mut sorted: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        sorted.sort();
        assert_eq!(seen, sorted);
    }

    #[test]
    fn a_prefix_is_a_string_prefix_not_a_directory() {
        let dir = bucket(KEYS);
        assert_eq!(
            keys(dir.path(), "b/b1", None, None, 1000).0,
            ["b/b1.keep", "b/b1/1", "b/b10/1"]
        );
        assert_eq!(keys(dir.path(), "b/b1/", None, None, 1000).0, ["b/b1/1"]);
        assert!(keys(dir.path(), "nothing/", None, None, 1000).0.is_empty());
    }

    #[test]
    fn a_slash_delimiter_rolls_up_and_an_empty_one_does_not() {
        let dir = bucket(KEYS);
        assert_eq!(
            keys(dir.path(), "", Some("/"), None, 1000).0,
            ["a.txt", "a/", "a0", "b/"]
        );
        assert_eq!(
            keys(dir.path(), "b/b1", Some("/"), None, 1000).0,
            ["b/b1.keep", "b/b1/", "b/b10/"]
        );
        assert_eq!(
            keys(dir.path(), "", Some(""), None, 1000).0.len(),
            KEYS.len()
        );
        // A directory left empty by deletes is no prefix.
        fs::create_dir_all(dir.path().join("e/f")).unwrap();
        assert_eq!(
            keys(dir.path(), "", Some("/"), None, 1000).0,
            ["a.txt", "a/", "a0", "b/"]
        );
        // Resuming after a rolled-up prefix skips everything under it.
        assert_eq!(
            keys(dir.path(), "", Some("/"), Some("a/"), 1000).0,
            ["a0", "b/"]
        );
    }

    #[test]
    fn url_encoding_escapes_what_is_not_plain() {
        assert_eq!(encode("a b+c/d%", true), "a%20b%2Bc/d%25");
        assert_eq!(encode("a b", false), "a b");
    }
}
