//! `lotline bench verdict`: time decode + cache lookup + rules per scan, on a small and a large
//! demo cache, and print percentiles. Figures, not assertions: the README quotes them.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::app::check::{CheckContext, check_scan};
use crate::domain::policy::Gate;
use crate::store::{Store, demo};

/// Fixed so cached benchmark databases stay valid and runs are comparable.
pub(crate) const BENCH_TODAY: (i32, u32, u32) = (2026, 6, 1);
const SEED: u64 = 7;

pub struct Stats {
    pub n: usize,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
}

/// Percentiles of a sample of durations in microseconds.
pub fn stats(mut v: Vec<f64>) -> Stats {
    v.sort_by(f64::total_cmp);
    let n = v.len().max(1);
    let pct = |p: f64| {
        v.get(((p * n as f64).ceil() as usize).saturating_sub(1).min(n - 1))
            .copied()
            .unwrap_or(0.0)
    };
    Stats {
        n: v.len(),
        p50_us: pct(0.50),
        p90_us: pct(0.90),
        p99_us: pct(0.99),
        max_us: v.last().copied().unwrap_or(0.0),
        mean_us: v.iter().sum::<f64>() / n as f64,
    }
}

pub(crate) fn bench_db(dir: &std::path::Path, lots: usize, today: NaiveDate) -> anyhow::Result<Store> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("bench-{lots}-seed{SEED}.db"));
    if path.exists() {
        if let Ok(store) = Store::open(&path)
            && store.count("lots")? as usize >= lots
        {
            return Ok(store);
        }
        std::fs::remove_file(&path).ok();
    }
    tracing::info!("generating {lots} lots in {} ...", path.display());
    let t = Instant::now();
    let mut store = Store::create(&path)?;
    demo::generate(&mut store, lots, SEED, today)?;
    tracing::info!("  done in {:.1} s", t.elapsed().as_secs_f64());
    Ok(store)
}

/// Scans as a scanner would send them: GS1 DataMatrix with symbology id, GTIN, expiry and lot;
/// one in ten names an unknown lot and one in twenty is garbage.
pub(crate) fn sample_scans(store: &Store, n: usize, rng: &mut SmallRng) -> anyhow::Result<Vec<String>> {
    let max_id: i64 = store.conn().query_row("SELECT MAX(id) FROM lots", [], |r| r.get(0))?;
    let mut st = store.conn().prepare(
        "SELECT b.code, l.lot, l.expiry FROM lots l JOIN barcodes b ON b.item_id = l.item_id AND b.kind = 'gtin' WHERE l.id = ?1",
    )?;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id = rng.random_range(1..=max_id);
        let row: Option<(String, String, String)> =
            rusqlite::OptionalExtension::optional(st.query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
        let Some((gtin, lot, expiry)) = row else { continue };
        let yymmdd = format!("{}{}{}", &expiry[2..4], &expiry[5..7], &expiry[8..10]);
        let r: f64 = rng.random();
        out.push(if r < 0.05 {
            "]d2 garbage #@!".to_owned()
        } else if r < 0.15 {
            format!("]d201{gtin}17{yymmdd}10X{}", &lot[1..])
        } else {
            format!("]d201{gtin}17{yymmdd}10{lot}")
        });
    }
    Ok(out)
}

fn run_one(store: &Store, scans: &[String], today: NaiveDate) -> anyhow::Result<Stats> {
    let ctx = CheckContext::default();
    for s in scans.iter().take(1000) {
        check_scan(store, Gate::Pick, s.as_bytes(), &ctx, today)?;
    }
    let mut times = Vec::with_capacity(scans.len());
    for s in scans {
        let t = Instant::now();
        let o = check_scan(store, Gate::Pick, s.as_bytes(), &ctx, today)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(o);
    }
    Ok(stats(times))
}

/// A memory figure of this process from /proc/self/status (`VmRSS:`, `VmHWM:`), in KiB.
pub(crate) fn rss_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn peak_rss_mib() -> Option<f64> {
    Some(rss_kib("VmHWM:")? as f64 / 1024.0)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Alternates rounds on the small and the large cache so drift on a shared machine hits both
/// alike, and reports the median of each round's percentiles.
pub fn verdict(lots: usize, small: usize, scans: usize, cache_dir: Option<PathBuf>) -> anyhow::Result<()> {
    const ROUNDS: usize = 5;
    let (y, m, d) = BENCH_TODAY;
    let today = NaiveDate::from_ymd_opt(y, m, d).context("bench date")?;
    let dir = cache_dir.unwrap_or_else(|| std::env::temp_dir().join("lotline-bench"));
    let mut rng = SmallRng::seed_from_u64(SEED);
    let caches = [small, lots]
        .into_iter()
        .map(|n| -> anyhow::Result<(usize, Store, Vec<String>)> {
            let store = bench_db(&dir, n, today)?;
            let sample = sample_scans(&store, scans, &mut rng)?;
            Ok((n, store, sample))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut p50s = vec![vec![]; caches.len()];
    let mut p99s = vec![vec![]; caches.len()];
    for round in 1..=ROUNDS {
        for (k, (n, store, sample)) in caches.iter().enumerate() {
            let st = run_one(store, sample, today)?;
            println!(
                "round {round}  lots={n:>9}  scans={}  p50={:.1} us  p90={:.1} us  p99={:.1} us  max={:.1} us  mean={:.1} us",
                st.n, st.p50_us, st.p90_us, st.p99_us, st.max_us, st.mean_us
            );
            p50s[k].push(st.p50_us);
            p99s[k].push(st.p99_us);
        }
    }
    let (m50, m99): (Vec<f64>, Vec<f64>) = (
        p50s.into_iter().map(median).collect(),
        p99s.into_iter().map(median).collect(),
    );
    for (k, (n, _, _)) in caches.iter().enumerate() {
        println!("median   lots={n:>9}  p50={:.1} us  p99={:.1} us", m50[k], m99[k]);
    }
    println!(
        "ratio    p99(large)/p99(small) = {:.2}   p50 ratio = {:.2}",
        m99[1] / m99[0],
        m50[1] / m50[0]
    );
    if let Some(rss) = peak_rss_mib() {
        println!("memory   peak RSS {rss:.0} MiB");
    }
    Ok(())
}

/// The mixed corpus of `bench grammar`: what scanners and RFID readers deliver.
fn grammar_corpus() -> Vec<(&'static str, String)> {
    let gs = '\u{1d}';
    let mut v = Vec::new();
    for i in 0..200u32 {
        let lot = format!("L{:06}", i * 7919 % 1_000_000);
        let gtin = {
            let body = format!("0950110153{:03}", i % 1000);
            let c = crate::domain::ids::gs1_check_digit(body.as_bytes());
            format!("{body}{c}")
        };
        // GS1 DataMatrix with 4 to 6 AIs, as sent with the symbology identifier and GS separators.
        v.push((
            "gs1",
            format!("]d201{gtin}17{:02}1231{gs}10{lot}{gs}21S{i:05}", 27 + i % 5),
        ));
        v.push(("gs1", format!("]d201{gtin}11250101172712003103{:06}10{lot}", 500 + i)));
        v.push((
            "gs1",
            format!(
                "]C101{gtin}15271130{gs}10{lot}{gs}30{}{gs}21X{i}{gs}240PART{i}",
                i % 90 + 1
            ),
        ));
        v.push((
            "digital_link",
            format!("https://id.gs1.org/01/{gtin}/10/{lot}?17=271231&3103=001250"),
        ));
        v.push(("hibc", "+A123BJC5D6E71G".to_owned()));
        v.push(("hibc", "+A99912345/$$52025010X3/16D20111212/S77DEFG458".to_owned()));
        v.push(("epc", "3074257BF7194E4000001A85".to_owned()));
        v.push(("epc", "3174257BF4499602D2000000".to_owned()));
    }
    v
}

/// `lotline bench grammar`: scans per second through `parse_scan` (and EPC hex through the EPC
/// decoder) on one core, per kind, median of several rounds.
pub fn grammar(rounds: usize, seconds_per_round: f64, only: Option<&str>) -> anyhow::Result<()> {
    use crate::domain::epc::decode_epc_hex;
    use crate::domain::scan::{ScanSettings, parse_scan};
    let today = NaiveDate::from_ymd_opt(2026, 11, 21).context("date")?;
    let settings = ScanSettings::default();
    let corpus = grammar_corpus();
    for (kind, input) in &corpus {
        let ok = if *kind == "epc" {
            decode_epc_hex(input).is_ok()
        } else {
            parse_scan(input.as_bytes(), None, &settings, today).is_ok()
        };
        anyhow::ensure!(ok, "benchmark input does not parse: {input}");
    }
    let kinds: Vec<&str> = ["gs1", "digital_link", "hibc", "epc"]
        .into_iter()
        .filter(|k| only.is_none_or(|o| o == *k))
        .collect();
    anyhow::ensure!(!kinds.is_empty(), "--kind is one of gs1, digital_link, hibc, epc");
    let mut rates: Vec<Vec<f64>> = vec![vec![]; kinds.len()];
    for round in 1..=rounds {
        let mut line = format!("round {round}");
        for (k, kind) in kinds.iter().enumerate() {
            let inputs: Vec<&String> = corpus.iter().filter(|(c, _)| c == kind).map(|(_, s)| s).collect();
            let start = Instant::now();
            let mut n = 0usize;
            while start.elapsed().as_secs_f64() < seconds_per_round {
                for s in &inputs {
                    if *kind == "epc" {
                        std::hint::black_box(decode_epc_hex(s).ok());
                    } else {
                        std::hint::black_box(parse_scan(s.as_bytes(), None, &settings, today).ok());
                    }
                }
                n += inputs.len();
            }
            let rate = n as f64 / start.elapsed().as_secs_f64();
            line.push_str(&format!("  {kind}={:.0}/s", rate));
            rates[k].push(rate);
        }
        println!("{line}");
    }
    for (k, kind) in kinds.iter().enumerate() {
        let m = median(rates[k].clone());
        println!("median   {kind:<13} {:>10.0} per second   {:>6.2} us each", m, 1e6 / m);
    }
    Ok(())
}

/// Writes an import file of `lots` lots (one stock row each) with the items and locations they
/// name, straight to disk: `(rows, bytes)`.
pub(crate) fn write_import_file(path: &std::path::Path, lots: usize) -> anyhow::Result<(usize, u64)> {
    use crate::domain::ids::gs1_check_digit;
    use std::io::Write;
    let items = (lots / 2000).clamp(1, 5000);
    let locations = (lots / 500).clamp(1, 5000);
    let mut rng = SmallRng::seed_from_u64(SEED);
    let mut w = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    let mut rows = 0usize;
    w.write_all(b"{\n\"categories\": [{\"id\": \"food\", \"near_expiry_days\": [60, 30, 7]}],\n\"items\": [\n")?;
    for i in 0..items {
        let body = format!("0690123{:06}", i);
        let gtin = format!("{body}{}", gs1_check_digit(body.as_bytes()));
        let sep = if i + 1 < items { "," } else { "" };
        writeln!(
            w,
            "{{\"id\": \"B{i:05}\", \"name_en\": \"Bench item {i}\", \"name_zh\": \"测试物料 {i}\", \"gtins\": [\"{gtin}\"], \
             \"category\": \"food\", \"shelf_life_days\": 365, \"min_remaining_days_receipt\": 30}}{sep}"
        )?;
    }
    w.write_all(b"],\n\"locations\": [\n")?;
    for l in 0..locations {
        let sep = if l + 1 < locations { "," } else { "" };
        writeln!(
            w,
            "{{\"code\": \"WH1-B-{l:05}\", \"warehouse\": \"WH1\", \"zone\": \"B\", \"kind\": \"pick\"}}{sep}"
        )?;
    }
    w.write_all(b"],\n\"lots\": [\n")?;
    let (y, m, d) = BENCH_TODAY;
    let today = NaiveDate::from_ymd_opt(y, m, d).context("bench date")?;
    for n in 0..lots {
        let expiry = today + chrono::Days::new(rng.random_range(0..900));
        let prod = expiry - chrono::Days::new(365);
        let sep = if n + 1 < lots { "," } else { "" };
        writeln!(
            w,
            "{{\"item\": \"B{:05}\", \"lot\": \"L{n:08}\", \"expiry\": \"{expiry}\", \"production_date\": \"{prod}\", \"status\": \"released\"}}{sep}",
            n % items
        )?;
    }
    w.write_all(b"],\n\"stock\": [\n")?;
    for n in 0..lots {
        let sep = if n + 1 < lots { "," } else { "" };
        writeln!(
            w,
            "{{\"location\": \"WH1-B-{:05}\", \"item\": \"B{:05}\", \"lot\": \"L{n:08}\", \"qty\": {}}}{sep}",
            n % locations,
            n % items,
            rng.random_range(1..500)
        )?;
    }
    w.write_all(b"]\n}\n")?;
    w.flush()?;
    rows += 1 + items + locations + 2 * lots;
    Ok((rows, std::fs::metadata(path)?.len()))
}

/// `lotline bench import`: generates an import file of `lots` lots, then imports it into a new
/// database with `lotline import` in a child process, and prints its time, rows per second and
/// peak resident memory (the child's, so generating the file does not count).
pub fn import(lots: usize, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let tmp = tempfile_dir(dir)?;
    let file = tmp.join("import.json");
    let db = tmp.join("import.db");
    let t = Instant::now();
    let (rows, bytes) = write_import_file(&file, lots)?;
    println!(
        "file     {} lots, {rows} rows, {:.1} MB, written in {:.1} s",
        lots,
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&db);
    let exe = std::env::current_exe().context("finding the lotline binary")?;
    let t = Instant::now();
    let out = std::process::Command::new(exe)
        .arg("import")
        .arg("--db")
        .arg(&db)
        .arg(&file)
        .stdin(std::process::Stdio::null())
        .output()
        .context("running lotline import")?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        anyhow::bail!(
            "lotline import failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // The peak resident set of the (only) child waited for.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let peak_mib = if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) } == 0 {
        Some(ru.ru_maxrss as f64 / 1024.0)
    } else {
        None
    };
    println!("import   {}", String::from_utf8_lossy(&out.stdout).trim());
    println!(
        "import   {secs:.1} s  {:.0} rows/s  {:.0} lots/s  peak RSS {}",
        rows as f64 / secs,
        lots as f64 / secs,
        peak_mib.map_or("unknown".into(), |m| format!("{m:.0} MiB"))
    );
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&db);
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(tmp.join(format!("import.db{ext}")));
    }
    let _ = std::fs::remove_dir(&tmp);
    Ok(())
}

fn tempfile_dir(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let d = dir.unwrap_or_else(|| std::env::temp_dir().join(format!("lotline-bench-import-{}", std::process::id())));
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}

/// `lotline bench count`: an RFID count of `tags` unique tags in one location, from the moment
/// the last tag is read to the reconciled variances: the tags resolved (EPC → GTIN + serial →
/// lot through the serial registry), counted, the location closed and the count finished. Each
/// round runs on a fresh copy of the same cache; prints the median and the peak memory.
pub fn count(tags: usize, lots: usize, rounds: usize) -> anyhow::Result<()> {
    use crate::app::session::{Op, Session, SessionOptions};
    use crate::domain::epc::encode_sgtin96;
    const GTIN: &str = "06901234500059";
    let tmp = tempfile_dir(None)?;
    let lots = lots.max(1);
    let file = tmp.join("count.json");
    let template = tmp.join("template.db");
    let mut json = String::from(
        r#"{"categories": [{"id": "device", "near_expiry_days": [90, 30]}],
"items": [{"id": "S-BENCH", "name_en": "Glucose meter", "name_zh": "血糖仪", "gtins": ["06901234500059"], "category": "device", "shelf_life_days": 1825, "serialized": true}],
"locations": [{"code": "B-01", "warehouse": "WH1", "zone": "B", "kind": "pick"}],
"operators": [{"id": "cnt1", "name": "Counter", "pin": "4444", "roles": ["counter"]}],
"tasks": [{"id": "CC-BENCH", "kind": "count", "lines": [{"item": "S-BENCH", "location": "B-01"}]}],
"lots": ["#,
    );
    let per_lot = tags.div_ceil(lots);
    for l in 0..lots {
        if l > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            r#"{{"item": "S-BENCH", "lot": "L{l:04}", "expiry": "2030-06-30", "status": "released"}}"#
        ));
    }
    json.push_str("],\n\"stock\": [");
    for l in 0..lots {
        if l > 0 {
            json.push(',');
        }
        // One unit short per lot: the count finds a variance on every line.
        json.push_str(&format!(
            r#"{{"location": "B-01", "item": "S-BENCH", "lot": "L{l:04}", "qty": {}}}"#,
            per_lot + 1
        ));
    }
    json.push_str("],\n\"serials\": [");
    for s in 0..tags {
        if s > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            r#"{{"item": "S-BENCH", "serial": "{}", "lot": "L{:04}"}}"#,
            s + 1,
            s / per_lot
        ));
    }
    json.push_str("]}\n");
    std::fs::write(&file, json).context("writing the bench file")?;
    let exe = std::env::current_exe().context("finding the lotline binary")?;
    let out = std::process::Command::new(exe)
        .args(["import", "--db"])
        .arg(&template)
        .arg(&file)
        .output()
        .context("running lotline import")?;
    if !out.status.success() {
        anyhow::bail!("import failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let epcs: Vec<String> = (0..tags)
        .map(|s| {
            encode_sgtin96(GTIN, 7, 1, s as u64 + 1)
                .map(|b| b.iter().map(|x| format!("{x:02X}")).collect())
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let now = chrono::DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00")?;
    let (mut totals, mut read_ms, mut finish_ms) = (vec![], vec![], vec![]);
    for round in 1..=rounds {
        let db = tmp.join(format!("round{round}.db"));
        std::fs::copy(&template, &db).context("copying the cache")?;
        let store = Store::open(&db)?;
        let mut s = Session::new(
            store,
            SessionOptions::default(),
            Box::new(crate::app::printing::ShellPrinter::simulated(tmp.join("labels.zpl"))),
        );
        let must = |r: crate::app::session::Reply| -> anyhow::Result<crate::app::session::Reply> {
            match &r.error {
                Some(e) => anyhow::bail!("{}: {}", r.op, e.text.en),
                None => Ok(r),
            }
        };
        must(s.handle(
            Op::Login {
                operator: "cnt1".into(),
                pin: "4444".into(),
            },
            now,
        ))?;
        must(s.handle(
            Op::Start {
                gate: "count".into(),
                task: Some("CC-BENCH".into()),
            },
            now,
        ))?;
        must(s.handle(Op::Location { code: "B-01".into() }, now))?;
        let t0 = Instant::now();
        let r = must(s.handle(Op::Tags { epcs: epcs.clone() }, now))?;
        let t1 = Instant::now();
        must(s.handle(Op::Confirm, now))?;
        let fin = must(s.handle(Op::Finish, now))?;
        let t2 = Instant::now();
        let counted: i64 = r
            .extra
            .as_ref()
            .and_then(|x| x.get("counted"))
            .and_then(|c| c.as_array())
            .map(|a| a.iter().filter_map(|l| l["qty"].as_i64()).sum())
            .unwrap_or(0);
        let lines = fin
            .extra
            .as_ref()
            .and_then(|x| x.get("variances"))
            .and_then(|v| v.as_array())
            .map(|a| a.len())
            .unwrap_or(0);
        anyhow::ensure!(counted as usize == tags, "counted {counted} of {tags} tags");
        let (a, b, t) = (
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            (t2 - t0).as_secs_f64() * 1e3,
        );
        println!(
            "round {round}  tags={tags}  lots={lots}  resolve+count {a:.0} ms  close+reconcile {b:.0} ms  total {t:.0} ms  ({lines} variance lines)"
        );
        read_ms.push(a);
        finish_ms.push(b);
        totals.push(t);
        drop(s);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(tmp.join(format!("round{round}.db{ext}")));
        }
    }
    println!(
        "median   tags={tags}  resolve+count {:.0} ms  close+reconcile {:.0} ms  last read → variances {:.0} ms",
        median(read_ms),
        median(finish_ms),
        median(totals)
    );
    if let Some(rss) = peak_rss_mib() {
        println!("memory   peak RSS {rss:.0} MiB");
    }
    for f in [
        "count.json",
        "template.db",
        "template.db-wal",
        "template.db-shm",
        "labels.zpl",
    ] {
        let _ = std::fs::remove_file(tmp.join(f));
    }
    let _ = std::fs::remove_dir(&tmp);
    Ok(())
}
