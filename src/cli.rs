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
use crate::store::Store;
use crate::store::demo;
use crate::store::import::{ImportError, import_from};
use crate::ui::{self, Lang, UiOptions};

#[derive(Parser, Debug)]
#[command(name = "lotline", version, about = "Scan a lot and see at once whether it may move.", long_about = None)]
pub struct Cli {
    /// The cache database. Default: the user data directory, created with demo data on first run.
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
    #[arg(long, value_enum, default_value = "auto")]
    devices: DevicesArg,
    /// Device profiles that override or add to the shipped ones.
    #[arg(long, global = true, default_value = crate::devices::profile::SYSTEM_DIR)]
    profiles_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Benchmarks; prints medians and percentiles.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
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

fn today_or_clock(t: Option<NaiveDate>) -> NaiveDate {
    t.unwrap_or_else(|| chrono::Local::now().date_naive())
}

fn require_db(db: &Option<PathBuf>) -> anyhow::Result<&Path> {
    db.as_deref().context("--db PATH is required for this command")
}

fn lang_from_env() -> Lang {
    let v = std::env::var("LC_ALL")
        .or_else(|_| std::env::var("LANG"))
        .unwrap_or_default();
    if v.starts_with("zh") { Lang::Zh } else { Lang::En }
}

/// Runs the command line; the exit code is 0 on success, 1 on a failure (message on stderr), 2 on bad usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lotline: {e:#}");
            if let Some(zh) = message_zh(&e) {
                eprintln!("lotline: {zh}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The Chinese message of the first error in `e`'s chain that has one.
///
/// Every error type a user can meet implements [`Bilingual`] and is listed here.
fn message_zh(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|cause| {
        if let Some(t) = cause.downcast_ref::<Text>() {
            return Some(t.message_zh());
        }
        if let Some(e) = cause.downcast_ref::<ImportError>() {
            return Some(e.message_zh());
        }
        None
    })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => run_gui(
            cli.db,
            cli.lang.map(Lang::from).unwrap_or_else(lang_from_env),
            &cli.devices_given,
            cli.devices,
            &cli.profiles_dir,
        ),
        Some(Command::DemoData { lots, seed, today }) => {
            let path = require_db(&cli.db)?;
            let mut store = Store::create(path)?;
            let sum = demo::generate(&mut store, lots, seed, today_or_clock(today))?;
            eprintln!(
                "wrote {} items, {} lots, {} stock rows, {} locations, {} customers, {} tasks to {}",
                sum.items,
                sum.lots,
                sum.stock_rows,
                sum.locations,
                sum.customers,
                sum.tasks,
                path.display()
            );
            eprintln!(
                "try:  lotline check --db {} --gate pick '{}'",
                path.display(),
                sum.scans[0].scan
            );
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
            let mut store = Store::create(path)?;
            match import_from(&mut store, std::io::BufReader::with_capacity(1 << 16, f)) {
                Ok(sum) => {
                    println!("{}", serde_json::to_string(&sum)?);
                    Ok(())
                }
                Err(ImportError::Rows { errors, more }) => {
                    for r in &errors {
                        eprintln!("{}: {r}", file.display());
                        eprintln!("{}: {}", file.display(), r.message_zh());
                    }
                    if more > 0 {
                        eprintln!("{}: … and {more} more problem(s)", file.display());
                        eprintln!("{}: …… 另有 {more} 个问题", file.display());
                    }
                    let n = errors.len() + more;
                    Err(Text::new(
                        format!("{n} problem(s) in {}; nothing was imported", file.display()),
                        format!("{} 中有 {n} 个问题；未导入任何数据", file.display()),
                    )
                    .into())
                }
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
            let store = Store::open(path)?;
            let today = today_or_clock(today);
            let mut ctx = match &task {
                Some(id) => {
                    let t = store
                        .task(id)?
                        .with_context(|| format!("task '{id}' is not in {}", path.display()))?;
                    crate::app::check::task_context(&store, &t)?
                }
                None => CheckContext::default(),
            };
            if let Some(id) = customer {
                ctx.customer = Some(
                    store
                        .customer(&id)?
                        .with_context(|| format!("customer '{id}' is not in {}", path.display()))?,
                );
            }
            let out = std::io::stdout();
            let mut out = out.lock();
            let mut one = |scan: &str| -> anyhow::Result<()> {
                let outcome = check_scan(&store, gate.into(), scan.as_bytes(), &ctx, today)?;
                writeln!(out, "{}", outcome.to_json())?;
                Ok(())
            };
            if scans.is_empty() {
                for line in std::io::stdin().lock().split(b'\n') {
                    let line = line?;
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches('\r');
                    if !text.trim().is_empty() {
                        one(text)?;
                    }
                }
            } else {
                for s in &scans {
                    one(s)?;
                }
            }
            Ok(())
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
            gate,
            today,
        }) => screenshot(
            cli.db,
            &cli.profiles_dir,
            screen,
            &out,
            size,
            shot_lang.into(),
            scan.as_deref(),
            gate.into(),
            today,
        ),
        Some(Command::Listen {
            profile,
            port,
            duration,
            inventory,
        }) => listen(&cli.profiles_dir, &profile, port.as_deref(), duration, inventory),
        Some(Command::Simulate { what }) => simulate(&cli.profiles_dir, what),
        Some(Command::Profiles { what }) => profiles(&cli.profiles_dir, what),
        Some(Command::Bench {
            what: BenchWhat::Grammar { rounds, seconds, kind },
        }) => crate::bench::grammar(rounds, seconds, kind.as_deref()),
        Some(Command::Bench {
            what: BenchWhat::Import { lots, dir },
        }) => crate::bench::import(lots, dir),
        Some(Command::Bench {
            what: BenchWhat::Devices { rounds, soak, scans },
        }) => crate::bench_devices::devices(rounds, soak, scans),
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

/// Runs `f` on each argument, or on each non-empty stdin line when there are none, printing
/// one JSON line per input. Lines that are not valid UTF-8 are decoded lossily.
fn for_each_input(
    args: Vec<String>,
    mut f: impl FnMut(&str) -> anyhow::Result<serde_json::Value>,
) -> anyhow::Result<()> {
    let out = std::io::stdout();
    let mut out = out.lock();
    if args.is_empty() {
        for line in std::io::stdin().lock().split(b'\n') {
            let line = line?;
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches('\r');
            if !text.trim().is_empty() {
                writeln!(out, "{}", f(text)?)?;
            }
        }
    } else {
        for a in &args {
            writeln!(out, "{}", f(a)?)?;
        }
    }
    Ok(())
}

/// Opens the default database, creating it with demo data the first time.
fn open_or_create_default(path: &Path) -> anyhow::Result<Store> {
    if path.exists() {
        return Ok(Store::open(path)?);
    }
    let mut store = Store::create(path)?;
    let today = chrono::Local::now().date_naive();
    demo::generate(&mut store, 2000, 1, today)?;
    eprintln!("lotline: first run: created {} with demo data", path.display());
    Ok(store)
}

fn run_gui(
    db: Option<PathBuf>,
    lang: Lang,
    given: &[String],
    mode: DevicesArg,
    profiles_dir: &Path,
) -> anyhow::Result<()> {
    let store = match &db {
        Some(p) => Store::open(p)?,
        None => open_or_create_default(&default_db()?)?,
    };
    let units = store.serialized_units(40).unwrap_or_default();
    let (app, ctl) = ui::build(
        store,
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
    ui::attach(&app, &ctl, attached);
    app.run()?;
    Ok(())
}

/// Writes device state changes and problems to stderr (the journal, when the app runs as a
/// service) before passing every event on: the status bar shows them for a few seconds, the
/// log keeps them. Scans and tags are not logged (the audit log has the decisions).
fn logged(sink: crate::devices::Sink) -> crate::devices::Sink {
    use crate::devices::DeviceEvent;
    std::sync::Arc::new(move |ev: DeviceEvent| {
        let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%:z");
        match &ev {
            DeviceEvent::State {
                device, state, detail, ..
            } => {
                eprintln!("lotline: {now} {device}: {} ({detail})", state.as_str())
            }
            DeviceEvent::Error { device, message } => eprintln!("lotline: {now} {device}: {message}"),
            _ => {}
        }
        sink(ev)
    })
}

/// Loads the shipped profiles with the site's overrides; reports broken override files.
fn load_profiles(dir: &Path) -> crate::devices::profile::LoadedProfiles {
    let p = crate::devices::profile::load_all(dir);
    for e in p.errors() {
        eprintln!("lotline: profile ignored: {e}");
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
                eprintln!(
                    "lotline: no scanner or RFID reader found: using a simulated scanner and reader (see --device, --devices)"
                );
            }
            let sim = start_simulated(&profiles, units, sink).map_err(anyhow::Error::msg)?;
            out.scanner = Some(sim.scanner_driver);
            out.rfid = Some(sim.reader_driver);
            out.sim_scanner = Some(sim.scanner);
            out.simulated = true;
            out.keep_alive.push(Box::new(sim.reader));
            return Ok(out);
        }
    }
    for (p, port) in chosen {
        let h = start(&p, port.as_deref(), sink.clone(), false).map_err(anyhow::Error::msg)?;
        eprintln!("lotline: using {}", h.device);
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
    let _driver = crate::app::devices::start(p, port, sink, inventory).map_err(anyhow::Error::msg)?;
    let end = duration.map(|d| std::time::Instant::now() + std::time::Duration::from_secs_f64(d.max(0.0)));
    let out = std::io::stdout();
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
            None => Box::new(std::io::stdin().lines().map_while(Result::ok)),
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
            eprintln!(
                "lotline: simulated {profile} scanner on {} (try: lotline listen --profile {profile} --port {})",
                sim.path().display(),
                sim.path().display()
            );
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
            eprintln!("lotline: {} scan(s) sent", sim.sent());
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
            let sim = std::sync::Arc::new(SimReader::start(opts, link.as_deref()).map_err(anyhow::Error::msg)?);
            println!("{}", sim.path().display());
            eprintln!(
                "lotline: simulated {protocol} reader with {tags} tag(s) on {} at {baud} baud",
                sim.path().display()
            );
            let s = sim.clone();
            run_sim_lines(None, 0, move |l| match l {
                SimLine::Unplug => s.unplug(),
                SimLine::Replug => s.replug(),
                SimLine::Pause(ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
                SimLine::Scan(other) => eprintln!("lotline: '{other}' is not a reader command (unplug, replug)"),
            });
            wait_for(duration);
            let st = sim.stats();
            eprintln!(
                "lotline: sent {} tag frame(s), {} corrupted on purpose",
                st.tag_frames.load(std::sync::atomic::Ordering::Relaxed),
                st.corrupted.load(std::sync::atomic::Ordering::Relaxed)
            );
            Ok(())
        }
    }
}

fn profiles(dir: &Path, what: ProfilesWhat) -> anyhow::Result<()> {
    use crate::devices::profile::{Source, builtin, check_dir, json_schema, load_all};
    match what {
        ProfilesWhat::Check { dir: Some(d) } => {
            if !d.is_dir() {
                bail!("{} is not a directory of profile files", d.display());
            }
            let errors = check_dir(&d);
            for e in &errors {
                eprintln!("{e}");
            }
            let files = std::fs::read_dir(&d)?
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
                .count();
            if errors.is_empty() {
                println!("{files} profile(s) in {} are valid", d.display());
                Ok(())
            } else {
                bail!("{} problem(s) in {}", errors.len(), d.display())
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
                eprintln!("{e}");
            }
            if problems.is_empty() {
                println!(
                    "{} profile(s) in effect are valid (shipped, with overrides from {})",
                    loaded.len(),
                    dir.display()
                );
                Ok(())
            } else {
                bail!("{} problem(s)", problems.len())
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
    gate: Gate,
    today: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let store = match &db {
        Some(p) => Store::open(p)?,
        None => open_or_create_default(&default_db()?)?,
    };
    let now = match today {
        Some(d) => d.and_hms_opt(9, 30, 0).expect("valid time").and_utc().fixed_offset(),
        None => chrono::Local::now().fixed_offset(),
    };
    ui::headless::install(w, h)?;
    let clock: ui::Clock = std::rc::Rc::new(move || now);
    let units = store.serialized_units(40).unwrap_or_default();
    let (app, ctl) = ui::build(
        store,
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
    };
    ui::open_screen(&app, screen_name, gate);
    if let Some(s) = scan {
        match screen {
            ScreenArg::Scan => app.global::<ui::ScanAdapter>().invoke_submit(s.into()),
            ScreenArg::Lookup => app.global::<ui::LookupAdapter>().invoke_lookup(s.into()),
            ScreenArg::Home | ScreenArg::Rfid => bail!("--scan needs --screen scan or --screen lookup"),
        }
    }
    ui::headless::write_png(&app, out)?;
    eprintln!("wrote {} ({w}x{h}, {})", out.display(), lang.code());
    Ok(())
}
