//! This process's log lines: the operator's and the sandbox's, when they run in the test
//! process, are kept so tests can search them (for secret values, for decisions).

use std::sync::{Arc, Mutex, OnceLock};

/// Every log line this process wrote since [`capture_logs`].
pub fn logs() -> String {
    String::from_utf8_lossy(&buffer().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

fn buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(Default::default)
}

struct Capture {
    echo: bool,
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        buffer()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        if self.echo {
            std::io::stderr().write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once per process, a tracing subscriber with `filter` that keeps every line for
/// [`logs`] (and also writes it to standard error when `echo`).
pub fn capture_logs(filter: &str, echo: bool) {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || Capture { echo })
            .with_ansi(false)
            .try_init();
    });
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
