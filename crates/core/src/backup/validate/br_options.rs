//! `spec.br.options` are passed to BR last and verbatim, so they override the generated
//! flags. Those that would move the storage are refused: BR would write to one place while
//! `status.backupPath` and the clean name another, and the data would be orphaned.

use super::Errors;

/// Flags (long form) that say where BR writes or how it reaches that place.
fn moves_storage(long: &str) -> bool {
    long == "storage" || long.starts_with("s3.") || long == "s3"
}

pub(super) fn check(errors: &mut Errors, field: &str, options: &[String]) {
    for (i, option) in options.iter().enumerate() {
        let option = option.trim();
        let refused = match option.strip_prefix("--") {
            Some(long) => moves_storage(long.split(['=', ' ']).next().unwrap_or_default()),
            // `-s` is the short form of `--storage`; pflag also takes `-sVALUE` and `-s=VALUE`.
            None => option.starts_with("-s"),
        };
        if refused {
            errors.push(
                &format!("{field}[{i}]"),
                format!(
                    "{:?} would move the storage away from the one spec.s3 names, where the \
                     backup is shown and cleaned: set the location and S3 settings in spec.s3",
                    option.split(['=', ' ']).next().unwrap_or_default()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(options: &[&str]) -> Vec<String> {
        let mut errors = Errors(Vec::new());
        let owned: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        check(&mut errors, "spec.br.options", &owned);
        errors.0.iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn storage_overrides_are_refused_and_named() {
        assert_eq!(
            refused(&[
                "--lastbackupts=4",
                "--storage=s3://other/x",
                "-s",
                "--s3.endpoint=http://x",
                "-ss3://b/p",
                "--s3.provider",
                " --storage s3://b",
            ]),
            [
                "spec.br.options[1]",
                "spec.br.options[2]",
                "spec.br.options[3]",
                "spec.br.options[4]",
                "spec.br.options[5]",
                "spec.br.options[6]",
            ]
        );
    }

    #[test]
    fn other_options_pass() {
        let fine = [
            "--lastbackupts=420",
            "--ignore-stats=false",
            "--send-credentials-to-tikv=true",
            "--log-level=debug",
            "--checksum=false",
            "s3://not-an-option",
        ];
        assert!(refused(&fine).is_empty());
    }
}
