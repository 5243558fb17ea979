//! `lotline bench startup`: how long the app takes from launch until the first scan can be
//! judged, and how much memory it holds then, on a cache of a million lots.
//!
//! Each round launches this binary as the app (`lotline --db PATH --devices simulated`) in a new
//! process. `$LOTLINE_STARTUP_PROBE` (a scan) makes that process a probe: once its window has
//! its first frame it judges the scan as the scanner's would be, draws the verdict, writes one
//! JSON line and exits. Everything before it is the app's own start: the cache's opening, the
//! window, the devices, the sound. The window is a real one (`--window real`: X11, Wayland, or
//! the KMS backend on a handheld, drawn as the app draws it) or, where there is no display,
//! drawn in memory by Slint's software renderer (`--window memory`). Cold rounds first evict the
//! cache file and the binary from the page cache (`posix_fadvise(DONTNEED)`), as after a reboot;
//! warm rounds do not.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use slint::ComponentHandle;
use slint::platform::software_renderer::{MinimalSoftwareWindow, PremultipliedRgbaColor};

use crate::bench::{BENCH_TODAY, bench_db, median, rss_kib, sample_scans};
use crate::ui::{AppWindow, Controller};

/// The environment variable that turns an app start into a probe: the scan to judge.
pub const PROBE_VAR: &str = "LOTLINE_STARTUP_PROBE";
/// The probe's in-memory screen, `WIDTHxHEIGHT` (default: the largest handheld screen,
/// 720×1440); unset with a real window.
pub const SIZE_VAR: &str = "LOTLINE_STARTUP_SIZE";

/// Targets from issue 11: the first scan judged within 400 ms of launch, in 120 MiB.
const READY_TARGET_MS: f64 = 400.0;
const RSS_TARGET_MIB: f64 = 120.0;

/// The probe inside the app process (see the module doc).
pub struct Probe {
    scan: String,
    /// The in-memory window (None: the platform's own window).
    window: Option<Rc<MinimalSoftwareWindow>>,
    size: (u32, u32),
    started: Instant,
}

impl Probe {
    /// A probe when `$LOTLINE_STARTUP_PROBE` is set; with `$LOTLINE_STARTUP_SIZE` it installs
    /// the in-memory window (before any window is made). `None` for a normal start.
    pub fn from_env(started: Instant) -> anyhow::Result<Option<Probe>> {
        let Some(scan) = std::env::var_os(PROBE_VAR) else {
            return Ok(None);
        };
        let size = std::env::var(SIZE_VAR).ok().and_then(|s| {
            let (w, h) = s.split_once('x')?;
            Some((w.parse().ok()?, h.parse().ok()?))
        });
        let (window, size) = match size {
            Some((w, h)) => (Some(crate::ui::headless::install(w, h)?), (w, h)),
            None => (None, (0, 0)),
        };
        Ok(Some(Probe {
            scan: scan.to_string_lossy().into_owned(),
            window,
            size,
            started,
        }))
    }

    /// Whether the probe draws in memory (the app then leaves the platform alone).
    pub fn in_memory(&self) -> bool {
        self.window.is_some()
    }

    /// Draws the window's next frame: into `buffer` in memory, or as the platform draws it
    /// (a snapshot of the window renders it).
    fn draw(&self, app: &AppWindow, buffer: &mut [PremultipliedRgbaColor]) {
        slint::platform::update_timers_and_animations();
        match &self.window {
            Some(w) => {
                w.draw_if_needed(|r| {
                    r.render(buffer, self.size.0 as usize);
                });
            }
            None => {
                if let Err(e) = app.window().take_snapshot() {
                    tracing::warn!("the probe could not draw the window: {e}");
                }
            }
        }
    }

    /// Shows the window, draws its first frame, judges the scan at the pick gate (not recorded),
    /// draws the verdict and writes the probe's line on stdout. A real window does this from
    /// its running event loop.
    pub fn finish(self, app: &AppWindow, ctl: &Rc<std::cell::RefCell<Controller>>) -> anyhow::Result<()> {
        app.show()?;
        if self.window.is_some() {
            return self.measure(app, ctl);
        }
        let weak = app.as_weak();
        let c = ctl.clone();
        let failed: Rc<std::cell::RefCell<Option<anyhow::Error>>> = Default::default();
        let f = failed.clone();
        let probe = std::cell::Cell::new(Some(self));
        slint::Timer::single_shot(std::time::Duration::ZERO, move || {
            if let (Some(app), Some(p)) = (weak.upgrade(), probe.take()) {
                *f.borrow_mut() = p.measure(&app, &c).err();
            }
            let _ = slint::quit_event_loop();
        });
        slint::run_event_loop()?;
        match failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn measure(self, app: &AppWindow, ctl: &Rc<std::cell::RefCell<Controller>>) -> anyhow::Result<()> {
        let mut buffer = vec![PremultipliedRgbaColor::default(); (self.size.0 * self.size.1) as usize];
        self.draw(app, &mut buffer);
        let frame_ms = self.started.elapsed().as_secs_f64() * 1e3;
        let verdict = crate::ui::judge_first_scan(app, ctl, self.scan.as_bytes());
        self.draw(app, &mut buffer);
        let ready_ms = self.started.elapsed().as_secs_f64() * 1e3;
        let (rss, hwm) = (rss_kib("VmRSS:").unwrap_or(0), rss_kib("VmHWM:").unwrap_or(0));
        let line = serde_json::json!({
            "verdict": verdict,
            "frame_ms_in_process": frame_ms,
            "ready_ms_in_process": ready_ms,
            "rss_kib": rss,
            "peak_rss_kib": hwm,
        });
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        std::hint::black_box(&buffer);
        Ok(())
    }
}

/// Drops a file's pages from the page cache, as a reboot would (a missing file is skipped).
fn evict(path: &Path) {
    use std::os::fd::AsRawFd;
    if let Ok(f) = std::fs::File::open(path) {
        // SAFETY: a valid descriptor for the call's duration; the advice changes no data.
        unsafe {
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// What one launch measured.
struct Launch {
    ready_ms: f64,
    frame_ms: f64,
    rss_mib: f64,
    peak_mib: f64,
    verdict: String,
}

fn launch(exe: &Path, db: &Path, scan: &str, cold: bool, window: Window) -> anyhow::Result<Launch> {
    if cold {
        for p in [db.to_owned(), sibling(db, "-wal"), sibling(db, "-shm"), exe.to_owned()] {
            evict(&p);
        }
    }
    let mut cmd = Command::new(exe);
    cmd.arg("--db")
        .arg(db)
        .args(["--devices", "simulated", "--lang", "en"])
        .env(PROBE_VAR, scan)
        .env("LOTLINE_CONFIG", "");
    match window {
        Window::Memory => {
            cmd.env(SIZE_VAR, "720x1440")
                .env_remove("DISPLAY")
                .env_remove("WAYLAND_DISPLAY");
        }
        Window::Real => {
            cmd.env_remove(SIZE_VAR);
        }
    }
    let t0 = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    let ready_ms = t0.elapsed().as_secs_f64() * 1e3;
    let out = child.wait_with_output()?;
    if line.trim().is_empty() {
        anyhow::bail!(
            "the app did not report ready ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value = serde_json::from_str(line.trim()).with_context(|| format!("probe said: {line}"))?;
    let num = |k: &str| v[k].as_f64().unwrap_or(0.0);
    // The probe measures from its main(); the launch itself (exec, loading) comes before.
    let exec_ms = ready_ms - num("ready_ms_in_process");
    Ok(Launch {
        ready_ms,
        frame_ms: num("frame_ms_in_process") + exec_ms.max(0.0),
        rss_mib: num("rss_kib") / 1024.0,
        peak_mib: num("peak_rss_kib") / 1024.0,
        verdict: v["verdict"].as_str().unwrap_or("?").to_owned(),
    })
}

/// Where the probe's window is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Window {
    /// The platform's own window (X11, Wayland, or KMS on a handheld), as the app draws it.
    Real,
    /// In memory, by the software renderer, 720×1440 (no display needed).
    Memory,
}

impl Window {
    /// A real window where a display is set, else in memory.
    pub fn detect() -> Window {
        if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
            Window::Real
        } else {
            Window::Memory
        }
    }

    fn name(self) -> &'static str {
        match self {
            Window::Real => "real",
            Window::Memory => "memory",
        }
    }
}

/// `lotline bench startup`: `rounds` cold and `rounds` warm launches on `db` (or on a generated
/// cache of `lots` lots kept in `dir`).
pub fn startup(
    db: Option<PathBuf>,
    lots: usize,
    rounds: usize,
    dir: Option<PathBuf>,
    window: Option<Window>,
) -> anyhow::Result<()> {
    let window = window.unwrap_or_else(Window::detect);
    let rounds = rounds.max(1);
    let (y, m, d) = BENCH_TODAY;
    let today = NaiveDate::from_ymd_opt(y, m, d).context("bench date")?;
    let mut rng = SmallRng::seed_from_u64(11);
    let (db, scans) = match db {
        Some(p) => {
            let store = crate::store::Store::open_read_only(&p)?;
            let scans = sample_scans(&store, rounds * 2, &mut rng)?;
            (p, scans)
        }
        None => {
            let dir = dir.unwrap_or_else(|| std::env::temp_dir().join("lotline-bench"));
            let store = bench_db(&dir, lots, today)?;
            let scans = sample_scans(&store, rounds * 2, &mut rng)?;
            (store.path().to_owned(), scans)
        }
    };
    let lots_in = crate::store::Store::open_read_only(&db)?.count("lots")?;
    let exe = std::env::current_exe().context("cannot find this program's file")?;
    println!(
        "cache {} ({lots_in} lots), {rounds} cold and {rounds} warm launches, window: {}",
        db.display(),
        window.name()
    );
    // One launch first, not counted: the first ever start of a build pays for things no later
    // start does (fontconfig's cache, the binary's first read from disk).
    launch(&exe, &db, &scans[0], false, window)?;
    let mut results: Vec<(bool, Launch)> = Vec::new();
    for round in 0..rounds {
        for cold in [true, false] {
            let scan = &scans[round * 2 + usize::from(!cold)];
            let l = launch(&exe, &db, scan, cold, window)?;
            println!(
                "round {}  {}  window {:.0} ms  scan-ready {:.0} ms  rss {:.1} MiB  peak {:.1} MiB  verdict {}",
                round + 1,
                if cold { "cold" } else { "warm" },
                l.frame_ms,
                l.ready_ms,
                l.rss_mib,
                l.peak_mib,
                l.verdict
            );
            results.push((cold, l));
        }
    }
    let pick = |cold: bool, f: fn(&Launch) -> f64| {
        median(results.iter().filter(|(c, _)| *c == cold).map(|(_, l)| f(l)).collect())
    };
    let cold_ready = pick(true, |l| l.ready_ms);
    let cold_peak = pick(true, |l| l.peak_mib);
    println!(
        "cold: window {:.0} ms, scan-ready {:.0} ms (target <= {READY_TARGET_MS:.0}: {}), rss {:.1} MiB, peak {:.1} MiB (target <= {RSS_TARGET_MIB:.0}: {})",
        pick(true, |l| l.frame_ms),
        cold_ready,
        if cold_ready <= READY_TARGET_MS {
            "met"
        } else {
            "NOT met"
        },
        pick(true, |l| l.rss_mib),
        cold_peak,
        if cold_peak <= RSS_TARGET_MIB { "met" } else { "NOT met" },
    );
    println!(
        "warm: window {:.0} ms, scan-ready {:.0} ms, rss {:.1} MiB, peak {:.1} MiB",
        pick(false, |l| l.frame_ms),
        pick(false, |l| l.ready_ms),
        pick(false, |l| l.rss_mib),
        pick(false, |l| l.peak_mib),
    );
    println!(
        "{}",
        serde_json::json!({
            "lots": lots_in,
            "rounds": rounds,
            "window": window.name(),
            "cold_scan_ready_ms": cold_ready,
            "cold_window_ms": pick(true, |l| l.frame_ms),
            "cold_rss_mib": pick(true, |l| l.rss_mib),
            "cold_peak_rss_mib": cold_peak,
            "warm_scan_ready_ms": pick(false, |l| l.ready_ms),
            "warm_peak_rss_mib": pick(false, |l| l.peak_mib),
        })
    );
    Ok(())
}
