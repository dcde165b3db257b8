//! BR's command line, parsed the way cobra and pflag parse it.
//!
//! Accepted forms: `--flag=value`, `--flag value`, `-s value`, `-svalue`, `-s=value`; boolean
//! flags take no separate value (`--checksum=false`, not `--checksum false`); `--` ends flags.
//! Errors carry pflag's and cobra's wording (`unknown flag: --x`, `flag needs an argument:
//! --storage`, `invalid argument "x" for "--ratelimit" flag: …`, `required flag(s) "db" not
//! set`, `unknown command "x" for "br backup full"`), because the agent matches BR's stderr.
//!
//! Only the flags of `backup full|db|table` (with `full`'s hidden EBS flags) and of
//! `operator pause-gc-and-schedulers` exist; everything else is an unknown flag here.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::fmt::parse_go_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    String,
    /// pflag `StringSlice`: comma-separated, repeatable.
    StringSlice,
    /// pflag `StringArray`: repeatable, no splitting.
    StringArray,
    Uint,
    Int,
    Duration,
}

/// Which subcommands define a flag (cobra reports others as unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Root and every subcommand (persistent).
    All,
    /// `br` itself only (`--version`).
    Root,
    /// `backup full` only.
    Full,
    /// `backup` and its subcommands (BR's backup persistent flags).
    Backup,
    /// `backup db` and `backup table`.
    DbTable,
    /// `backup table` only.
    Table,
    /// `operator pause-gc-and-schedulers` (and its alias).
    Pause,
}

pub struct Spec {
    pub name: &'static str,
    pub short: Option<char>,
    pub kind: Kind,
    pub default: &'static str,
    pub scope: Scope,
}

const fn flag(name: &'static str, kind: Kind, default: &'static str) -> Spec {
    Spec {
        name,
        short: None,
        kind,
        default,
        scope: Scope::All,
    }
}

const fn short(mut spec: Spec, c: char) -> Spec {
    spec.short = Some(c);
    spec
}

const fn scoped(mut spec: Spec, scope: Scope) -> Spec {
    spec.scope = scope;
    spec
}

use Kind::{Bool, Duration as Dur, Int, String as Str, StringArray, StringSlice, Uint};

/// BR's flags for `br backup full|db|table` (root, task common, storage and backup flags).
pub const SPECS: &[Spec] = &[
    scoped(short(flag("version", Bool, "false"), 'V'), Scope::Root),
    short(flag("log-level", Str, "info"), 'L'),
    flag("log-file", Str, ""),
    flag("log-format", Str, "text"),
    flag("redact-log", Bool, "false"),
    flag("redact-info-log", Bool, "false"),
    flag("status-addr", Str, ""),
    flag("slow-log-file", Str, ""),
    short(flag("send-credentials-to-tikv", Bool, "true"), 'c'),
    flag("no-credentials", Bool, "false"),
    short(flag("storage", Str, ""), 's'),
    short(flag("pd", StringSlice, "127.0.0.1:2379"), 'u'),
    flag("ca", Str, ""),
    flag("cert", Str, ""),
    flag("key", Str, ""),
    flag("checksum-concurrency", Uint, "4"),
    flag("ratelimit", Uint, "0"),
    flag("ratelimit-unit", Uint, "1048576"),
    flag("checksum", Bool, "true"),
    flag("remove-tiflash", Bool, "true"),
    flag("concurrency", Uint, "0"),
    flag("check-requirements", Bool, "true"),
    flag("switch-mode-interval", Dur, "5m0s"),
    flag("grpc-keepalive-time", Dur, "10s"),
    flag("grpc-keepalive-timeout", Dur, "3s"),
    flag("enable-opentracing", Bool, "false"),
    flag("skip-check-path", Bool, "false"),
    flag("crypter.method", Str, "plaintext"),
    flag("crypter.key", Str, ""),
    flag("crypter.key-file", Str, ""),
    flag("metadata-download-batch-size", Uint, "128"),
    flag("s3.endpoint", Str, ""),
    flag("s3.region", Str, ""),
    flag("s3.storage-class", Str, ""),
    flag("s3.sse", Str, ""),
    flag("s3.sse-kms-key-id", Str, ""),
    flag("s3.acl", Str, ""),
    flag("s3.provider", Str, ""),
    flag("s3.role-arn", Str, ""),
    flag("s3.external-id", Str, ""),
    flag("gcs.endpoint", Str, ""),
    flag("gcs.storage-class", Str, ""),
    flag("gcs.predefined-acl", Str, ""),
    flag("gcs.credentials-file", Str, ""),
    flag("azblob.endpoint", Str, ""),
    flag("azblob.access-tier", Str, ""),
    flag("azblob.account-name", Str, ""),
    flag("keyspace-name", Str, ""),
    scoped(flag("timeago", Dur, "0s"), Scope::Backup),
    scoped(flag("lastbackupts", Uint, "0"), Scope::Backup),
    scoped(flag("backupts", Str, ""), Scope::Backup),
    scoped(flag("gcttl", Int, "300"), Scope::Backup),
    scoped(flag("compression", Str, "zstd"), Scope::Backup),
    scoped(flag("compression-level", Int, "0"), Scope::Backup),
    scoped(flag("remove-schedulers", Bool, "false"), Scope::Backup),
    scoped(flag("ignore-stats", Bool, "true"), Scope::Backup),
    scoped(flag("use-backupmeta-v2", Bool, "true"), Scope::Backup),
    scoped(flag("use-checkpoint", Bool, "true"), Scope::Backup),
    scoped(flag("replica-read-label", Str, ""), Scope::Backup),
    scoped(short(flag("filter", StringArray, "*.*"), 'f'), Scope::Full),
    scoped(flag("case-sensitive", Bool, "false"), Scope::Full),
    // `full`'s hidden EBS flags (`--type=aws-ebs`).
    scoped(flag("type", Str, "kv"), Scope::Full),
    scoped(flag("volume-file", Str, "./backup.json"), Scope::Full),
    scoped(flag("skip-aws", Bool, "false"), Scope::Full),
    scoped(flag("cloud-api-concurrency", Uint, "8"), Scope::Full),
    scoped(flag("progress-file", Str, "progress.txt"), Scope::Full),
    scoped(
        flag("operator-paused-gc-and-scheduler", Bool, "false"),
        Scope::Full,
    ),
    scoped(flag("db", Str, ""), Scope::DbTable),
    scoped(short(flag("table", Str, ""), 't'), Scope::Table),
    scoped(short(flag("ttl", Dur, "2m0s"), 'i'), Scope::Pause),
    scoped(short(flag("safepoint", Uint, "0"), 't'), Scope::Pause),
];

/// The parsed command line.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Positional words: the command path and any stray argument.
    pub args: Vec<String>,
    /// Flags given, in order, as (name, raw value).
    pub given: Vec<(&'static str, String)>,
    values: BTreeMap<&'static str, Vec<String>>,
}

fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// `-t` is `--table` under `backup` and `--safepoint` under `operator`: cobra resolves a
/// shorthand on the command that runs, here guessed from the first word seen so far.
fn spec_short(c: char, under_operator: bool) -> Option<&'static Spec> {
    let mut found = SPECS.iter().filter(|s| s.short == Some(c));
    let first = found.next()?;
    Some(
        std::iter::once(first)
            .chain(found)
            .find(|s| (s.scope == Scope::Pause) == under_operator)
            .unwrap_or(first),
    )
}

/// pflag's name for a flag in messages: `-s, --storage` when it has a shorthand.
fn display(spec: &Spec) -> String {
    match spec.short {
        Some(c) => format!("-{c}, --{}", spec.name),
        None => format!("--{}", spec.name),
    }
}

pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            parsed.args.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let spec = spec(name).ok_or_else(|| format!("unknown flag: --{name}"))?;
            let value = match (inline, spec.kind) {
                (Some(v), _) => v,
                (None, Kind::Bool) => "true".into(),
                (None, _) if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                (None, _) => return Err(format!("flag needs an argument: --{name}")),
            };
            parsed.set(spec, value)?;
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            // A group of shorthands: booleans may be combined, a valued one ends the group.
            let chars: Vec<char> = shorts.chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                k += 1;
                let under_operator = parsed.args.first().is_some_and(|a| a == "operator");
                let spec = spec_short(c, under_operator)
                    .ok_or_else(|| format!("unknown shorthand flag: '{c}' in -{shorts}"))?;
                let rest: String = chars[k..].iter().collect();
                let value = if let Some(v) = rest.strip_prefix('=') {
                    k = chars.len();
                    v.to_owned()
                } else if spec.kind == Kind::Bool {
                    "true".into()
                } else if !rest.is_empty() {
                    k = chars.len();
                    rest
                } else if i < args.len() {
                    i += 1;
                    args[i - 1].clone()
                } else {
                    return Err(format!("flag needs an argument: '{c}' in -{shorts}"));
                };
                parsed.set(spec, value)?;
            }
        } else {
            parsed.args.push(arg.clone());
        }
    }
    Ok(parsed)
}

impl Parsed {
    fn set(&mut self, spec: &'static Spec, value: String) -> Result<(), String> {
        let invalid = |why: String| {
            format!(
                "invalid argument {value:?} for {:?} flag: {why}",
                display(spec)
            )
        };
        match spec.kind {
            Kind::Bool => {
                parse_bool(&value).map_err(invalid)?;
            }
            Kind::Uint => {
                value.parse::<u64>().map_err(|_| {
                    invalid(format!(
                        "strconv.ParseUint: parsing {value:?}: invalid syntax"
                    ))
                })?;
            }
            Kind::Int => {
                value.parse::<i64>().map_err(|_| {
                    invalid(format!(
                        "strconv.ParseInt: parsing {value:?}: invalid syntax"
                    ))
                })?;
            }
            Kind::Duration => {
                parse_go_duration(&value).map_err(invalid)?;
            }
            Kind::String | Kind::StringSlice | Kind::StringArray => {}
        }
        self.given.push((spec.name, value.clone()));
        let slot = self.values.entry(spec.name).or_default();
        match spec.kind {
            Kind::StringSlice => slot.extend(value.split(',').map(|v| v.trim().to_owned())),
            Kind::StringArray => slot.push(value),
            _ => *slot = vec![value],
        }
        Ok(())
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn raw(&self, name: &str) -> Vec<String> {
        match self.values.get(name) {
            Some(v) => v.clone(),
            None => {
                let default = spec(name).map(|s| s.default).unwrap_or_default();
                if default.is_empty() {
                    Vec::new()
                } else {
                    vec![default.to_owned()]
                }
            }
        }
    }

    pub fn string(&self, name: &str) -> String {
        self.raw(name).pop().unwrap_or_default()
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        self.raw(name)
    }

    pub fn bool(&self, name: &str) -> bool {
        parse_bool(&self.string(name)).unwrap_or(false)
    }

    pub fn uint(&self, name: &str) -> u64 {
        self.string(name).parse().unwrap_or(0)
    }

    pub fn duration(&self, name: &str) -> Duration {
        parse_go_duration(&self.string(name)).unwrap_or_default()
    }

    /// cobra's check that every flag given exists on the command that runs.
    pub fn check_scope(&self, command: Command) -> Result<(), String> {
        for (name, _) in &self.given {
            let scope = spec(name).map(|s| s.scope).unwrap_or(Scope::All);
            let ok = match scope {
                Scope::All => true,
                Scope::Root => command == Command::Root,
                Scope::Backup => matches!(
                    command,
                    Command::Backup | Command::Full | Command::Db | Command::Table
                ),
                Scope::Full => command == Command::Full,
                Scope::DbTable => matches!(command, Command::Db | Command::Table),
                Scope::Table => command == Command::Table,
                Scope::Pause => matches!(command, Command::Pause(_)),
            };
            if !ok {
                return Err(format!("unknown flag: --{name}"));
            }
        }
        Ok(())
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {value:?}: invalid syntax"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Root,
    Backup,
    Full,
    Db,
    Table,
    Operator,
    /// `operator pause-gc-and-schedulers` or its alias `prepare-for-snapshot-backup`.
    Pause(&'static str),
}

impl Command {
    /// BR's name for the task, used in progress and summary lines.
    pub fn task_name(self) -> &'static str {
        match self {
            Command::Full => "Full Backup",
            Command::Db => "Database Backup",
            Command::Table => "Table Backup",
            _ => "",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Command::Root => "br",
            Command::Backup => "br backup",
            Command::Full => "br backup full",
            Command::Db => "br backup db",
            Command::Table => "br backup table",
            Command::Operator => "br operator",
            Command::Pause(PAUSE) => "br operator pause-gc-and-schedulers",
            Command::Pause(_) => "br operator prepare-for-snapshot-backup",
        }
    }
}

const PAUSE: &str = "pause-gc-and-schedulers";
const PREPARE: &str = "prepare-for-snapshot-backup";

/// Resolves the positional words into a command, with cobra's errors for the rest.
pub fn command(parsed: &Parsed) -> Result<Command, String> {
    let args = &parsed.args;
    let Some(first) = args.first() else {
        return Ok(Command::Root);
    };
    match first.as_str() {
        "backup" => {}
        "operator" => return operator_command(parsed),
        "restore" | "log" | "debug" | "stream" | "abort" => {
            return Err(format!(
                "the br stand-in (tibr-br-sim) implements only \"br backup full|db|table\" \
                 and \"br operator pause-gc-and-schedulers\", not \"br {first}\""
            ));
        }
        other => return Err(format!("unknown command {other:?} for \"br\"")),
    }
    let command = match args.get(1).map(String::as_str) {
        None => return Ok(Command::Backup),
        Some("full") => Command::Full,
        Some("db") => Command::Db,
        Some("table") => Command::Table,
        Some(sub @ ("raw" | "txn")) => {
            return Err(format!(
                "the br stand-in (tibr-br-sim) implements only \"br backup full|db|table\", \
                 not \"br backup {sub}\""
            ));
        }
        Some(other) => return Err(format!("unknown command {other:?} for \"br backup\"")),
    };
    if let Some(extra) = args.get(2) {
        return Err(format!(
            "unknown command {extra:?} for {:?}",
            command.path()
        ));
    }
    parsed.check_scope(command)?;
    let missing: Vec<&str> = match command {
        Command::Db => vec!["db"],
        Command::Table => vec!["db", "table"],
        _ => vec![],
    }
    .into_iter()
    .filter(|f| !parsed.is_set(f))
    .collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|f| format!("\"{f}\"")).collect();
        return Err(format!("required flag(s) {} not set", names.join(", ")));
    }
    Ok(command)
}

fn operator_command(parsed: &Parsed) -> Result<Command, String> {
    let command = match parsed.args.get(1).map(String::as_str) {
        None => Command::Operator,
        Some(PAUSE) => Command::Pause(PAUSE),
        Some(PREPARE) => Command::Pause(PREPARE),
        Some(
            sub @ ("base64ify" | "list-migrations" | "unsafe-migrate-to" | "force-flush"
            | "checksum-as" | "checksum-pitr" | "checksum-upstream"),
        ) => {
            return Err(format!(
                "the br stand-in (tibr-br-sim) implements only \"br operator \
                 pause-gc-and-schedulers\", not \"br operator {sub}\""
            ));
        }
        Some(other) => return Err(format!("unknown command {other:?} for \"br operator\"")),
    };
    if let Some(extra) = parsed.args.get(2) {
        return Err(format!(
            "unknown command {extra:?} for {:?}",
            command.path()
        ));
    }
    parsed.check_scope(command)?;
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Parsed, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn forms_and_errors() {
        let parsed = p(&[
            "backup",
            "full",
            "--pd",
            "a:1,b:2",
            "-u=c:3",
            "--storage=s3://b/p",
            "-c=false",
            "--ratelimit",
            "4",
            "-f",
            "x.*",
            "--filter=y.*",
            "--checksum",
        ])
        .unwrap();
        assert_eq!(parsed.strings("pd"), ["a:1", "b:2", "c:3"]);
        assert_eq!(parsed.string("storage"), "s3://b/p");
        assert!(!parsed.bool("send-credentials-to-tikv"));
        assert_eq!(parsed.uint("ratelimit"), 4);
        assert_eq!(parsed.strings("filter"), ["x.*", "y.*"]);
        assert!(parsed.bool("checksum"));
        assert_eq!(command(&parsed).unwrap(), Command::Full);
        let defaults = p(&["backup", "full"]).unwrap();
        assert_eq!(defaults.strings("filter"), ["*.*"]);
        assert!(defaults.bool("use-backupmeta-v2"));

        assert_eq!(p(&["--x"]).unwrap_err(), "unknown flag: --x");
        assert_eq!(p(&["-Z"]).unwrap_err(), "unknown shorthand flag: 'Z' in -Z");
        assert_eq!(
            p(&["--storage"]).unwrap_err(),
            "flag needs an argument: --storage"
        );
        assert_eq!(
            p(&["--ratelimit=abc"]).unwrap_err(),
            "invalid argument \"abc\" for \"--ratelimit\" flag: strconv.ParseUint: parsing \
             \"abc\": invalid syntax"
        );
        assert_eq!(
            p(&["--timeago", "5x"]).unwrap_err(),
            "invalid argument \"5x\" for \"--timeago\" flag: time: unknown unit \"x\" in \
             duration \"5x\""
        );
        // `--checksum false` leaves a stray positional, as in BR.
        let stray = p(&["backup", "full", "--checksum", "false"]).unwrap();
        assert_eq!(
            command(&stray).unwrap_err(),
            "unknown command \"false\" for \"br backup full\""
        );
        let db = p(&["backup", "table", "--table", "t"]).unwrap();
        assert_eq!(command(&db).unwrap_err(), "required flag(s) \"db\" not set");
        let scope = p(&["backup", "full", "--db", "x"]).unwrap();
        assert_eq!(command(&scope).unwrap_err(), "unknown flag: --db");
    }

    #[test]
    fn operator_and_ebs_flags() {
        let pause = p(&[
            "operator",
            "pause-gc-and-schedulers",
            "-u",
            "demo1-pd.test1:2379",
            "-i",
            "3s",
            "-t",
            "42",
            "--ca=/ca.pem",
        ])
        .unwrap();
        assert_eq!(command(&pause).unwrap(), Command::Pause(PAUSE));
        assert_eq!(pause.duration("ttl"), std::time::Duration::from_secs(3));
        assert_eq!(pause.uint("safepoint"), 42);
        assert_eq!(pause.string("ca"), "/ca.pem");
        let defaults = p(&["operator", "prepare-for-snapshot-backup"]).unwrap();
        assert_eq!(command(&defaults).unwrap(), Command::Pause(PREPARE));
        assert_eq!(
            defaults.duration("ttl"),
            std::time::Duration::from_secs(120)
        );
        // `-t` is still `--table` under `backup`.
        let table = p(&["backup", "table", "--db", "d", "-t", "x"]).unwrap();
        assert_eq!(table.string("table"), "x");
        let backup_flag = p(&["operator", "pause-gc-and-schedulers", "--gcttl=5"]).unwrap();
        assert_eq!(command(&backup_flag).unwrap_err(), "unknown flag: --gcttl");
        let ttl_on_backup = p(&["backup", "full", "--ttl=5s"]).unwrap();
        assert_eq!(command(&ttl_on_backup).unwrap_err(), "unknown flag: --ttl");
        assert_eq!(
            command(&p(&["operator", "nope"]).unwrap()).unwrap_err(),
            "unknown command \"nope\" for \"br operator\""
        );

        let ebs = p(&["backup", "full", "--type=aws-ebs", "--skip-aws"]).unwrap();
        assert_eq!(command(&ebs).unwrap(), Command::Full);
        assert_eq!(ebs.string("volume-file"), "./backup.json");
        assert_eq!(ebs.string("progress-file"), "progress.txt");
        assert_eq!(ebs.uint("cloud-api-concurrency"), 8);
        assert!(ebs.bool("skip-aws") && !ebs.bool("operator-paused-gc-and-scheduler"));
        let on_db = p(&["backup", "db", "--db=d", "--volume-file=x"]).unwrap();
        assert_eq!(command(&on_db).unwrap_err(), "unknown flag: --volume-file");
    }
}
