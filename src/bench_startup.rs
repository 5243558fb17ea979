//! `lotline bench startup`: how long the app takes from launch until the first scan can be
//! judged, and how much memory it holds then, on a cache of a million lots.
//!
//! Each round launches this binary as the app (`lotline --db PATH --devices simulated`) in a new
//! process. `$LOTLINE_STARTUP_PROBE` (a scan) makes that process a probe: it draws its window
//! through Slint's software renderer into memory (no display needed; the renderer the KMS backend
//! uses on a handheld), then judges the scan as the scanner's would be, draws the verdict, writes
//! one JSON line and exits. Everything before it is the app's own start: the cache's opening and
//! checks, the window, the devices, the sound. Cold rounds first evict the cache file and the
//! binary from the page cache (`posix_fadvise(DONTNEED)`), as after a reboot; warm rounds do not.

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

use crate::bench::{BENCH_TODAY, bench_db, median, sample_scans};
use crate::ui::{AppWindow, Controller};

/// The environment variable that turns an app start into a probe: the scan to judge.
pub const PROBE_VAR: &str = "LOTLINE_STARTUP_PROBE";
/// The probe's screen, `WIDTHxHEIGHT` (default: the largest handheld screen, 720×1440).
pub const SIZE_VAR: &str = "LOTLINE_STARTUP_SIZE";

/// Targets from issue 11: the first scan judged within 400 ms of launch, in 120 MiB.
const READY_TARGET_MS: f64 = 400.0;
const RSS_TARGET_MIB: f64 = 120.0;

/// The probe inside the app process (see the module doc).
pub struct Probe {
    scan: String,
    window: Rc<MinimalSoftwareWindow>,
    size: (u32, u32),
    started: Instant,
}

impl Probe {
    /// A probe when `$LOTLINE_STARTUP_PROBE` is set: installs the in-memory window (before any
    /// window is made). `None` for a normal start.
    pub fn from_env(started: Instant) -> anyhow::Result<Option<Probe>> {
        let Some(scan) = std::env::var_os(PROBE_VAR) else {
            return Ok(None);
        };
        let size = std::env::var(SIZE_VAR)
            .ok()
            .and_then(|s| {
                let (w, h) = s.split_once('x')?;
                Some((w.parse().ok()?, h.parse().ok()?))
            })
            .unwrap_or((720, 1440));
        let window = crate::ui::headless::install(size.0, size.1)?;
        Ok(Some(Probe {
            scan: scan.to_string_lossy().into_owned(),
            window,
            size,
            started,
        }))
    }

    fn draw(&self, buffer: &mut [PremultipliedRgbaColor]) {
        slint::platform::update_timers_and_animations();
        self.window.draw_if_needed(|r| {
            r.render(buffer, self.size.0 as usize);
        });
    }

    /// Shows the window, draws its first frame, judges the scan at the pick gate (not recorded),
    /// draws the verdict and writes the probe's line on stdout.
    pub fn finish(self, app: &AppWindow, ctl: &Rc<std::cell::RefCell<Controller>>) -> anyhow::Result<()> {
        let mut buffer = vec![PremultipliedRgbaColor::default(); (self.size.0 * self.size.1) as usize];
        app.show()?;
        self.draw(&mut buffer);
        let frame_ms = self.started.elapsed().as_secs_f64() * 1e3;
        let verdict = crate::ui::judge_first_scan(app, ctl, self.scan.as_bytes());
        self.draw(&mut buffer);
        let ready_ms = self.started.elapsed().as_secs_f64() * 1e3;
        let (rss, hwm) = memory_kib();
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

/// This process's resident memory now and at its peak (VmRSS, VmHWM), in KiB.
fn memory_kib() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
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

fn launch(exe: &Path, db: &Path, scan: &str, cold: bool) -> anyhow::Result<Launch> {
    if cold {
        for p in [db.to_owned(), sibling(db, "-wal"), sibling(db, "-shm"), exe.to_owned()] {
            evict(&p);
        }
    }
    let t0 = Instant::now();
    let mut child = Command::new(exe)
        .arg("--db")
        .arg(db)
        .args(["--devices", "simulated", "--lang", "en"])
        .env(PROBE_VAR, scan)
        .env("LOTLINE_CONFIG", "")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
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

/// `lotline bench startup`: `rounds` cold and `rounds` warm launches on `db` (or on a generated
/// cache of `lots` lots kept in `dir`).
pub fn startup(db: Option<PathBuf>, lots: usize, rounds: usize, dir: Option<PathBuf>) -> anyhow::Result<()> {
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
        "cache {} ({lots_in} lots), {rounds} cold and {rounds} warm launches",
        db.display()
    );
    // One launch first, not counted: the first ever start of a build pays for things no later
    // start does (fontconfig's cache, the binary's first read from disk).
    launch(&exe, &db, &scans[0], false)?;
    let mut results: Vec<(bool, Launch)> = Vec::new();
    for round in 0..rounds {
        for cold in [true, false] {
            let scan = &scans[round * 2 + usize::from(!cold)];
            let l = launch(&exe, &db, scan, cold)?;
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
