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
use crate::store::Store;
use crate::store::demo;
use crate::store::import::{ImportError, import_json};
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
    /// Benchmarks; prints medians and percentiles.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
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
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT, e.g. 720x1280"))?;
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
    let v = std::env::var("LC_ALL").or_else(|_| std::env::var("LANG")).unwrap_or_default();
    if v.starts_with("zh") { Lang::Zh } else { Lang::En }
}

/// Runs the command line; the exit code is 0 on success, 1 on a failure (message on stderr), 2 on bad usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lotline: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => run_gui(cli.db, cli.lang.map(Lang::from).unwrap_or_else(lang_from_env)),
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
            eprintln!("try:  lotline check --db {} --gate pick '{}'", path.display(), sum.scans[0].scan);
            Ok(())
        }
        Some(Command::Import { file }) => {
            let path = require_db(&cli.db)?;
            let json = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut store = Store::create(path)?;
            match import_json(&mut store, &json) {
                Ok(sum) => {
                    println!("{}", serde_json::to_string(&sum)?);
                    Ok(())
                }
                Err(ImportError::Rows(rows)) => {
                    for r in &rows {
                        eprintln!("{}: {r}", file.display());
                    }
                    bail!("{} problem(s) in {}; nothing was imported", rows.len(), file.display())
                }
                Err(e) => Err(e).with_context(|| format!("importing {}", file.display())),
            }
        }
        Some(Command::Check { gate, today, customer, task, scans }) => {
            let path = require_db(&cli.db)?;
            let store = Store::open(path)?;
            let today = today_or_clock(today);
            let mut ctx = match &task {
                Some(id) => {
                    let t = store.task(id)?.with_context(|| format!("task '{id}' is not in {}", path.display()))?;
                    crate::app::check::task_context(&store, &t)?
                }
                None => CheckContext::default(),
            };
            if let Some(id) = customer {
                ctx.customer =
                    Some(store.customer(&id)?.with_context(|| format!("customer '{id}' is not in {}", path.display()))?);
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
        Some(Command::Decode { today, lenient_dl, scans }) => {
            let today = today_or_clock(today);
            let mut settings = ScanSettings::default();
            settings.digital_link.lenient_gtin = lenient_dl;
            for_each_input(scans, |input| {
                let raw = input.as_bytes();
                Ok(crate::app::decode::scan_json(input, &parse_scan(raw, None, &settings, today)))
            })
        }
        Some(Command::Epc { hex }) => for_each_input(hex, |input| Ok(crate::app::decode::epc_json(input))),
        Some(Command::Screenshot { screen, out, size, shot_lang, scan, gate, today }) => {
            screenshot(cli.db, screen, &out, size, shot_lang.into(), scan.as_deref(), gate.into(), today)
        }
        Some(Command::Bench { what: BenchWhat::Grammar { rounds, seconds } }) => crate::bench::grammar(rounds, seconds),
        Some(Command::Bench { what: BenchWhat::Verdict { lots, small, scans, cache_dir } }) => {
            crate::bench::verdict(lots, small, scans, cache_dir)
        }
    }
}

/// Runs `f` on each argument, or on each non-empty stdin line when there are none, printing
/// one JSON line per input. Lines that are not valid UTF-8 are decoded lossily.
fn for_each_input(args: Vec<String>, mut f: impl FnMut(&str) -> anyhow::Result<serde_json::Value>) -> anyhow::Result<()> {
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

fn run_gui(db: Option<PathBuf>, lang: Lang) -> anyhow::Result<()> {
    let store = match &db {
        Some(p) => Store::open(p)?,
        None => open_or_create_default(&default_db()?)?,
    };
    let (app, _ctl) = ui::build(store, UiOptions { clock: ui::system_clock(), lang, record: true }).map_err(|e| {
        anyhow::anyhow!(
            "cannot open a window: {e}. Is a display running (DISPLAY or WAYLAND_DISPLAY)? \
             On a handheld without a desktop, build with `--features kms`; for a picture, use `lotline screenshot`"
        )
    })?;
    app.run()?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn screenshot(
    db: Option<PathBuf>,
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
    let (app, _ctl) = ui::build(store, UiOptions { clock, lang, record: false })?;
    let screen_name = match screen {
        ScreenArg::Home => "home",
        ScreenArg::Scan => "scan",
        ScreenArg::Lookup => "lookup",
    };
    ui::open_screen(&app, screen_name, gate);
    if let Some(s) = scan {
        match screen {
            ScreenArg::Scan => app.global::<ui::ScanAdapter>().invoke_submit(s.into()),
            ScreenArg::Lookup => app.global::<ui::LookupAdapter>().invoke_lookup(s.into()),
            ScreenArg::Home => bail!("--scan needs --screen scan or --screen lookup"),
        }
    }
    ui::headless::write_png(&app, out)?;
    eprintln!("wrote {} ({w}x{h}, {})", out.display(), lang.code());
    Ok(())
}
