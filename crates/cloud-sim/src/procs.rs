//! Processes on this machine, as `/proc` lists them: how tests find the agent and BR a pod
//! runs, check what arguments they got, and make sure nothing is left behind.
#![allow(dead_code)]

/// `(pid, arguments)` of every process whose argument vector matches `matches`.
pub fn processes(matches: impl Fn(i32, &[String]) -> bool) -> Vec<(i32, Vec<String>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.is_empty() && matches(pid, &args) {
            out.push((pid, args));
        }
    }
    out
}
