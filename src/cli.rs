//! The command line: the GUI by default, plus `demo-data`, `import`, `check`, `screenshot` and
//! `bench`. This is the composition root: it opens the store, reads the clock and wires the
//! pieces; `anyhow` lives here and nowhere deeper.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use slint::ComponentHandle;

use crate::app::check::{CheckContext, check_scan};
use crate::app::paths::default_db;
use crate::domain::ids::parse_iso_date;
use crate::domain::policy::Gate;
use crate::domain::scan::{ScanSettings, parse_scan};
use crate::domain::text::{Bilingual, Text};
use crate::store::demo;
use crate::store::import::{ImportError, import_from};
use crate::store::{Store, StoreError};
use crate::ui::{self, Lang, UiOptions};

#[derive(Parser, Debug)]
#[command(name = "lotline", version, about = "Scan a lot and see at once whether it may move.", long_about = None)]
pub struct Cli {
    /// The configuration file (default: /etc/lotline/lotline.toml when it exists, or the file
    /// $LOTLINE_CONFIG names; an empty $LOTLINE_CONFIG reads none). Flags override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The cache database. Default: the configuration's `[cache] db`, else the user data
    /// directory, created with demo data on first run.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// UI language (default: from $LANG).
    #[arg(long, value_enum)]
    lang: Option<LangArg>,
    /// A device to use, by hw-profile name, optionally with its port: `impinj-r2000=/dev/ttyUSB0`.
    /// Repeat for a scanner and a reader. Without any, `--devices` decides.
    #[arg(long = "device", value_name = "PROFILE[=PORT]")]
    devices_given: Vec<String>,
    /// Without --device: `auto` uses the profiled devices attached to this machine, or simulated
    /// ones when none is found; `simulated` always simulates; `none` uses only the keyboard.
    /// Default: the configuration's `[devices] mode`, else auto.
    #[arg(long, value_enum)]
    devices: Option<DevicesArg>,
    /// Minutes without an action after which the app locks and asks for a login again
    /// (default: the configuration's, else 5).
    #[arg(long, value_name = "MINUTES")]
    idle_lock: Option<u32>,
    /// No verdict sounds (the LEDs and vibrator a terminal profile names still answer).
    #[arg(long)]
    mute: bool,
    /// Verdict sound volume, in percent of the sounds' own level (default: the configuration's,
    /// else 100).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    volume: Option<u8>,
    /// Device profiles that override or add to the shipped ones (default: the configuration's,
    /// else /etc/lotline/hw-profiles.d).
    #[arg(long, global = true)]
    profiles_dir: Option<PathBuf>,
    /// The configuration file's settings, read once the flags are parsed.
    #[arg(skip)]
    settings: crate::config::Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum ConfigCmd {
    /// Checks FILE (default /etc/lotline/lotline.toml): exit 0 when valid; otherwise exit 1 with
    /// each problem as `FILE:LINE: key: problem` (in English, then in Chinese) on stderr.
    Check { file: Option<PathBuf> },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum LangArg {
    En,
    Zh,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
enum DevicesArg {
    Auto,
    Simulated,
    None,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum GateArg {
    Receive,
    Pick,
    Count,
}

impl From<GateArg> for Gate {
    fn from(g: GateArg) -> Gate {
        match g {
            GateArg::Receive => Gate::Receive,
            GateArg::Pick => Gate::Pick,
            GateArg::Count => Gate::Count,
        }
    }
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
enum ScreenArg {
    Home,
    Scan,
    Lookup,
    Rfid,
    Login,
    Receive,
    /// The pick gate's guided screen (its tasks, or the flow `--script` leaves open).
    Pick,
    /// The count gate's guided screen.
    Count,
    /// The health report (Home's developer menu), once it is gathered.
    Health,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write a realistic demo cache (food, pharma, medical devices; expired, near-expiry, quarantined, on-hold and recalled lots).
    DemoData {
        /// Number of random lots (plus a few named showcase lots).
        #[arg(long, default_value_t = 5000)]
        lots: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Date the expiries are spread around (default: today).
        #[arg(long, value_parser = parse_date_arg)]
        today: Option<NaiveDate>,
    },
    /// Load master data from JSON in one transaction: all or nothing, with row-level errors.
    Import {
        /// The JSON file (see README, "Import format").
        file: PathBuf,
    },
    /// Check scans against the cache; prints one JSON object per scan.
    Check {
        #[arg(long, value_enum)]
        gate: GateArg,
        #[arg(long, value_parser = parse_date_arg)]
        today: Option<NaiveDate>,
        /// Customer id for the pick's minimum remaining shelf life.
        #[arg(long)]
        customer: Option<String>,
        /// Check against a task: its items (others are `wrong_item`) and its customer.
        #[arg(long)]
        task: Option<String>,
        /// Scans; `\x1d` or `<GS>` stands for the GS separator. Without any, one scan per line on stdin.
        scans: Vec<String>,
    },
    /// Decode scans with the scan grammar (no cache needed); one JSON object per scan.
    Decode {
        /// Resolves two-digit years (default: today).
        #[arg(long, value_parser = parse_date_arg)]
        today: Option<NaiveDate>,
        /// Accept zero-suppressed GTIN-8/12/13 in Digital Link paths.
        #[arg(long)]
        lenient_dl: bool,
        /// Scans; `\x1d` or `<GS>` stands for GS, a leading `]xx` is the symbology identifier.
        /// Without any, one scan per line on stdin.
        scans: Vec<String>,
    },
    /// Decode RFID EPC memory banks given in hex; one JSON object per tag.
    Epc {
        /// EPCs in hex. Without any, one per line on stdin.
        hex: Vec<String>,
    },
    /// Render a screen headless to PNG with the software renderer.
    Screenshot {
        #[arg(long, value_enum)]
        screen: ScreenArg,
        #[arg(long)]
        out: PathBuf,
        /// Window size, WIDTHxHEIGHT.
        #[arg(long, default_value = "720x1280", value_parser = parse_size)]
        size: (u32, u32),
        #[arg(long = "lang", value_enum, default_value = "en")]
        shot_lang: LangArg,
        /// A scan to show (scan screen: its verdict; lookup: its lot card).
        #[arg(long)]
        scan: Option<String>,
        /// Ops to run first, as `run-script` takes them (they are recorded in the database).
        #[arg(long)]
        script: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "pick")]
        gate: GateArg,
        #[arg(long, value_parser = parse_date_arg)]
        today: Option<NaiveDate>,
    },
    /// Prints what a scanner or RFID reader sends: one JSON object per event.
    Listen {
        /// The hw-profile of the device (`lotline profiles list`).
        #[arg(long)]
        profile: String,
        /// The device path, instead of the profile's.
        #[arg(long)]
        port: Option<String>,
        /// Stop after this many seconds (default: until interrupted).
        #[arg(long)]
        duration: Option<f64>,
        /// RFID: start an inventory once the reader answers.
        #[arg(long)]
        inventory: bool,
    },
    /// A simulated device on a pseudo-terminal, speaking the real protocol; prints its path.
    Simulate {
        #[command(subcommand)]
        what: SimulateWhat,
    },
    /// Device profiles: check them, list them, print their JSON Schema.
    Profiles {
        #[command(subcommand)]
        what: ProfilesWhat,
    },
    /// Drive the gates without a screen: one JSON op a line (see README, "run-script"); prints
    /// one JSON line per op.
    RunScript {
        /// The script, JSON lines; `-` reads stdin.
        #[arg(long)]
        script: String,
        /// The date the shelf-life rules apply (default: the date of --now, or today).
        #[arg(long, value_parser = parse_date_arg)]
        today: Option<NaiveDate>,
        /// The time every op is recorded at, RFC 3339 (default: the clock, read once per op).
        #[arg(long, value_parser = parse_time_arg)]
        now: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// The label printer, by hw-profile name with its port or file: `zebra-zd421-zpl=/dev/ttyUSB1`.
        /// Default: a simulated printer that writes the ZPL beside the label's PNG (or the database).
        #[arg(long, value_name = "PROFILE[=PORT]")]
        printer: Option<String>,
    },
    /// Stock in the cache: one JSON line per location and lot.
    Stock {
        #[arg(long)]
        item: Option<String>,
        #[arg(long)]
        lot: Option<String>,
        #[arg(long)]
        location: Option<String>,
    },
    /// Enrols this device with a lotline-hub using a one-time code (`lotline-hub enroll`), making
    /// its cache if there is none (the master data comes with the first sync); prints one JSON
    /// line: {device_id, site, server}.
    Enroll {
        /// The hub's URL: https://…, or http:// to this machine (or with --allow-plain-http).
        /// Default: the configuration's `[hub] url`.
        #[arg(long)]
        server: Option<String>,
        #[arg(long)]
        code: String,
        /// A site's own CA certificate (PEM), trusted besides the web's roots (default: the
        /// configuration's `[hub] ca`).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Allow plain http to a host other than this machine (a trusted network only).
        #[arg(long)]
        allow_plain_http: bool,
    },
    /// A health report to read over the phone, in the UI language: the devices (found, simulated,
    /// lost), the cache (integrity, size, free disk), the clock (against the hub's), the hub
    /// (enrolled, reachable, last sync) and the queue (unsent, the oldest's age). Exit 0 when all
    /// is well, 1 when something needs attention (lines marked !!).
    Doctor {
        /// Which devices to look for when none is named (default: as the app would, from the
        /// configuration, else auto).
        #[arg(long = "devices", value_enum)]
        devices_mode: Option<DevicesArg>,
    },
    /// Checks a configuration file.
    Config {
        #[command(subcommand)]
        what: ConfigCmd,
    },
    /// Syncs with the hub: without --once, in the foreground until SIGINT/SIGTERM, one log line
    /// per cycle; with --once, until the queue is empty and every bucket current, then one JSON
    /// line: {uploaded, applied, rejected, downloaded, buckets, queued}.
    Sync {
        #[arg(long)]
        once: bool,
    },
    /// The commands waiting for the hub.
    Outbox {
        #[command(subcommand)]
        what: OutboxWhat,
    },
    /// The tamper-evident audit record.
    Audit {
        #[command(subcommand)]
        what: AuditWhat,
    },
    /// Benchmarks; prints medians and percentiles.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
}

#[derive(Subcommand, Debug)]
enum OutboxWhat {
    /// One JSON line per command, oldest first: {id, device_id, seq, type, schema_version,
    /// created_at, operator, payload, state}.
    List,
    /// Writes the commands not yet sent to the hub to a file (for a site without network, to
    /// carry on a USB stick to `lotline-hub ingest`); prints one JSON line: {out, commands,
    /// first_seq, last_seq}.
    Export {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
}

#[derive(Subcommand, Debug)]
enum AuditWhat {
    /// Walks the hash chain: exit 0 with the number of entries checked, or 1 naming the first
    /// entry that was edited, inserted, deleted or reordered.
    Verify,
    /// Writes the audit record to a file.
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
    },
}

#[derive(Subcommand, Debug)]
enum SimulateWhat {
    /// A serial barcode scanner. Scans come from the script, or one per line on stdin; the lines
    /// `pause MS`, `unplug` and `replug` do what they say. Runs until interrupted or --duration.
    Scanner {
        /// A serial scanner profile (its framing, or SSI packets).
        #[arg(long, default_value = "generic-cdc-scanner")]
        profile: String,
        #[arg(long)]
        script: Option<PathBuf>,
        /// Pause between script lines, milliseconds.
        #[arg(long, default_value_t = 1000)]
        interval: u64,
        /// Also make this symlink to the device (a stable name, as udev gives real ones).
        #[arg(long)]
        link: Option<PathBuf>,
        #[arg(long)]
        duration: Option<f64>,
    },
    /// A UHF RFID reader module with tags in its field. Lines on stdin: `unplug`, `replug`.
    Rfid {
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::devices::codec::PROTOCOLS))]
        protocol: String,
        /// Tags in the field (SGTIN-96 of the demo items).
        #[arg(long, default_value_t = 50)]
        tags: usize,
        /// Tag reports per second while reading (0: as fast as the line carries).
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        /// Percent of frames sent with a flipped bit.
        #[arg(long, default_value_t = 0.0)]
        corrupt: f64,
        /// Line speed the output is paced to (default: the protocol's).
        #[arg(long)]
        baud: Option<u32>,
        #[arg(long)]
        link: Option<PathBuf>,
        #[arg(long)]
        duration: Option<f64>,
    },
}

#[derive(Subcommand, Debug)]
enum ProfilesWhat {
    /// Validates profiles: the files in DIR, or the shipped ones with the overrides. Exit 1 on a problem.
    Check { dir: Option<PathBuf> },
    /// Lists the profiles in effect and where each comes from.
    List,
    /// Prints the JSON Schema of a profile file.
    Schema,
}

#[derive(Subcommand, Debug)]
enum BenchWhat {
    /// Scans parsed per second on one core: GS1 DataMatrix (4–6 AIs), Digital Link, HIBC, EPC hex.
    Grammar {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Seconds per kind per round.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Only this kind: gs1, digital_link, hibc or epc.
        #[arg(long)]
        kind: Option<String>,
    },
    /// RFID ingest per protocol, scan latency over a pseudo-terminal, replug time, line-rate soak.
    Devices {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Seconds of the line-rate soak (0 skips it).
        #[arg(long, default_value_t = 60.0)]
        soak: f64,
        /// Scans timed for the latency figures.
        #[arg(long, default_value_t = 300)]
        scans: usize,
    },
    /// `lotline import` of a generated file of N lots (with their items, locations and stock):
    /// time, rows per second and peak resident memory of the import process.
    Import {
        /// Lots in the generated file (each with one stock row).
        #[arg(long, default_value_t = 1_000_000)]
        lots: usize,
        /// Where the file and the database are written (default: a new directory in $TMPDIR);
        /// both are removed afterwards.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// An RFID count of N unique tags in one location: from the last read to the reconciled
    /// variances (tags resolved to lots through the serial registry, counted, location closed,
    /// count finished); median of the rounds and peak memory.
    Count {
        #[arg(long, default_value_t = 10_000)]
        tags: usize,
        /// Lots the tags belong to.
        #[arg(long, default_value_t = 20)]
        lots: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Sync against the embedded hub on loopback: first downloads of `lots` lots into empty
    /// caches (rows/s, peak memory) and draining `commands` queued commands (medians of `rounds`
    /// each), and the verdict on the device against an HTTP look-up of the same lot (the ratio).
    #[cfg(feature = "embedded-hub")]
    Sync {
        #[arg(long, default_value_t = 1_000_000)]
        lots: usize,
        #[arg(long, default_value_t = 10_000)]
        commands: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Lots looked up both ways for the ratio.
        #[arg(long, default_value_t = 2_000)]
        lookups: usize,
        /// Where the hub's database for `lots` is kept between runs (default: the temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Launches the app again and again (`--db`, or a generated cache of --lots lots) and times
    /// each start until the first scan is judged, and its memory then: medians of cold starts
    /// (the cache file and the binary evicted from the page cache) and of warm ones.
    Startup {
        /// Lots in the generated cache (when no --db is given).
        #[arg(long, default_value_t = 1_000_000)]
        lots: usize,
        /// Cold launches, and as many warm ones.
        #[arg(long, default_value_t = 7)]
        rounds: usize,
        /// Where the generated cache is kept and reused (shared with `bench verdict`).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// The app's window: real (X11, Wayland, KMS) or drawn in memory by the software
        /// renderer. Default: real where DISPLAY or WAYLAND_DISPLAY is set, else memory.
        #[arg(long, value_enum)]
        window: Option<crate::bench_startup::Window>,
    },
    /// Decode + cache lookup + rules per scan, on a small and a large cache.
    Verdict {
        /// Lots in the large cache.
        #[arg(long, default_value_t = 1_000_000)]
        lots: usize,
        /// Lots in the small cache.
        #[arg(long, default_value_t = 1_000)]
        small: usize,
        /// Timed scans per cache.
        #[arg(long, default_value_t = 20_000)]
        scans: usize,
        /// Where the generated caches are kept and reused.
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
}

fn parse_date_arg(s: &str) -> Result<NaiveDate, String> {
    parse_iso_date(s).map_err(|e| e.why)
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT, e.g. 720x1280"))?;
    let w: u32 = w.trim().parse().map_err(|_| format!("bad width in '{s}'"))?;
    let h: u32 = h.trim().parse().map_err(|_| format!("bad height in '{s}'"))?;
    if !(200..=4096).contains(&w) || !(200..=4096).contains(&h) {
        return Err(format!("'{s}': width and height must be 200 to 4096"));
    }
    Ok((w, h))
}

fn parse_time_arg(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map_err(|_| format!("'{s}' is not an RFC 3339 time such as 2026-12-02T08:30:00+08:00"))
}

fn today_or_clock(t: Option<NaiveDate>) -> NaiveDate {
    t.unwrap_or_else(|| chrono::Local::now().date_naive())
}

fn require_db(db: &Option<PathBuf>) -> anyhow::Result<&Path> {
    db.as_deref().ok_or_else(|| {
        anyhow::Error::new(Text::new(
            "--db PATH is required for this command (or [cache] db in the configuration)",
            "此命令需要 --db PATH（或配置文件中的 [cache] db）",
        ))
    })
}

impl Cli {
    /// Profiles that override the shipped ones: the flag, the configuration, or the system folder.
    fn profiles_dir(&self) -> PathBuf {
        self.profiles_dir
            .clone()
            .or_else(|| self.settings.profiles_dir.clone())
            .unwrap_or_else(|| PathBuf::from(crate::devices::profile::SYSTEM_DIR))
    }

    /// Reads the configuration in effect (`--config`, else `$LOTLINE_CONFIG`, else the default
    /// file when it exists) and fills in what no flag gave.
    fn read_config(&mut self) -> anyhow::Result<()> {
        let from_env = std::env::var_os("LOTLINE_CONFIG");
        let given = self.config.clone().or_else(|| from_env.clone().map(PathBuf::from));
        let loaded = match (&given, &from_env) {
            (None, Some(_)) => None,
            (Some(p), _) if p.as_os_str().is_empty() => None,
            (given, _) => crate::config::load_effective(given.as_deref())?,
        };
        let Some((_, c)) = loaded else { return Ok(()) };
        if self.db.is_none() {
            self.db = c.db.clone();
        }
        if self.lang.is_none() {
            self.lang = c.language.map(|l| match l {
                crate::config::Language::En => LangArg::En,
                crate::config::Language::Zh => LangArg::Zh,
            });
        }
        if self.devices_given.is_empty() {
            self.devices_given = c.devices.clone();
        }
        if self.devices.is_none() {
            self.devices = c.devices_mode.map(|m| match m {
                crate::config::DevicesMode::Auto => DevicesArg::Auto,
                crate::config::DevicesMode::Simulated => DevicesArg::Simulated,
                crate::config::DevicesMode::None => DevicesArg::None,
            });
        }
        if self.idle_lock.is_none() {
            self.idle_lock = c.idle_lock_minutes;
        }
        if self.volume.is_none() {
            self.volume = c.volume;
        }
        self.settings = c;
        Ok(())
    }
}

/// `lotline config check [FILE]`.
/// True when the file is valid; otherwise its problems are on stderr.
fn config_check(file: Option<PathBuf>) -> anyhow::Result<bool> {
    let path = file.unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_PATH));
    match crate::config::load(&path) {
        Ok(_) => {
            println!("{}: valid / 有效", path.display());
            Ok(true)
        }
        Err(e) => {
            let mut err = std::io::stderr().lock();
            for p in &e.0 {
                writeln!(err, "{p}")?;
            }
            for p in &e.0 {
                writeln!(err, "{}", p.line_zh())?;
            }
            Ok(false)
        }
    }
}

fn lang_from_env() -> Lang {
    let v = std::env::var("LC_ALL")
        .or_else(|_| std::env::var("LANG"))
        .unwrap_or_default();
    if v.starts_with("zh") { Lang::Zh } else { Lang::En }
}

/// Runs the command line; the exit code is 0 on success, 1 on a failure (message on stderr), 2 on bad usage.
pub fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // `config check` reads the file it is given and nothing else: the file in effect may be the
    // broken one.
    if let Some(Command::Config {
        what: ConfigCmd::Check { file },
    }) = &cli.command
    {
        return match config_check(file.clone()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => report(&e),
        };
    }
    if let Err(e) = cli.read_config() {
        return report(&e);
    }
    crate::logging::init(cli.settings.log_level.as_deref());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
    }
}

/// Writes a failure to stderr, in English and in Chinese; exit code 1.
fn report(e: &anyhow::Error) -> ExitCode {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "lotline: {e:#}");
    if let Some(zh) = message_zh(e) {
        let _ = writeln!(err, "lotline: {zh}");
    }
    ExitCode::FAILURE
}

/// A command's report to the person at the terminal, on stderr: what it made, the problems it
/// found in a file it was given, what a simulator sent. Not a log line: what the app says while it
/// runs goes through `tracing` (to the journal under systemd, see `logging`).
fn tell(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A problem in both languages, English first (`prefix` names the file or is "lotline").
fn tell_both(prefix: &str, problem: &(impl Bilingual + std::fmt::Display)) {
    tell(format_args!("{prefix}: {problem}"));
    tell(format_args!("{prefix}: {}", problem.message_zh()));
}

/// The Chinese message of the first error in `e`'s chain that has one.
///
/// Every error type a user can meet implements [`Bilingual`] and is listed here.
fn message_zh(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|cause| {
        if let Some(t) = cause.downcast_ref::<Text>() {
            return Some(t.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::config::ConfigError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::devices::profile::ProfileError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::sync::SyncError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::store::sync::EnrollError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<ImportError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::app::label::LabelError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::devices::printer::PrinterError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::app::devices::StartError>() {
            return Some(e.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<crate::devices::sim::SimError>() {
            return Some(e.message_zh());
        }
        None
    })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let profiles_dir = cli.profiles_dir();
    match cli.command {
        None => {
            // The KMS backend turns the screen as the configuration says, unless the environment
            // already does (it is read when the backend starts, below).
            if let Some(r) = cli.settings.rotation
                && std::env::var_os("SLINT_KMS_ROTATION").is_none()
            {
                // SAFETY: no other thread runs yet; the backend reads the variable later on this one.
                unsafe { std::env::set_var("SLINT_KMS_ROTATION", r.to_string()) };
            }
            run_gui(
                cli.db,
                cli.lang.map(Lang::from).unwrap_or_else(lang_from_env),
                &cli.devices_given,
                cli.devices.unwrap_or(DevicesArg::Auto),
                &profiles_dir,
                cli.idle_lock.unwrap_or(5),
                if cli.mute { 0 } else { cli.volume.unwrap_or(100) },
            )
        }
        Some(Command::DemoData { lots, seed, today }) => {
            let path = require_db(&cli.db)?;
            let new = NewFile::before(path);
            let mut store = Store::create(path).inspect_err(|_| new.undo())?;
            let sum = match demo::generate(&mut store, lots, seed, today_or_clock(today)) {
                Ok(sum) => sum,
                Err(e) => {
                    drop(store);
                    new.undo();
                    return Err(e.in_file(path).into());
                }
            };
            tell(format_args!(
                "wrote {} items, {} lots, {} stock rows, {} locations, {} customers, {} tasks to {}",
                sum.items,
                sum.lots,
                sum.stock_rows,
                sum.locations,
                sum.customers,
                sum.tasks,
                path.display()
            ));
            tell(format_args!(
                "try:  lotline check --db {} --gate pick '{}'",
                path.display(),
                sum.scans[0].scan
            ));
            Ok(())
        }
        Some(Command::Import { file }) => {
            let path = require_db(&cli.db)?;
            // Streamed: the file is never read into memory whole.
            let f = std::fs::File::open(&file).map_err(|e| {
                Text::new(
                    format!("cannot read {}: {e}", file.display()),
                    format!("无法读取 {}：{e}", file.display()),
                )
            })?;
            let new = NewFile::before(path);
            let mut store = Store::create(path).inspect_err(|_| new.undo())?;
            let result = import_from(&mut store, std::io::BufReader::with_capacity(1 << 16, f));
            if result.is_err() {
                // A cache this command created and could not fill is removed again.
                drop(store);
                new.undo();
            }
            match result {
                Ok(sum) => {
                    println!("{}", serde_json::to_string(&sum)?);
                    Ok(())
                }
                Err(ImportError::Rows { errors, more }) => {
                    let name = file.display().to_string();
                    for r in &errors {
                        tell_both(&name, r);
                    }
                    if more > 0 {
                        tell(format_args!("{name}: … and {more} more problem(s)"));
                        tell(format_args!("{name}: …… 另有 {more} 个问题"));
                    }
                    let n = errors.len() + more;
                    Err(Text::new(
                        format!("{n} problem(s) in {}; nothing was imported", file.display()),
                        format!("{} 中有 {n} 个问题；未导入任何数据", file.display()),
                    )
                    .into())
                }
                // The database's own trouble (busy, full, damaged) names the database, not the JSON.
                Err(ImportError::Store(e)) => Err(e.in_file(path).into()),
                Err(e) => {
                    let t = Text::new(
                        format!("importing {}: {e}; nothing was imported", file.display()),
                        format!("导入 {}：{}", file.display(), e.message_zh()),
                    );
                    Err(t.into())
                }
            }
        }
        Some(Command::Check {
            gate,
            today,
            customer,
            task,
            scans,
        }) => {
            let path = require_db(&cli.db)?;
            // `check` only reads: it works on a read-only cache and never changes the file.
            let store = Store::open_read_only(path)?;
            let named = |e: StoreError| e.in_file(path);
            let today = today_or_clock(today);
            let mut ctx = match &task {
                Some(id) => {
                    let t = store
                        .task(id)
                        .map_err(named)?
                        .with_context(|| format!("task '{id}' is not in {}", path.display()))?;
                    crate::app::check::task_context(&store, &t).map_err(named)?
                }
                None => CheckContext::default(),
            };
            if let Some(id) = customer {
                ctx.customer = Some(
                    store
                        .customer(&id)
                        .map_err(named)?
                        .with_context(|| format!("customer '{id}' is not in {}", path.display()))?,
                );
            }
            let out = std::io::stdout();
            let mut out = out.lock();
            let one = |scan: &str| -> anyhow::Result<serde_json::Value> {
                Ok(check_scan(&store, gate.into(), scan.as_bytes(), &ctx, today)
                    .map_err(named)?
                    .to_json())
            };
            if scans.is_empty() {
                for_each_stdin_line(|line| {
                    let v = match line {
                        InputLine::Scan(text) => one(&text)?,
                        other => other.problem_json("scan"),
                    };
                    writeln!(out, "{v}")?;
                    Ok(())
                })?;
            } else {
                for s in &scans {
                    writeln!(out, "{}", one(s)?)?;
                }
            }
            Ok(())
        }
        Some(Command::RunScript {
            script,
            today,
            now,
            printer,
        }) => run_script(
            require_db(&cli.db)?,
            &script,
            today,
            now,
            printer.as_deref(),
            &profiles_dir,
        ),
        Some(Command::Stock { item, lot, location }) => {
            let path = require_db(&cli.db)?;
            let store = Store::open_read_only(path)?;
            let out = std::io::stdout();
            let mut out = out.lock();
            for row in store
                .stock_lines(item.as_deref(), lot.as_deref(), location.as_deref())
                .map_err(|e| e.in_file(path))?
            {
                writeln!(out, "{}", serde_json::to_string(&row)?)?;
            }
            Ok(())
        }
        Some(Command::Enroll {
            server,
            code,
            ca,
            allow_plain_http,
        }) => {
            let path = require_db(&cli.db)?;
            let server = server.or_else(|| cli.settings.hub_url.clone()).ok_or_else(|| {
                Text::new(
                    "--server URL is required (or [hub] url in the configuration)",
                    "需要 --server URL（或配置文件中的 [hub] url）",
                )
            })?;
            let ca = ca.or_else(|| cli.settings.hub_ca.clone());
            // A new handheld's cache is made by its enrolment (its master data comes with the
            // first sync); a failed enrolment leaves the path as it was.
            let new = NewFile::before(path);
            let mut store = Store::create(path).inspect_err(|_| new.undo())?;
            let rt = sync_runtime()?;
            let resp = match rt.block_on(crate::sync::enroll(
                &mut store,
                &server,
                &code,
                ca.as_deref(),
                allow_plain_http,
            )) {
                Ok(r) => r,
                Err(e) => {
                    drop(store);
                    new.undo();
                    return Err(e.into());
                }
            };
            let cfg = store.sync_config().map_err(|e| e.in_file(path))?;
            println!(
                "{}",
                serde_json::json!({
                    "device_id": resp.device_id,
                    "site": resp.site,
                    "server": cfg.map(|c| c.url).unwrap_or(server),
                })
            );
            Ok(())
        }
        Some(Command::Sync { once }) => sync_command(require_db(&cli.db)?, once),
        Some(Command::Config {
            what: ConfigCmd::Check { file },
        }) => {
            // `main` runs this before reading any configuration; here for completeness.
            if !config_check(file)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Some(Command::Doctor { devices_mode }) => {
            use crate::app::doctor;
            let db = match cli.db.clone() {
                Some(p) => p,
                None => default_db()?,
            };
            let mode = match devices_mode.or(cli.devices).unwrap_or(DevicesArg::Auto) {
                DevicesArg::Auto => doctor::DevicesMode::Auto,
                DevicesArg::Simulated => doctor::DevicesMode::Simulated,
                DevicesArg::None => doctor::DevicesMode::None,
            };
            let profiles = load_profiles(&profiles_dir);
            let machine = crate::app::devices::MachineInfo::default();
            let input = doctor::Input {
                db: &db,
                devices: &cli.devices_given,
                mode,
                profiles: &profiles,
                machine: &machine,
                site: cli.settings.site.as_deref(),
                now: chrono::Local::now().fixed_offset(),
                live: None,
            };
            let report = doctor::gather(&input, &|c| doctor::hub_health(c, std::time::Duration::from_secs(5)));
            let zh = cli.lang.map(Lang::from).unwrap_or_else(lang_from_env) == Lang::Zh;
            for line in report.lines(zh) {
                println!("{line}");
            }
            if report.needs_attention() {
                std::io::stdout().flush()?;
                std::process::exit(1);
            }
            Ok(())
        }
        Some(Command::Outbox {
            what: OutboxWhat::Export { out },
        }) => {
            let path = require_db(&cli.db)?;
            let store = Store::open_read_only(path)?;
            let (n, range) = crate::app::script::export_outbox(&store, &out, chrono::Local::now().fixed_offset())
                .map_err(|e| e.in_file(path))?;
            println!(
                "{}",
                serde_json::json!({
                    "out": out.display().to_string(),
                    "commands": n,
                    "first_seq": range.map(|r| r.0),
                    "last_seq": range.map(|r| r.1),
                })
            );
            Ok(())
        }
        Some(Command::Outbox { what: OutboxWhat::List }) => {
            let path = require_db(&cli.db)?;
            let store = Store::open_read_only(path)?;
            let out = std::io::stdout();
            let mut out = out.lock();
            for c in store.outbox_commands().map_err(|e| e.in_file(path))? {
                writeln!(out, "{}", serde_json::to_string(&c)?)?;
            }
            Ok(())
        }
        Some(Command::Audit { what }) => {
            let path = require_db(&cli.db)?;
            let store = Store::open_read_only(path)?;
            match what {
                AuditWhat::Verify => match store.audit_verify().map_err(|e| e.in_file(path))? {
                    Ok(n) => {
                        println!("{}: the audit chain is intact; {n} entries checked", path.display());
                        println!("{}：审计链完整；已检查 {n} 条记录", path.display());
                        Ok(())
                    }
                    Err(b) => Err(Text::new(
                        format!("{}: {}", path.display(), b.message_en()),
                        format!("{}：{}", path.display(), b.message_zh()),
                    )
                    .into()),
                },
                AuditWhat::Export { out, format } => {
                    let n = crate::app::script::export_audit(&store, &out, matches!(format, ExportFormat::Json))
                        .map_err(|e| e.in_file(path))?;
                    println!("{n} audit entries written to {}", out.display());
                    Ok(())
                }
            }
        }
        Some(Command::Decode {
            today,
            lenient_dl,
            scans,
        }) => {
            let today = today_or_clock(today);
            let mut settings = ScanSettings::default();
            settings.digital_link.lenient_gtin = lenient_dl;
            for_each_input(scans, |input| {
                let raw = input.as_bytes();
                Ok(crate::app::decode::scan_json(
                    input,
                    &parse_scan(raw, None, &settings, today),
                ))
            })
        }
        Some(Command::Epc { hex }) => for_each_input(hex, |input| Ok(crate::app::decode::epc_json(input))),
        Some(Command::Screenshot {
            screen,
            out,
            size,
            shot_lang,
            scan,
            script,
            gate,
            today,
        }) => screenshot(
            cli.db,
            &profiles_dir,
            screen,
            &out,
            size,
            shot_lang.into(),
            scan.as_deref(),
            script.as_deref(),
            gate.into(),
            today,
        ),
        Some(Command::Listen {
            profile,
            port,
            duration,
            inventory,
        }) => listen(&profiles_dir, &profile, port.as_deref(), duration, inventory),
        Some(Command::Simulate { what }) => simulate(&profiles_dir, what),
        Some(Command::Profiles { what }) => profiles(&profiles_dir, what),
        Some(Command::Bench {
            what: BenchWhat::Grammar { rounds, seconds, kind },
        }) => crate::bench::grammar(rounds, seconds, kind.as_deref()),
        Some(Command::Bench {
            what: BenchWhat::Import { lots, dir },
        }) => crate::bench::import(lots, dir),
        Some(Command::Bench {
            what: BenchWhat::Count { tags, lots, rounds },
        }) => crate::bench::count(tags, lots, rounds),
        #[cfg(feature = "embedded-hub")]
        Some(Command::Bench {
            what:
                BenchWhat::Sync {
                    lots,
                    commands,
                    rounds,
                    lookups,
                    dir,
                },
        }) => crate::bench_sync::sync(lots, commands, rounds, lookups, dir),
        Some(Command::Bench {
            what: BenchWhat::Devices { rounds, soak, scans },
        }) => crate::bench_devices::devices(rounds, soak, scans),
        Some(Command::Bench {
            what:
                BenchWhat::Startup {
                    lots,
                    rounds,
                    cache_dir,
                    window,
                },
        }) => crate::bench_startup::startup(cli.db.clone(), lots, rounds, cache_dir, window),
        Some(Command::Bench {
            what:
                BenchWhat::Verdict {
                    lots,
                    small,
                    scans,
                    cache_dir,
                },
        }) => crate::bench::verdict(lots, small, scans, cache_dir),
    }
}

/// The sync client's runtime on this thread (the command line has no event loop to keep).
fn sync_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(crate::sync::runtime()?)
}

static STOP_SIGNAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP_SIGNAL.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// `lotline sync`: cycles until current (`--once`), or the worker in the foreground.
fn sync_command(path: &Path, once: bool) -> anyhow::Result<()> {
    let mut store = Store::open(path)?;
    let client = crate::sync::client_for(&store)?;
    if once {
        let rt = sync_runtime()?;
        let now = || chrono::Local::now().fixed_offset();
        let mut total = crate::sync::CycleReport::default();
        for _ in 0..20 {
            let r = rt.block_on(crate::sync::cycle(&mut store, &client, &now, &mut |_| {}))?;
            total.uploaded += r.uploaded;
            total.applied += r.applied;
            total.rejected += r.rejected;
            total.downloaded += r.downloaded;
            total.buckets = r.buckets;
            total.queued = r.queued;
            total.deferred = r.deferred;
            if r.current() {
                break;
            }
        }
        println!(
            "{}",
            serde_json::json!({
                "uploaded": total.uploaded,
                "applied": total.applied,
                "rejected": total.rejected,
                "downloaded": total.downloaded,
                "buckets": total.buckets,
                "queued": total.queued,
            })
        );
        if !total.current() {
            return Err(Text::new(
                format!(
                    "{} command(s) are still queued after 20 cycles; run `lotline sync --once` again",
                    total.queued
                ),
                format!(
                    "20 轮同步后仍有 {} 条指令在队列中；请再次运行 `lotline sync --once`",
                    total.queued
                ),
            )
            .into());
        }
        return Ok(());
    }
    drop(store);
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_stop_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_stop_signal as *const () as libc::sighandler_t);
    }
    tracing::info!("syncing {} with {} (Ctrl-C stops)", path.display(), client.base());
    let handle = crate::sync::worker::start(
        path.to_owned(),
        Box::new(|_| {}),
        Box::new(|r| match r {
            Ok(r) => tracing::info!("sync: {}", serde_json::to_string(r).unwrap_or_default()),
            Err(e) => tracing::warn!(zh = %e.message_zh(), "sync: {e}"),
        }),
    );
    while !STOP_SIGNAL.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    tracing::info!("sync stopped");
    handle.stop();
    Ok(())
}

/// Runs `f` on each argument, or on each stdin line when there are none, printing one JSON line
/// per input: a line that is empty or too long gets an error line of its own, so the output has
/// as many lines as the input. Lines that are not valid UTF-8 are decoded lossily.
fn for_each_input(
    args: Vec<String>,
    mut f: impl FnMut(&str) -> anyhow::Result<serde_json::Value>,
) -> anyhow::Result<()> {
    let out = std::io::stdout();
    let mut out = out.lock();
    if args.is_empty() {
        for_each_stdin_line(|line| {
            let v = match line {
                InputLine::Scan(text) => f(&text)?,
                other => other.problem_json("input"),
            };
            writeln!(out, "{v}")?;
            Ok(())
        })?;
    } else {
        for a in &args {
            writeln!(out, "{}", f(a)?)?;
        }
    }
    Ok(())
}

/// The longest stdin line taken as a scan. A real barcode is at most a few kB (a GS1 DataMatrix
/// holds 3,116 characters); anything longer is not a scan and must not fill the memory.
const MAX_LINE_BYTES: usize = 16 * 1024;

/// How much of a refused line is shown.
const SHOWN_CHARS: usize = 64;

/// One line of stdin.
#[derive(Debug, PartialEq, Eq)]
enum InputLine {
    /// A scan (without its line end, `\r\n` or `\n`).
    Scan(String),
    /// Empty or only whitespace.
    Empty(String),
    /// Longer than [`MAX_LINE_BYTES`]: its start and its length in bytes.
    TooLong { head: String, bytes: u64 },
}

impl InputLine {
    /// The error for a line that is not taken: code and message.
    fn problem(&self) -> Option<(&'static str, Text)> {
        match self {
            InputLine::Scan(_) => None,
            InputLine::Empty(_) => Some((
                "empty_line",
                Text::new(
                    "the line is empty: nothing to read (give one scan per line)",
                    "该行为空：没有可读取的内容（每行一个扫描）",
                ),
            )),
            InputLine::TooLong { bytes, .. } => Some((
                "line_too_long",
                Text::new(
                    format!(
                        "the line is {bytes} bytes long, more than a scan may be ({MAX_LINE_BYTES} bytes): \
                         skipped (give one scan per line)"
                    ),
                    format!("该行长 {bytes} 字节，超过扫描数据的上限（{MAX_LINE_BYTES} 字节）：已跳过（每行一个扫描）"),
                ),
            )),
        }
    }

    /// What the line's output shows as its input.
    fn shown(&self) -> String {
        match self {
            InputLine::Scan(s) | InputLine::Empty(s) => s.clone(),
            InputLine::TooLong { head, .. } => format!("{head}…"),
        }
    }

    /// The JSON line for a line that is not taken; `key` names the input (`input` for decode and
    /// epc, `scan` for check, as in their other lines).
    fn problem_json(&self, key: &str) -> serde_json::Value {
        let (code, text) = self.problem().expect("a line that is not a scan");
        let mut error = serde_json::json!({"code": code, "message": text.en, "message_zh": text.zh});
        if let InputLine::TooLong { bytes, .. } = self {
            error["bytes"] = serde_json::json!(bytes);
        }
        let mut v = serde_json::Map::new();
        v.insert(key.into(), serde_json::json!(self.shown()));
        if key == "scan" {
            v.insert("verdict".into(), serde_json::Value::Null);
        }
        v.insert("ok".into(), serde_json::json!(false));
        v.insert("error".into(), error);
        serde_json::Value::Object(v)
    }
}

/// Reads one line of at most [`MAX_LINE_BYTES`] (plus its line end); a longer one is read to its
/// end without being kept, so memory stays bounded whatever comes in. `None` at the end of input.
fn read_input_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<InputLine>> {
    buf.clear();
    let mut bytes: u64 = 0;
    let mut any = false;
    let mut last = 0u8;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            if !any {
                return Ok(None);
            }
            break;
        }
        any = true;
        let (take, newline) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        // Keep one byte more than the limit (a `\r` may end the line), never more.
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&avail[..take.min(room)]);
        if take > 0 {
            last = avail[take - 1];
        }
        bytes += take as u64;
        r.consume(take + usize::from(newline));
        if newline {
            break;
        }
    }
    if last == b'\r' && bytes > 0 {
        // `\r\n` ends the line too; the `\r` is kept in `buf` only when the line fits.
        if bytes <= MAX_LINE_BYTES as u64 + 1 {
            buf.pop();
        }
        bytes -= 1;
    }
    if bytes > MAX_LINE_BYTES as u64 {
        let head: String = String::from_utf8_lossy(&buf[..buf.len().min(4 * SHOWN_CHARS)])
            .chars()
            .take(SHOWN_CHARS)
            .collect();
        return Ok(Some(InputLine::TooLong { head, bytes }));
    }
    let text = String::from_utf8_lossy(buf).into_owned();
    Ok(Some(if text.trim().is_empty() {
        InputLine::Empty(text)
    } else {
        InputLine::Scan(text)
    }))
}

/// The lines of stdin for the simulators' commands, bounded like scans: a longer line is said
/// on stderr and skipped.
fn bounded_stdin_lines() -> impl Iterator<Item = String> {
    let mut buf = Vec::new();
    std::iter::from_fn(move || {
        loop {
            match read_input_line(&mut std::io::stdin().lock(), &mut buf) {
                Ok(Some(InputLine::Scan(s) | InputLine::Empty(s))) => return Some(s),
                Ok(Some(too_long)) => {
                    if let Some((_, text)) = too_long.problem() {
                        tell_both("lotline", &text);
                    }
                }
                Ok(None) | Err(_) => return None,
            }
        }
    })
}

/// Calls `each` on every line of stdin.
/// `lotline run-script`: drives a [`Session`](crate::app::session::Session) with one JSON op a
/// line, printing one JSON line per op. A line that is not an op is answered `ok:false` and the
/// script goes on; the exit code is 0 when the script was read to its end.
fn run_script(
    path: &Path,
    script: &str,
    today: Option<NaiveDate>,
    now: Option<chrono::DateTime<chrono::FixedOffset>>,
    printer: Option<&str>,
    profiles_dir: &Path,
) -> anyhow::Result<()> {
    use crate::app::script::{ScriptLine, script_line};
    // A damaged cache is refused before any op, and before anything is written to it.
    Store::open_read_only(path)?.quick_check()?;
    let store = Store::open(path)?;
    let printer = crate::app::printing::ShellPrinter::from_arg(printer, profiles_dir, path)?;
    let mut session = crate::app::session::Session::new(
        store,
        crate::app::session::SessionOptions {
            today,
            ..Default::default()
        },
        Box::new(printer),
    );
    let reader: Box<dyn BufRead> = if script == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(script).map_err(|e| {
            Text::new(
                format!("cannot read the script {script}: {e}"),
                format!("无法读取脚本 {script}：{e}"),
            )
        })?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut reader = reader;
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut buf = Vec::with_capacity(256);
    let mut step = 0;
    while let Some(line) = read_input_line(&mut reader, &mut buf).context("cannot read the script")? {
        let line = match line {
            InputLine::Empty(_) => continue,
            InputLine::Scan(text) => ScriptLine::Text(text),
            other => ScriptLine::Refused(other.problem().expect("not a line").1),
        };
        step += 1;
        let at = now.unwrap_or_else(|| chrono::Local::now().fixed_offset());
        writeln!(out, "{}", script_line(&mut session, step, line, at))?;
    }
    Ok(())
}

fn for_each_stdin_line(mut each: impl FnMut(InputLine) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut r = stdin.lock();
    let mut buf = Vec::with_capacity(256);
    while let Some(line) = read_input_line(&mut r, &mut buf).context("cannot read stdin")? {
        each(line)?;
    }
    Ok(())
}

/// Opens the default database, creating it with demo data the first time (when there is no
/// file, or the empty file a first run that failed before writing left).
fn open_or_create_default(path: &Path, check: Check) -> anyhow::Result<Store> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() || m.len() > 0) {
        return open_for_ui(path, check);
    }
    let new = NewFile::before(path);
    let mut store = Store::create_new(path).inspect_err(|_| new.undo())?;
    let today = chrono::Local::now().date_naive();
    if let Err(e) = demo::generate(&mut store, 2000, 1, today) {
        drop(store);
        new.undo();
        return Err(e.in_file(path).into());
    }
    tracing::info!("first run: created {} with demo data", path.display());
    Ok(store)
}

/// When the cache's `PRAGMA quick_check` runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Before it is opened for writing (a picture: it takes its time).
    First,
    /// Beside the app, which starts at once (`Session::start_integrity_check`).
    Beside,
}

/// Opens the cache for the UI: read and write, or, on a read-only file or medium or when
/// `PRAGMA quick_check` finds it damaged, read-only (lookups and checks work; a scan is kept in
/// memory and the screen says it cannot be saved, and why).
fn open_for_ui(path: &Path, check: Check) -> anyhow::Result<Store> {
    // Checked through a read-only opening, so nothing is written to a damaged file.
    let checked = match check {
        Check::First => Store::open_read_only(path)?.quick_check(),
        Check::Beside => Ok(()),
    };
    match checked {
        Err(e @ StoreError::Corrupt { .. }) => {
            tracing::error!(
                zh = %format!("{}；以只读方式打开：不会记录任何内容", e.message_zh()),
                "{e}; opening it read-only: nothing is recorded"
            );
            return Ok(Store::open_damaged(e)?);
        }
        other => other?,
    }
    match Store::open(path) {
        Err(e @ StoreError::ReadOnly { .. }) => {
            tracing::warn!(
                zh = %format!("{}；以只读方式打开：扫描不会被保存", e.message_zh()),
                "{e}; opening it read-only: scans are not saved"
            );
            Ok(Store::open_read_only(path)?)
        }
        other => Ok(other?),
    }
}

/// What was at a database path before a command that may create a cache there, so a failed
/// creation can leave the path as it found it (no file, or an empty one).
struct NewFile {
    path: PathBuf,
    /// `Some(true)`: there was no file; `Some(false)`: an empty file; `None`: a file with content
    /// (an existing cache, which is never removed).
    absent: Option<bool>,
}

impl NewFile {
    fn before(path: &Path) -> NewFile {
        let absent = match std::fs::metadata(path) {
            Err(_) => Some(true),
            Ok(m) if m.is_file() && m.len() == 0 => Some(false),
            Ok(_) => None,
        };
        NewFile {
            path: path.to_owned(),
            absent,
        }
    }

    /// Removes what a failed creation wrote (the store must be closed).
    fn undo(&self) {
        let Some(absent) = self.absent else { return };
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut s = self.path.as_os_str().to_owned();
            s.push(suffix);
            std::fs::remove_file(PathBuf::from(s)).ok();
        }
        if absent {
            std::fs::remove_file(&self.path).ok();
        } else {
            std::fs::File::create(&self.path).ok();
        }
    }
}

/// The session the GUI drives, its labels going to the simulated printer beside the cache.
fn gui_session(store: Store, lang: Lang) -> crate::app::session::Session {
    let printer = crate::app::printing::ShellPrinter::simulated(store.path().with_extension("labels.zpl"));
    crate::app::session::Session::new(
        store,
        crate::app::session::SessionOptions {
            zh: lang == Lang::Zh,
            ..Default::default()
        },
        Box::new(printer),
    )
}

fn run_gui(
    db: Option<PathBuf>,
    lang: Lang,
    given: &[String],
    mode: DevicesArg,
    profiles_dir: &Path,
    idle_lock_minutes: u32,
    volume_percent: u8,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // `lotline bench startup` launches the app as a probe: its window is drawn in memory.
    let probe = crate::bench_startup::Probe::from_env(started)?;
    if !probe.as_ref().is_some_and(|p| p.in_memory()) {
        ui::select_renderer();
    }
    #[allow(unused_mut)]
    let mut store = match &db {
        Some(p) => open_for_ui(p, Check::Beside)?,
        None => open_or_create_default(&default_db()?, Check::Beside)?,
    };
    // The default cache syncs with the embedded hub unless a real one enrolled it.
    #[cfg(feature = "embedded-hub")]
    let _embedded_hub = match (&db, store.writable()) {
        (None, true) => {
            let dir = store.path().parent().map(Path::to_owned).unwrap_or_default();
            match crate::app::embedded::start(&mut store, &dir) {
                Ok(h) => h,
                Err(t) => {
                    tracing::error!(zh = %t.zh, "{t}");
                    None
                }
            }
        }
        _ => None,
    };
    let enrolled = store.writable() && store.sync_config().ok().flatten().is_some();
    let db_path = store.path().to_owned();
    let units = store.serialized_units(40).unwrap_or_default();
    // The session pokes the sync worker after every commit (the worker starts once the window is up).
    let poke: std::sync::Arc<std::sync::Mutex<Option<Box<dyn Fn() + Send>>>> = Default::default();
    let (app, ctl) = ui::build(
        {
            let mut s = gui_session(store, lang);
            s.start_integrity_check();
            s.set_idle_seconds(i64::from(idle_lock_minutes.max(1)) * 60);
            let slot = poke.clone();
            s.set_commit_hook(Box::new(move || {
                if let Some(p) = slot.lock().ok().as_ref().and_then(|g| g.as_ref()) {
                    p();
                }
            }));
            s
        },
        UiOptions {
            clock: ui::system_clock(),
            lang,
            record: true,
        },
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot open a window: {e}. Is a display running (DISPLAY or WAYLAND_DISPLAY)? \
             On a handheld without a desktop, build with `--features kms`; for a picture, use `lotline screenshot`"
        )
    })?;
    let sink = logged(ui::device_sink(&app, &ctl));
    let attached = start_devices(profiles_dir, given, mode, &units, sink)?;
    // Sounds, and the LEDs and vibrator the terminal profile names, for every verdict shown.
    let feedback = crate::app::feedback::FeedbackOptions {
        sound: volume_percent > 0,
        volume: f32::from(volume_percent) / 100.0,
        hooks: attached
            .terminal
            .as_ref()
            .map(|t| t.feedback.clone())
            .unwrap_or_default(),
    };
    ctl.borrow_mut()
        .set_feedback(crate::app::feedback::Feedback::start(feedback));
    ui::attach(&app, &ctl, attached);
    if enrolled {
        let handle = crate::sync::worker::start(
            db_path,
            ui::sync_sink(&app, &ctl),
            Box::new(|r| {
                if let Err(e) = r {
                    tracing::warn!(zh = %e.message_zh(), "sync: {e}");
                }
            }),
        );
        if let Ok(mut g) = poke.lock() {
            *g = Some(Box::new(handle.poker()));
        }
        ui::attach_sync(&ctl, handle);
    }
    if let Some(probe) = probe {
        return probe.finish(&app, &ctl);
    }
    app.run()?;
    Ok(())
}

/// Logs device state changes and problems (to the journal when the app runs as a service)
/// before passing every event on: the status bar shows them for a few seconds, the log keeps
/// them. Scans and tags are not logged (the audit log has the decisions).
fn logged(sink: crate::devices::Sink) -> crate::devices::Sink {
    use crate::devices::DeviceEvent;
    std::sync::Arc::new(move |ev: DeviceEvent| {
        match &ev {
            DeviceEvent::State {
                device, state, detail, ..
            } => tracing::info!(device = %device, state = state.as_str(), "{detail}"),
            DeviceEvent::Error { device, message, .. } => tracing::warn!(device = %device, "{message}"),
            _ => {}
        }
        sink(ev)
    })
}

/// Loads the shipped profiles with the site's overrides; reports broken override files.
fn load_profiles(dir: &Path) -> crate::devices::profile::LoadedProfiles {
    let p = crate::devices::profile::load_all(dir);
    for e in p.errors() {
        tracing::warn!(zh = %format!("已忽略该配置文件：{}", e.message_zh()), "profile ignored: {e}");
    }
    p
}

/// Splits `PROFILE[=PORT]`.
fn profile_and_port(s: &str) -> (&str, Option<&str>) {
    match s.split_once('=') {
        Some((p, port)) => (p, Some(port)),
        None => (s, None),
    }
}

/// Starts the app's devices: the ones named, or detected ones, or the simulated pair.
fn start_devices(
    dir: &Path,
    given: &[String],
    mode: DevicesArg,
    units: &[(String, String)],
    sink: crate::devices::Sink,
) -> anyhow::Result<ui::AttachedDevices> {
    use crate::app::devices::{MachineInfo, detect, start, start_simulated, terminal_profile};
    use crate::devices::DeviceKind;
    let profiles = load_profiles(dir);
    let machine = MachineInfo::default();
    let mut out = ui::AttachedDevices {
        terminal: terminal_profile(&profiles, &machine).and_then(|p| p.terminal().cloned()),
        ..Default::default()
    };
    let mut chosen: Vec<(crate::devices::profile::Profile, Option<String>)> = Vec::new();
    for g in given {
        let (name, port) = profile_and_port(g);
        let p = profiles.get(name).with_context(|| {
            format!(
                "no device profile '{name}' (have: {})",
                profiles
                    .iter()
                    .map(|(p, _)| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        chosen.push((p.clone(), port.map(str::to_owned)));
    }
    if given.is_empty() {
        match mode {
            DevicesArg::None => return Ok(out),
            DevicesArg::Auto => chosen = detect(&profiles, &machine),
            DevicesArg::Simulated => {}
        }
        if chosen.is_empty() {
            if mode == DevicesArg::Auto {
                tracing::warn!(
                    "no scanner or RFID reader found: using a simulated scanner and reader (see --device, --devices)"
                );
            }
            let sim = start_simulated(&profiles, units, sink)?;
            out.scanner = Some(sim.scanner_driver);
            out.rfid = Some(sim.reader_driver);
            out.sim_scanner = Some(sim.scanner);
            out.simulated = true;
            out.keep_alive.push(Box::new(sim.reader));
            return Ok(out);
        }
    }
    for (p, port) in chosen {
        let h = start(&p, port.as_deref(), sink.clone(), false)?;
        tracing::info!(device = %h.device, "using the device");
        match h.kind {
            DeviceKind::Scanner => out.scanner = Some(h),
            DeviceKind::Rfid => out.rfid = Some(h),
        }
    }
    Ok(out)
}

fn listen(dir: &Path, name: &str, port: Option<&str>, duration: Option<f64>, inventory: bool) -> anyhow::Result<()> {
    let profiles = load_profiles(dir);
    let p = profiles.get(name).with_context(|| {
        format!(
            "no device profile '{name}' (have: {})",
            profiles
                .iter()
                .map(|(p, _)| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let (tx, rx) = std::sync::mpsc::channel();
    let sink: crate::devices::Sink = std::sync::Arc::new(move |ev| {
        let _ = tx.send(ev);
    });
    let _driver = crate::app::devices::start(p, port, sink, inventory)?;
    let end = duration.map(|d| std::time::Instant::now() + std::time::Duration::from_secs_f64(d.max(0.0)));
    let out = std::io::stdout();
    let mut watch = crate::app::listen::OpenWatch::default();
    loop {
        let wait = match end {
            Some(e) => e.saturating_duration_since(std::time::Instant::now()),
            None => std::time::Duration::from_secs(3600),
        };
        if wait.is_zero() {
            return Ok(());
        }
        match rx.recv_timeout(wait) {
            Ok(ev) => {
                if let Some(line) = crate::app::listen::event_json(&ev) {
                    let mut o = out.lock();
                    writeln!(o, "{line}")?;
                    o.flush()?;
                }
                // A port that cannot be opened at start ends the command with exit 1, after its
                // `error` event; a device lost later is reopened as in the app.
                if let Some(why) = watch.failure(&ev) {
                    return Err(Text::new(
                        format!("cannot open the device of profile '{name}': {}", why.en),
                        format!("无法打开配置 '{name}' 的设备：{}", why.zh),
                    )
                    .into());
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// Lines a simulator takes: a scan (for scanners), or `pause MS`, `unplug`, `replug`.
enum SimLine {
    Scan(String),
    Pause(u64),
    Unplug,
    Replug,
}

fn sim_line(line: &str) -> Option<SimLine> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    Some(match t.split_once(' ') {
        Some(("pause", ms)) => SimLine::Pause(ms.trim().parse().unwrap_or(0)),
        _ if t == "unplug" => SimLine::Unplug,
        _ if t == "replug" => SimLine::Replug,
        _ => SimLine::Scan(t.to_owned()),
    })
}

/// Feeds a script's lines (or stdin's, without one) to a simulator on a thread.
fn run_sim_lines(script: Option<Vec<String>>, interval: u64, mut on: impl FnMut(SimLine) + Send + 'static) {
    std::thread::spawn(move || {
        let lines: Box<dyn Iterator<Item = String>> = match script {
            Some(v) => Box::new(v.into_iter()),
            None => Box::new(bounded_stdin_lines()),
        };
        for l in lines {
            if let Some(x) = sim_line(&l) {
                let pause = !matches!(x, SimLine::Pause(_));
                on(x);
                if pause && interval > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(interval));
                }
            }
        }
    });
}

fn wait_for(duration: Option<f64>) {
    match duration {
        Some(d) => std::thread::sleep(std::time::Duration::from_secs_f64(d.max(0.0))),
        None => loop {
            std::thread::park();
        },
    }
}

fn simulate(dir: &Path, what: SimulateWhat) -> anyhow::Result<()> {
    use crate::devices::sim::{SimReader, SimReaderOptions, SimScanner, SimScannerWire, demo_units, sgtin_population};
    match what {
        SimulateWhat::Scanner {
            profile,
            script,
            interval,
            link,
            duration,
        } => {
            let profiles = load_profiles(dir);
            let p = profiles
                .get(&profile)
                .with_context(|| format!("no device profile '{profile}'"))?;
            let sp = p
                .scanner()
                .with_context(|| format!("{profile} is not a scanner profile"))?;
            if p.serial().is_none() {
                bail!(
                    "{profile} is a keyboard-wedge or HID POS scanner: the simulator speaks serial protocols only \
                     (a virtual input device needs /dev/uinput)"
                );
            }
            let wire = match sp.framing.protocol {
                crate::devices::profile::ScannerProtocol::Ssi => SimScannerWire::Ssi,
                crate::devices::profile::ScannerProtocol::Plain => SimScannerWire::Plain {
                    framing: crate::app::devices::framer_config(&sp.framing),
                    aim: sp.framing.aim,
                },
            };
            let sim = std::sync::Arc::new(SimScanner::start(wire, link.as_deref())?);
            println!("{}", sim.path().display());
            tell(format_args!(
                "lotline: simulated {profile} scanner on {} (try: lotline listen --profile {profile} --port {})",
                sim.path().display(),
                sim.path().display()
            ));
            let lines = match &script {
                Some(f) => {
                    let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
                    Some(text.lines().map(str::to_owned).collect::<Vec<_>>())
                }
                None => None,
            };
            let s = sim.clone();
            run_sim_lines(lines, if script.is_some() { interval } else { 0 }, move |l| match l {
                SimLine::Scan(t) => s.scan_text(&t),
                SimLine::Pause(ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
                SimLine::Unplug => s.unplug(),
                SimLine::Replug => s.replug(),
            });
            wait_for(duration);
            tell(format_args!("lotline: {} scan(s) sent", sim.sent()));
            Ok(())
        }
        SimulateWhat::Rfid {
            protocol,
            tags,
            rate,
            corrupt,
            baud,
            link,
            duration,
        } => {
            let baud = baud
                .unwrap_or_else(|| crate::devices::codec::protocol(&protocol).map_or(115_200, |p| p.default_baud()));
            let opts = SimReaderOptions {
                protocol: protocol.clone(),
                tags: sgtin_population(&demo_units(tags)),
                rate,
                corrupt_percent: corrupt.clamp(0.0, 100.0),
                baud,
                ..Default::default()
            };
            let sim = std::sync::Arc::new(SimReader::start(opts, link.as_deref())?);
            println!("{}", sim.path().display());
            tell(format_args!(
                "lotline: simulated {protocol} reader with {tags} tag(s) on {} at {baud} baud",
                sim.path().display()
            ));
            let s = sim.clone();
            run_sim_lines(None, 0, move |l| match l {
                SimLine::Unplug => s.unplug(),
                SimLine::Replug => s.replug(),
                SimLine::Pause(ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
                SimLine::Scan(other) => tell(format_args!(
                    "lotline: '{other}' is not a reader command (unplug, replug) / 不是读写器命令"
                )),
            });
            wait_for(duration);
            let st = sim.stats();
            tell(format_args!(
                "lotline: sent {} tag frame(s), {} corrupted on purpose",
                st.tag_frames.load(std::sync::atomic::Ordering::Relaxed),
                st.corrupted.load(std::sync::atomic::Ordering::Relaxed)
            ));
            Ok(())
        }
    }
}

fn profiles(dir: &Path, what: ProfilesWhat) -> anyhow::Result<()> {
    use crate::devices::profile::{Source, builtin, check_dir, json_schema, load_all};
    match what {
        ProfilesWhat::Check { dir: Some(d) } => {
            if !d.is_dir() {
                return Err(Text::new(
                    format!("{} is not a directory of profile files", d.display()),
                    format!("{} 不是存放配置文件的目录", d.display()),
                )
                .into());
            }
            let errors = check_dir(&d);
            for e in &errors {
                tell(e);
                tell(e.message_zh());
            }
            let files = std::fs::read_dir(&d)?
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .count();
            if errors.is_empty() {
                println!("{files} profile(s) in {} are valid", d.display());
                Ok(())
            } else {
                let n = errors.len();
                Err(Text::new(
                    format!("{n} problem(s) in {}", d.display()),
                    format!("{} 中有 {n} 个问题", d.display()),
                )
                .into())
            }
        }
        ProfilesWhat::Check { dir: None } => {
            let mut problems = match builtin() {
                Ok(_) => vec![],
                Err(e) => e,
            };
            let loaded = load_all(dir);
            problems.extend(loaded.errors().iter().cloned());
            for e in &problems {
                tell(e);
                tell(e.message_zh());
            }
            if problems.is_empty() {
                println!(
                    "{} profile(s) in effect are valid (shipped, with overrides from {})",
                    loaded.len(),
                    dir.display()
                );
                Ok(())
            } else {
                let n = problems.len();
                Err(Text::new(format!("{n} problem(s)"), format!("有 {n} 个问题")).into())
            }
        }
        ProfilesWhat::List => {
            for (p, src) in load_profiles(dir).iter() {
                let from = match src {
                    Source::Shipped(_) => "shipped".to_owned(),
                    Source::Override { path, .. } => path.display().to_string(),
                };
                println!("{:<22} {:<8} {:<10} {}", p.name, p.kind().name(), from, p.description);
            }
            Ok(())
        }
        ProfilesWhat::Schema => {
            println!("{}", json_schema());
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn screenshot(
    db: Option<PathBuf>,
    profiles_dir: &Path,
    screen: ScreenArg,
    out: &Path,
    (w, h): (u32, u32),
    lang: Lang,
    scan: Option<&str>,
    script: Option<&Path>,
    gate: Gate,
    today: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let store = match &db {
        Some(p) => open_for_ui(p, Check::First)?,
        None => open_or_create_default(&default_db()?, Check::First)?,
    };
    let now = match today {
        Some(d) => d.and_hms_opt(9, 30, 0).expect("valid time").and_utc().fixed_offset(),
        None => chrono::Local::now().fixed_offset(),
    };
    ui::headless::install(w, h)?;
    let clock: ui::Clock = std::rc::Rc::new(move || now);
    let units = store.serialized_units(40).unwrap_or_default();
    let (app, ctl) = ui::build(
        gui_session(store, lang),
        UiOptions {
            clock,
            lang,
            record: false,
        },
    )?;
    // The screens as the desktop default shows them: with the simulated scanner and reader.
    let sink = ui::device_sink(&app, &ctl);
    let attached = start_devices(profiles_dir, &[], DevicesArg::Simulated, &units, sink)?;
    ui::attach(&app, &ctl, attached);
    let settle = |until: &mut dyn FnMut() -> bool, max: std::time::Duration| {
        let t0 = std::time::Instant::now();
        while !until() && t0.elapsed() < max {
            std::thread::sleep(std::time::Duration::from_millis(50));
            ui::pump_device_events();
        }
    };
    settle(&mut || ctl.borrow().devices_up(), std::time::Duration::from_secs(3));
    if screen == ScreenArg::Rfid {
        ctl.borrow_mut().rfid_start();
        // Read until the tag count settles (the simulated field holds about 40 tags).
        let mut last = (0, std::time::Instant::now());
        settle(
            &mut || {
                let n = ctl.borrow().rfid_unique();
                if n != last.0 {
                    last = (n, std::time::Instant::now());
                }
                n > 0 && last.1.elapsed() > std::time::Duration::from_millis(1200)
            },
            std::time::Duration::from_secs(10),
        );
    }
    ui::refresh(&app, &ctl);
    let screen_name = match screen {
        ScreenArg::Home => "home",
        ScreenArg::Scan => "scan",
        ScreenArg::Lookup => "lookup",
        ScreenArg::Rfid => "rfid",
        ScreenArg::Login => "login",
        ScreenArg::Receive => "receive",
        ScreenArg::Pick => "pick",
        ScreenArg::Count => "count",
        ScreenArg::Health => "health",
    };
    ui::open_screen(&app, screen_name, gate);
    if screen == ScreenArg::Health {
        // The report is gathered on a thread; the hub gets 5 s to answer.
        settle(
            &mut || {
                ui::refresh(&app, &ctl);
                !app.global::<ui::HealthAdapter>().get_busy()
            },
            std::time::Duration::from_secs(15),
        );
    }
    if let Some(script) = script {
        let text = std::fs::read_to_string(script).with_context(|| format!("cannot read {}", script.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let op: crate::app::session::Op = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a run-script op", script.display(), i + 1))?;
            match screen {
                ScreenArg::Pick | ScreenArg::Count => ctl.borrow_mut().guided_op(op),
                _ => ctl.borrow_mut().receive_op(op),
            }
        }
        ui::render(&app, &ctl.borrow());
        ui::open_screen(&app, screen_name, gate);
    }
    if let Some(s) = scan {
        match screen {
            ScreenArg::Scan => app.global::<ui::ScanAdapter>().invoke_submit(s.into()),
            ScreenArg::Lookup => app.global::<ui::LookupAdapter>().invoke_lookup(s.into()),
            _ => bail!("--scan needs --screen scan or --screen lookup"),
        }
    }
    ui::headless::write_png(&app, out)?;
    tell(format_args!("wrote {} ({w}x{h}, {})", out.display(), lang.code()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<InputLine> {
        let mut r = std::io::BufReader::with_capacity(7, input);
        let mut buf = Vec::new();
        let mut v = Vec::new();
        while let Some(l) = read_input_line(&mut r, &mut buf).unwrap() {
            assert!(buf.capacity() <= 2 * (MAX_LINE_BYTES + 1), "memory stays bounded");
            v.push(l);
        }
        v
    }

    #[test]
    fn stdin_lines_are_bounded_and_each_gets_an_answer() {
        let scan = |s: &str| InputLine::Scan(s.to_owned());
        assert_eq!(lines(b""), []);
        assert_eq!(lines(b"a"), [scan("a")]);
        assert_eq!(lines(b"a\r\nb\n"), [scan("a"), scan("b")]);
        assert_eq!(
            lines(b"\n \t\r\nx\xffy\n"),
            [
                InputLine::Empty(String::new()),
                InputLine::Empty(" \t".into()),
                scan("x\u{fffd}y")
            ]
        );
        let fits = "9".repeat(MAX_LINE_BYTES);
        let over = "9".repeat(MAX_LINE_BYTES + 1);
        let huge = "é".repeat(3 * MAX_LINE_BYTES);
        let input = format!("{fits}\r\n{over}\r\n{fits}\n{over}\n{huge}\nlast");
        let got = lines(input.as_bytes());
        assert_eq!(got.len(), 6);
        assert_eq!(got[0], scan(&fits));
        assert_eq!(
            got[1],
            InputLine::TooLong {
                head: "9".repeat(SHOWN_CHARS),
                bytes: MAX_LINE_BYTES as u64 + 1
            }
        );
        assert_eq!(got[2], scan(&fits));
        assert!(matches!(got[3], InputLine::TooLong { bytes, .. } if bytes == MAX_LINE_BYTES as u64 + 1));
        assert_eq!(
            got[4],
            InputLine::TooLong {
                head: "é".repeat(SHOWN_CHARS),
                bytes: 6 * MAX_LINE_BYTES as u64
            }
        );
        assert_eq!(got[5], scan("last"));
        let v = got[4].problem_json("input");
        assert_eq!(v["error"]["code"], "line_too_long");
        assert!(v["input"].as_str().unwrap().ends_with('…'));
        let v = InputLine::Empty(" ".into()).problem_json("scan");
        assert_eq!(v["error"]["code"], "empty_line");
        assert_eq!(v["verdict"], serde_json::Value::Null);
        assert!(!v["error"]["message_zh"].as_str().unwrap().is_empty());
    }
}
