//! The app's log: `tracing` events to the systemd journal when systemd connected the process to
//! it (`$JOURNAL_STREAM`), to stderr otherwise. The level comes from `$LOTLINE_LOG` (an
//! `EnvFilter` directive such as `debug` or `lotline=debug`), else the configuration's
//! `[log] level`, else `info`. Events carry the device, operator and task in their fields.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter for `level` (from the configuration): it is the level of lotline's own events;
/// the libraries underneath (and the embedded hub, which logs every request at `info` on a
/// server) say only their warnings.
fn filter(level: Option<&str>) -> EnvFilter {
    EnvFilter::try_from_env("LOTLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,lotline={},lotline_hub=warn", level.unwrap_or("info"))))
}

/// Installs the log once for the process; later calls do nothing.
pub fn init(level: Option<&str>) {
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        let _ = tracing_subscriber::registry()
            .with(filter(level))
            .with(journald.with_syslog_identifier("lotline".into()))
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_writer(std::io::stderr)
        // Colours on a terminal only: a test or a pipe reads the plain words.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
