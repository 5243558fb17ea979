//! Conformance: every vector in `../shared/standards/` (the GS1 Syntax Dictionary linter tests,
//! the GS1 Syntax Engine AI, scan-data and Digital Link suites, the Digital Link 1.1 validity
//! suite, the EPC and HIBC vectors). Runs when that folder sits beside the repository (as in CI) or
//! `LOTLINE_STANDARDS` names its `vectors` folder; skips with a note otherwise. Prints the pass
//! counts per suite (`cargo test --test it conformance -- --nocapture`) and writes them to
//! `target/conformance.txt`. Rows decided otherwise are listed, with the reason, in each runner's
//! `KNOWN_DEVIATIONS`; any other failure fails the test.

mod dl;
mod epc;
mod gs1;
mod hibc;

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::NaiveDate;
use lotline::domain::gs1::{ValidateOptions, validate_ais_with};

struct Line {
    area: &'static str,
    suite: String,
    passed: usize,
    failed: usize,
    skipped: Vec<String>,
    failures: Vec<String>,
}

fn vectors_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("LOTLINE_STANDARDS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/standards/vectors"),
    };
    dir.join("epc_vectors.json").exists().then_some(dir)
}

#[test]
fn conformance_suites() {
    let Some(dir) = vectors_dir() else {
        eprintln!("conformance: ../shared/standards/vectors not found; skipped (set LOTLINE_STANDARDS to run it)");
        return;
    };
    let mut lines = Vec::new();
    for r in gs1::run(&dir) {
        lines.push(Line {
            area: "gs1",
            suite: r.name,
            passed: r.passed,
            failed: r.failed,
            skipped: r.skipped,
            failures: r.failures,
        });
    }
    // Digital Link rows are validated as element strings by the project's own validator.
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    let validate = |ais: &[(String, String)]| {
        validate_ais_with(
            ais,
            today,
            ValidateOptions {
                permit_unknown_ais: true,
                ..Default::default()
            },
        )
        .map_err(|e| format!("{}: {}", e.code, e.message))
    };
    for r in dl::run(&dir, validate) {
        lines.push(Line {
            area: "digital link",
            suite: r.name,
            passed: r.passed,
            failed: r.failed,
            skipped: vec![],
            failures: r.failures,
        });
    }
    for r in epc::run(&dir) {
        lines.push(Line {
            area: "epc",
            suite: r.name,
            passed: r.passed,
            failed: r.failed,
            skipped: vec![],
            failures: r.failures,
        });
    }
    for r in hibc::run(&dir) {
        lines.push(Line {
            area: "hibc",
            suite: r.name,
            passed: r.passed,
            failed: r.failed,
            skipped: vec![],
            failures: r.failures,
        });
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "{:<14} {:<52} {:>7} {:>7} {:>8} {:>8}",
        "area", "suite", "passed", "failed", "skipped", "pass %"
    );
    let mut unexpected = Vec::new();
    for l in &lines {
        let pct = 100.0 * l.passed as f64 / (l.passed + l.failed).max(1) as f64;
        let _ = writeln!(
            report,
            "{:<14} {:<52} {:>7} {:>7} {:>8} {:>7.1}%",
            l.area,
            l.suite,
            l.passed,
            l.failed,
            l.skipped.len(),
            pct
        );
        for f in &l.skipped {
            let _ = writeln!(report, "    skipped: {f}");
        }
        for f in &l.failures {
            let _ = writeln!(report, "    {f}");
            if !f.contains("known deviation") {
                unexpected.push(format!("{}: {f}", l.suite));
            }
        }
    }
    eprint!("{report}");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/conformance.txt");
    let _ = std::fs::write(out, &report);
    assert!(lines.iter().all(|l| l.passed > 0), "a suite ran no rows:\n{report}");
    assert!(
        unexpected.is_empty(),
        "unexpected conformance failures:\n{}",
        unexpected.join("\n")
    );
}
