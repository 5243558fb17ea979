//! `PRAGMA quick_check` when the app starts: a damaged cache is reported (naming the file and
//! what to do) and is opened only to read, so nothing is recorded into it.

use super::{Store, StoreError};

/// How the detail of a [`StoreError::Corrupt`] found by [`Store::quick_check`] starts.
pub(crate) const QUICK_CHECK_FOUND: &str = "PRAGMA quick_check found: ";

/// How many of quick_check's findings a message quotes.
const FINDINGS: usize = 3;

impl Store {
    /// Runs `PRAGMA quick_check` (every page and b-tree of the file, without comparing indexes
    /// with their tables). `Ok` when SQLite answers "ok"; else [`StoreError::Corrupt`], naming the
    /// file and what to do, with the first lines quick_check reported.
    pub fn quick_check(&self) -> Result<(), StoreError> {
        let c = |e| self.err(e);
        let mut st = self
            .conn
            .prepare(&format!("PRAGMA quick_check({FINDINGS})"))
            .map_err(c)?;
        let found: Vec<String> = st
            .query_map([], |r| r.get(0))
            .map_err(c)?
            .collect::<Result<_, _>>()
            .map_err(c)?;
        if found == ["ok"] {
            return Ok(());
        }
        // One line of text: a finding may span lines, under a "*** in database main ***" header.
        let lines: Vec<&str> = found
            .iter()
            .flat_map(|f| f.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("*** in database"))
            .take(FINDINGS)
            .collect();
        Err(StoreError::Corrupt {
            path: self.path.clone(),
            detail: format!("{QUICK_CHECK_FOUND}{}", lines.join("; ")),
        })
    }

    /// Opens a cache [`Store::quick_check`] found damaged (`damage`, the error it returned) to
    /// read only, as [`Store::open_read_only`] does: lookups and checks read what they can, and
    /// every write transaction is refused with `damage` itself, which names the file and says
    /// what to do. Any other error is returned as it is.
    pub fn open_damaged(damage: StoreError) -> Result<Store, StoreError> {
        let StoreError::Corrupt { path, detail } = damage else {
            return Err(damage);
        };
        let mut s = Store::open_read_only(&path)?;
        s.damaged = Some(detail);
        Ok(s)
    }

    /// Marks this open cache damaged with `damage` ([`Store::quick_check`]'s error, found on
    /// another connection while this one was in use): from now on every write transaction is
    /// refused with it, as on a cache opened by [`Store::open_damaged`]. Any other error is
    /// ignored.
    pub fn mark_damaged(&mut self, damage: &StoreError) {
        if let StoreError::Corrupt { detail, .. } = damage {
            self.damaged = Some(detail.clone());
        }
    }

    /// `Err` (the damage) on a cache opened by [`Store::open_damaged`].
    pub(crate) fn refuse_if_damaged(&self) -> Result<(), StoreError> {
        match &self.damaged {
            Some(detail) => Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: detail.clone(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::domain::text::Bilingual;
    use crate::store::ScanRecord;

    /// A small finished cache in `dir`.
    fn cache(dir: &Path) -> PathBuf {
        let path = dir.join("c.db");
        let mut s = Store::create_new(&path).unwrap();
        crate::store::demo::generate(&mut s, 20, 1, chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()).unwrap();
        path
    }

    /// Overwrites the middle of the root page of the index `lots_fefo`: a b-tree page no
    /// opening reads, but quick_check does.
    fn damage_fefo_index(path: &Path) {
        let (root, page): (i64, i64) = {
            let s = Store::open_read_only(path).unwrap();
            let root = s
                .conn
                .query_row("SELECT rootpage FROM sqlite_schema WHERE name = 'lots_fefo'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            let page = s.conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
            (root, page)
        };
        let mut bytes = std::fs::read(path).unwrap();
        let start = ((root - 1) * page) as usize;
        for b in &mut bytes[start..start + 64] {
            *b = 0xEE;
        }
        std::fs::write(path, bytes).unwrap();
    }

    fn pragma(s: &Store, name: &str) -> String {
        s.conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap()
    }

    #[test]
    fn every_read_write_opening_is_in_wal_mode_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let created = Store::create_new(&path).unwrap();
        assert_eq!(pragma(&created, "journal_mode"), "wal");
        assert_eq!(pragma(&created, "synchronous"), "2", "FULL");
        drop(created);
        let path = cache(dir.path());
        for s in [Store::open(&path).unwrap(), Store::create(&path).unwrap()] {
            assert_eq!(pragma(&s, "journal_mode"), "wal");
            assert_eq!(pragma(&s, "synchronous"), "2", "FULL");
            assert_eq!(pragma(&s, "foreign_keys"), "1");
        }
    }

    /// The app's check beside its start: the cache opens for writing at once, a scan is judged
    /// and recorded while the check runs; once the check reports the damage, the session's
    /// store refuses every write with it and the file is not written again. A sound cache's
    /// check changes nothing.
    #[test]
    fn the_check_beside_the_start_ends_writing_to_a_damaged_cache() {
        use crate::app::check::CheckContext;
        use crate::app::session::Session;
        use crate::domain::policy::Gate;
        let session = |path: &Path| {
            let printer = crate::app::printing::ShellPrinter::simulated(path.with_extension("zpl"));
            Session::new(Store::open(path).unwrap(), Default::default(), Box::new(printer))
        };
        let wait = |s: &mut Session| loop {
            if let Some(r) = s.poll_integrity_check() {
                return r;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00+08:00").unwrap();
        let scan = format!("(01){}(10)L2402", crate::store::demo::demo_gtin(0));

        let dir = tempfile::tempdir().unwrap();
        let sound = cache(dir.path());
        let mut s = session(&sound);
        assert!(s.poll_integrity_check().is_none(), "none started");
        s.start_integrity_check();
        wait(&mut s).unwrap();
        assert!(s.store().writable());
        let checked = s
            .check_scan(Gate::Pick, scan.as_bytes(), &CheckContext::default(), now, true)
            .unwrap();
        assert!(checked.command.is_some(), "recorded");
        drop(s);

        let dir = tempfile::tempdir().unwrap();
        let path = cache(dir.path());
        damage_fefo_index(&path);
        let mut s = session(&path);
        s.start_integrity_check();
        let found = wait(&mut s).unwrap_err();
        assert!(matches!(found, StoreError::Corrupt { .. }), "{found:?}");
        assert!(!s.store().writable());
        assert!(s.poll_integrity_check().is_none(), "reported once");
        let saved = s.save_error().expect("the session says why nothing is saved").clone();
        assert!(saved.en.contains("restore it from a backup"), "{}", saved.en);
        let queued = s.store().count("outbox").unwrap();
        // Not recorded (judged where the damaged index is not needed; kept on screen unsaved).
        let checked = s.check_scan(Gate::Pick, scan.as_bytes(), &CheckContext::default(), now, true);
        assert!(checked.as_ref().map_or(true, |c| c.command.is_none()), "{checked:?}");
        assert_eq!(s.store().count("outbox").unwrap(), queued, "nothing queued");
        assert!(s.save_error().is_some_and(|t| t.en.contains("quick_check")));
    }

    #[test]
    fn a_sound_cache_passes_quick_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache(dir.path());
        Store::open(&path).unwrap().quick_check().unwrap();
        Store::open_read_only(&path).unwrap().quick_check().unwrap();
    }

    #[test]
    fn a_damaged_index_page_is_found_named_and_nothing_is_recorded_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache(dir.path());
        damage_fefo_index(&path);
        // Opening does not read the index; quick_check does.
        let s = Store::open_read_only(&path).unwrap();
        let err = s.quick_check().unwrap_err();
        let StoreError::Corrupt { detail, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(detail.starts_with(QUICK_CHECK_FOUND), "{detail}");
        assert!(!detail.contains('\n') && !detail.contains("***"), "one line: {detail}");
        assert!(detail.contains("lots_fefo"), "{detail}");
        let (en, zh) = (err.to_string(), err.message_zh());
        assert!(
            en.contains(path.to_str().unwrap()) && en.contains("restore it from a backup"),
            "{en}"
        );
        assert!(
            zh.contains(path.to_str().unwrap()) && zh.contains("PRAGMA quick_check 发现"),
            "{zh}"
        );
        drop(s);

        let before = std::fs::read(&path).unwrap();
        let mut s = Store::open_damaged(err).unwrap();
        assert!(s.count("items").unwrap() > 0, "reading still works");
        let rec = ScanRecord {
            at: "2026-11-21T09:00:00+08:00".into(),
            operator: "op".into(),
            gate: "pick".into(),
            scan: "x".into(),
            verdict: "reject".into(),
            reason_codes: vec![],
            item_id: None,
            lot: None,
            task_id: None,
            customer_id: None,
        };
        let refused = s.record_scan(&rec).unwrap_err();
        assert!(matches!(refused, StoreError::Corrupt { .. }), "{refused:?}");
        assert!(refused.to_string().contains("quick_check"), "{refused}");
        drop(s);
        assert_eq!(std::fs::read(&path).unwrap(), before, "nothing was written");

        // An error that is not damage is handed back.
        let missing = StoreError::Missing {
            path: dir.path().join("none.db"),
        };
        assert!(matches!(Store::open_damaged(missing), Err(StoreError::Missing { .. })));
    }
}
