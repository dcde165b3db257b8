//! Images: there are none. An [`ImageRule`] maps an image to a host executable (its
//! "entrypoint") and host files; a container with a `command` runs that command from the
//! host whatever its image. Nothing is pulled, so `imagePullPolicy` is ignored; an image
//! with no rule and no command fails the way an image that cannot be pulled does.

use std::path::{Path, PathBuf};

use super::ImageRule;

/// The waiting reason for an image that cannot run here: the one the kubelet uses for an
/// image it may not pull.
pub const IMAGE_UNAVAILABLE: &str = "ErrImageNeverPull";

/// The repository part of an image reference: without the tag or digest.
pub fn repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[last_slash..].rfind(':') {
        Some(colon) => &no_digest[..last_slash + colon],
        None => no_digest,
    }
}

/// The first rule that matches `image`.
pub fn rule_for<'a>(rules: &'a [ImageRule], image: &str) -> Option<&'a ImageRule> {
    let repo = repository(image);
    rules.iter().find(|r| match r.image.strip_suffix('*') {
        Some(prefix) => image.starts_with(prefix),
        None => r.image == repo,
    })
}

/// The command line before `$(VAR)` expansion: `command` replaces the image's
/// entrypoint, `args` its arguments. Errors are (reason, message) for the waiting state.
pub fn command_line(
    image: &str,
    command: &[String],
    args: &[String],
    rule: Option<&ImageRule>,
) -> Result<Vec<String>, (String, String)> {
    if !command.is_empty() {
        return Ok(command.iter().chain(args).cloned().collect());
    }
    match rule.and_then(|r| r.entrypoint.as_ref()) {
        Some(entry) => Ok(std::iter::once(entry.to_string_lossy().into_owned())
            .chain(args.iter().cloned())
            .collect()),
        None => Err((
            IMAGE_UNAVAILABLE.to_string(),
            format!("image {image:?} is not mapped to a host executable in this sandbox"),
        )),
    }
}

/// Finds `name` (no slash) in a `PATH` value.
pub fn search_path(name: &str, path: &str) -> Option<PathBuf> {
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Checks that `program` can be executed, as the runtime does before starting a
/// container. `provided` says whether a container path is supplied by a mount (a volume
/// or an image file), and `translate` maps such a path to the host when containers do not
/// get mount namespaces. Returns the program to execute or the runtime's message.
pub fn resolve_program(
    program: &str,
    path_env: &str,
    provided: &dyn Fn(&str) -> bool,
    translate: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<String, String> {
    if program.contains('/') {
        if let Some(host) = translate(program) {
            return Ok(host.to_string_lossy().into_owned());
        }
        if provided(program) || !program.starts_with('/') || is_executable(Path::new(program)) {
            return Ok(program.to_string());
        }
        return Err(format!(
            "exec: \"{program}\": stat {program}: no such file or directory"
        ));
    }
    let on_path = path_env
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| format!("{}/{program}", d.trim_end_matches('/')));
    for candidate in on_path {
        if let Some(host) = translate(&candidate) {
            return Ok(host.to_string_lossy().into_owned());
        }
        if provided(&candidate) {
            return Ok(program.to_string());
        }
    }
    match search_path(program, path_env) {
        Some(found) => Ok(found.to_string_lossy().into_owned()),
        None => Err(format!(
            "exec: \"{program}\": executable file not found in $PATH"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_drop_tags_and_digests() {
        assert_eq!(repository("pingcap/br:v8.5.0"), "pingcap/br");
        assert_eq!(
            repository("localhost:5000/tibr-agent"),
            "localhost:5000/tibr-agent"
        );
        assert_eq!(
            repository("localhost:5000/tibr-agent:dev@sha256:ab"),
            "localhost:5000/tibr-agent"
        );
        assert_eq!(repository("busybox"), "busybox");
    }

    #[test]
    fn rules_match_repository_or_prefix() {
        let rules = vec![
            ImageRule::new("pingcap/br", Some("/bin/true".into())),
            ImageRule::new("ghcr.io/tibr/*", None),
        ];
        assert_eq!(
            rule_for(&rules, "pingcap/br:v8").unwrap().image,
            "pingcap/br"
        );
        assert!(rule_for(&rules, "pingcap/brx").is_none());
        assert_eq!(
            rule_for(&rules, "ghcr.io/tibr/agent:1").unwrap().image,
            "ghcr.io/tibr/*"
        );
    }

    #[test]
    fn command_replaces_entrypoint() {
        let rule = ImageRule::new("x", Some("/opt/x".into()));
        let args = vec!["a".to_string()];
        assert_eq!(
            command_line("x", &[], &args, Some(&rule)).unwrap(),
            vec!["/opt/x", "a"]
        );
        assert_eq!(
            command_line("x", &["sh".into()], &args, Some(&rule)).unwrap(),
            vec!["sh", "a"]
        );
        let err = command_line("y:1", &[], &args, None).unwrap_err();
        assert_eq!(err.0, IMAGE_UNAVAILABLE);
        assert!(err.1.contains("\"y:1\""), "{}", err.1);
    }

    #[test]
    fn programs_resolve_on_path() {
        let none = |_: &str| false;
        let no_translate = |_: &str| None;
        assert_eq!(
            resolve_program("sh", "/usr/bin:/bin", &none, &no_translate).unwrap(),
            "/usr/bin/sh"
        );
        let err = resolve_program("no-such-tool-x", "/usr/bin", &none, &no_translate);
        assert!(
            err.unwrap_err()
                .contains("executable file not found in $PATH")
        );
        let provided = |p: &str| p == "/opt/tool";
        assert_eq!(
            resolve_program("/opt/tool", "", &provided, &no_translate).unwrap(),
            "/opt/tool"
        );
    }
}
