//! The programs Job pods run here: `tibr-agent` (the agent image's entrypoint) and `br` (the
//! BR stand-in, which BR images provide at `/br` for the init container to copy). Both are
//! this multi-call binary under another name: `DIR/bin/br` and `DIR/bin/tibr-agent` are
//! symbolic links to it, and [`multicall`] picks the program from the name it was run as.
//!
//! `/br` itself is a two-line script running `DIR/bin/br`, not the binary: every backup pod
//! copies it into its own volume, kept until the pod is deleted, and a copy of this binary
//! (about 100 MB, twice that unoptimised) per pod fills a disk within a few dozen backups.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use anyhow::Context;

use tibr_cloud_sim::runner::ImageRule;

/// The agent's image, any tag (what the operator puts in backup and clean Jobs).
pub const AGENT_IMAGE: &str = "ghcr.io/tibr/tibr-agent*";
/// BR's images, any tag (`pingcap/br:<TiKV version>` unless `spec.toolImage` says otherwise).
pub const BR_IMAGE: &str = "pingcap/br*";
/// Where BR images keep the binary the init container copies.
pub const BR_IN_IMAGE: &str = "/br";

/// The program to run when this binary was started as `argv0` (`br` or `tibr-agent`).
pub fn multicall(argv0: &str) -> Option<fn(Vec<String>) -> i32> {
    match Path::new(argv0).file_name()?.to_str()? {
        "br" => Some(tibr_br_sim::main_with_args),
        "tibr-agent" => Some(tibr_agent::main_with_args),
        _ => None,
    }
}

/// This executable when it is `tibr-sandbox` (in a test binary it is not, and running that
/// as `br` would run the tests: tests name the built `tibr-sandbox` instead).
pub fn default_executable() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    (exe.file_stem()? == "tibr-sandbox").then_some(exe)
}

/// Creates `dir/bin/br` and `dir/bin/tibr-agent` pointing at `executable` and `dir/bin/br-image`
/// (BR images' `/br`, running `dir/bin/br`), and returns the image rules that use them.
pub fn install(dir: &Path, executable: &Path) -> anyhow::Result<Vec<ImageRule>> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    let executable = executable
        .canonicalize()
        .with_context(|| format!("finding {}", executable.display()))?;
    let mut links = Vec::new();
    for name in ["br", "tibr-agent"] {
        let link = bin.join(name);
        match std::fs::remove_file(&link) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("replacing {}", link.display())),
        }
        std::os::unix::fs::symlink(&executable, &link)
            .with_context(|| format!("linking {} to {}", link.display(), executable.display()))?;
        links.push(link);
    }
    let image_br = bin.join("br-image");
    // Absolute: pods run elsewhere than here.
    let target = bin
        .canonicalize()
        .with_context(|| format!("finding {}", bin.display()))?
        .join("br");
    let script = format!(
        "#!/bin/sh\nexec {} \"$@\"\n",
        super::files::shell_quote(&target.display().to_string())
    );
    std::fs::write(&image_br, script).with_context(|| format!("writing {}", image_br.display()))?;
    std::fs::set_permissions(&image_br, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", image_br.display()))?;
    let mut br = ImageRule::new(BR_IMAGE, None);
    br.files.push((BR_IN_IMAGE.to_string(), image_br));
    let agent = ImageRule::new(AGENT_IMAGE, Some(links[1].clone()));
    Ok(vec![agent, br])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_select_programs() {
        assert!(multicall("/x/bin/br").is_some());
        assert!(multicall("tibr-agent").is_some());
        assert!(multicall("/usr/local/bin/tibr-sandbox").is_none());
        assert!(multicall("brx").is_none());
    }

    #[test]
    fn links_and_rules() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("tibr-sandbox");
        std::fs::write(&exe, b"#!/bin/sh\n").unwrap();
        let rules = install(dir.path(), &exe).unwrap();
        let target = std::fs::read_link(dir.path().join("bin/br")).unwrap();
        assert_eq!(target, exe.canonicalize().unwrap());
        assert_eq!(rules[0].image, AGENT_IMAGE);
        assert_eq!(
            rules[0].entrypoint.as_deref(),
            Some(dir.path().join("bin/tibr-agent").as_path())
        );
        assert_eq!(rules[1].files[0].0, "/br");
        // `/br` runs the stand-in under the name `br`, and is small to copy.
        let script = std::fs::read_to_string(&rules[1].files[0].1).unwrap();
        assert!(script.starts_with("#!/bin/sh\nexec "), "{script}");
        let target = dir.path().canonicalize().unwrap().join("bin/br");
        assert!(script.contains(&*target.to_string_lossy()), "{script}");
        // Installing again replaces the links.
        install(dir.path(), &exe).unwrap();
    }
}
