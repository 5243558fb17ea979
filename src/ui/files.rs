//! The Files screen: exports of the audit log (CSV or JSON), the received lines and the labels,
//! and the import of master data (supervisors only). The folder or file comes from the
//! desktop's file dialog where the XDG portal runs, else from this screen's picker over the
//! mounted removable media. The work itself is `app::files`'; this module keeps the picker's
//! place, forwards the taps, and shows the results in the UI's language.

use std::cell::RefCell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;

use slint::ComponentHandle;

use super::login::text;
use super::{AppState, AppWindow, Controller, FileRow, FilesAdapter, Lang, Screen, model, shared};
use crate::app::files::{self as app_files, AuditFormat, Entry, Exported, FilesError, Listing};
use crate::domain::text::Text;
use crate::store::import::ImportSummary;

/// Problems of an import shown at most (the rest are counted).
pub const PROBLEMS_SHOWN: usize = 50;

/// What the Files screen does with the folder or file chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAction {
    ExportAuditCsv,
    ExportAuditJson,
    ExportReceived,
    ExportLabels,
    Import,
}

impl FileAction {
    /// The view's name for the action.
    pub fn parse(s: &str) -> Option<FileAction> {
        Some(match s {
            "export-audit-csv" => FileAction::ExportAuditCsv,
            "export-audit-json" => FileAction::ExportAuditJson,
            "export-received" => FileAction::ExportReceived,
            "export-labels" => FileAction::ExportLabels,
            "import" => FileAction::Import,
            _ => return None,
        })
    }

    pub fn is_export(self) -> bool {
        self != FileAction::Import
    }

    /// The files the picker lists besides folders.
    fn filter(self) -> &'static [&'static str] {
        if self.is_export() { &[] } else { &["json"] }
    }
}

/// How a file action ended.
#[derive(Debug)]
enum Outcome {
    Exported(FileAction, Exported),
    Imported(ImportSummary, PathBuf),
    Failed(FilesError),
}

/// What the Files screen keeps between taps.
#[derive(Default)]
pub struct FilesUi {
    /// What the picker (or the dialog) is choosing for.
    pending: Option<FileAction>,
    picking: bool,
    /// Waiting for the desktop's file dialog.
    busy: bool,
    roots: Vec<PathBuf>,
    /// The medium and the folder the picker shows (None: the list of media).
    root: Option<PathBuf>,
    folder: Option<PathBuf>,
    listing: Listing,
    listing_error: Option<Text>,
    outcome: Option<Outcome>,
    /// Tests and pictures: these media instead of the mounted ones, and the dialog on or off.
    media_roots: Option<Vec<PathBuf>>,
    dialog: Option<bool>,
}

/// How a chosen action goes on.
enum Start {
    /// Ask the desktop's file dialog (the screen waits).
    Dialog(FileAction, Option<PathBuf>),
    /// The in-app picker is open, or the action was refused (the message says so).
    Done,
}

impl Controller {
    /// Offers these folders as the removable media instead of the mounted ones (tests).
    pub fn set_media_roots(&mut self, roots: Vec<PathBuf>) {
        self.files.media_roots = Some(roots);
    }

    /// Uses the desktop's file dialog (true) or the in-app picker (false), whatever runs.
    pub fn set_file_dialog(&mut self, use_dialog: bool) {
        self.files.dialog = Some(use_dialog);
    }

    fn files_use_dialog(&self) -> bool {
        self.files.dialog.unwrap_or_else(app_files::portal_available)
    }

    fn files_scan_roots(&mut self) {
        self.files.roots = match &self.files.media_roots {
            Some(r) => r.iter().filter(|p| p.is_dir()).cloned().collect(),
            None => app_files::removable_roots(),
        };
    }

    /// Starts an action: checks who may do it, then asks the dialog or opens the picker.
    fn files_start(&mut self, action: FileAction) -> Start {
        let op = self.session.state().operator();
        let allowed = if action.is_export() {
            app_files::may_export(op)
        } else {
            app_files::may_import(op)
        };
        if let Err(e) = allowed {
            self.files.outcome = Some(Outcome::Failed(e));
            return Start::Done;
        }
        self.files.outcome = None;
        if self.files_use_dialog() {
            self.files_scan_roots();
            return Start::Dialog(action, self.files.roots.first().cloned());
        }
        self.files_open_picker(action);
        Start::Done
    }

    /// Opens the in-app picker on the media (straight into the medium when there is one).
    fn files_open_picker(&mut self, action: FileAction) {
        self.files.pending = Some(action);
        self.files.picking = true;
        self.files_scan_roots();
        self.files.root = None;
        self.files.folder = None;
        if let [only] = self.files.roots.as_slice() {
            let only = only.clone();
            self.files.root = Some(only.clone());
            self.files.folder = Some(only);
        }
        self.files_list();
    }

    fn files_list(&mut self) {
        self.files.listing = Listing::default();
        self.files.listing_error = None;
        let (Some(folder), Some(action)) = (&self.files.folder, self.files.pending) else {
            return;
        };
        match app_files::list_dir(folder, action.filter()) {
            Ok(l) => self.files.listing = l,
            Err(e) => self.files.listing_error = Some(Text::of(&e)),
        }
    }

    /// A row of the picker tapped: a medium or folder opens; a file is imported.
    pub fn files_open(&mut self, index: usize) {
        if self.files.folder.is_none() {
            let Some(root) = self.files.roots.get(index).cloned() else {
                return;
            };
            self.files.root = Some(root.clone());
            self.files.folder = Some(root);
            self.files_list();
            return;
        }
        let Some(Entry { path, is_dir, .. }) = self.files.listing.entries.get(index).cloned() else {
            return;
        };
        if is_dir {
            self.files.folder = Some(path);
            self.files_list();
        } else if self.files.pending == Some(FileAction::Import) {
            self.files_run(FileAction::Import, &path);
        }
    }

    /// One folder up; from the medium itself, back to the list of media.
    pub fn files_up(&mut self) {
        let (Some(folder), Some(root)) = (&self.files.folder, &self.files.root) else {
            return;
        };
        if folder == root || !folder.starts_with(root) {
            self.files.folder = None;
            self.files.root = None;
        } else {
            self.files.folder = folder.parent().map(Path::to_path_buf);
        }
        self.files_list();
    }

    /// Looks for media again (a stick put in or pulled out) and lists the folder again.
    pub fn files_refresh(&mut self) {
        self.files_scan_roots();
        let still_there = self.files.root.as_ref().is_some_and(|r| self.files.roots.contains(r))
            && self.files.folder.as_ref().is_some_and(|f| f.is_dir());
        if !still_there {
            self.files.root = None;
            self.files.folder = None;
        }
        if self.files.folder.is_none()
            && let [only] = self.files.roots.as_slice()
        {
            self.files.root = Some(only.clone());
            self.files.folder = Some(only.clone());
        }
        self.files_list();
    }

    /// Exports into the folder the picker shows.
    pub fn files_export_here(&mut self) {
        let (Some(folder), Some(action)) = (self.files.folder.clone(), self.files.pending) else {
            return;
        };
        if action.is_export() {
            self.files_run(action, &folder);
        }
    }

    pub fn files_cancel(&mut self) {
        self.files.picking = false;
        self.files.pending = None;
    }

    /// What the desktop's dialog gave: the action runs on it; nothing (cancelled, or the dialog
    /// could not be shown) opens the in-app picker instead.
    fn files_chosen(&mut self, action: FileAction, chosen: Option<PathBuf>) {
        self.files.busy = false;
        match chosen {
            Some(p) => self.files_run(action, &p),
            None => self.files_open_picker(action),
        }
    }

    /// Runs the action on the folder (exports) or file (import) chosen, and closes the picker.
    fn files_run(&mut self, action: FileAction, path: &Path) {
        let now = (self.clock)();
        let result = match action {
            FileAction::ExportAuditCsv | FileAction::ExportAuditJson => {
                let format = if action == FileAction::ExportAuditJson {
                    AuditFormat::Json
                } else {
                    AuditFormat::Csv
                };
                app_files::may_export(self.session.state().operator())
                    .and_then(|()| app_files::export_audit(self.store(), path, format, now))
                    .map(|x| Outcome::Exported(action, x))
            }
            FileAction::ExportReceived => app_files::may_export(self.session.state().operator())
                .and_then(|()| app_files::export_received(self.store(), path, now))
                .map(|x| Outcome::Exported(action, x)),
            FileAction::ExportLabels => app_files::may_export(self.session.state().operator())
                .and_then(|()| {
                    let device = self.store().device_id().map_err(FilesError::Store)?;
                    app_files::export_labels(&app_files::labels_dir(self.store()), path, &device, now)
                })
                .map(|x| Outcome::Exported(action, x)),
            FileAction::Import => self
                .session
                .import_master_data(path)
                .map(|s| Outcome::Imported(s, path.to_owned())),
        };
        if let Ok(Outcome::Imported(..)) = &result {
            // Customers may have come with the file.
            self.customers = self
                .store()
                .customers()
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
        }
        self.files.outcome = Some(result.unwrap_or_else(Outcome::Failed));
        self.files.picking = false;
        self.files.pending = None;
    }
}

/// "12.3 KB" and the like.
pub fn map_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// The picker's rows: the media (`folder` None), else the folder's entries.
pub fn map_rows(roots: &[PathBuf], folder: Option<&Path>, listing: &Listing, lang: Lang) -> Vec<FileRow> {
    if folder.is_none() {
        return roots
            .iter()
            .map(|r| FileRow {
                name: shared(
                    r.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| r.display().to_string()),
                ),
                detail: shared(r.display().to_string()),
                kind: shared("root"),
            })
            .collect();
    }
    listing
        .entries
        .iter()
        .map(|e| FileRow {
            name: shared(&e.name),
            detail: shared(if e.is_dir {
                match lang {
                    Lang::En => "Folder".to_owned(),
                    Lang::Zh => "文件夹".to_owned(),
                }
            } else {
                map_size(e.size)
            }),
            kind: shared(if e.is_dir { "dir" } else { "file" }),
        })
        .collect()
}

/// What the picker is choosing for.
pub fn map_picker_title(action: FileAction, lang: Lang) -> String {
    let (en, zh) = match action {
        FileAction::ExportAuditCsv => ("Where to export the audit log (CSV)?", "将审计日志（CSV）导出到哪里？"),
        FileAction::ExportAuditJson => (
            "Where to export the audit log (JSON)?",
            "将审计日志（JSON）导出到哪里？",
        ),
        FileAction::ExportReceived => ("Where to export the received lines?", "将收货明细导出到哪里？"),
        FileAction::ExportLabels => ("Where to copy the labels?", "将标签复制到哪里？"),
        FileAction::Import => ("Choose the master-data file (.json)", "请选择主数据文件（.json）"),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::Zh => zh.to_owned(),
    }
}

/// Where the picker is: the folder, or the list of media.
pub fn map_location(folder: Option<&Path>, lang: Lang) -> String {
    match (folder, lang) {
        (Some(f), _) => f.display().to_string(),
        (None, Lang::En) => "Removable media".to_owned(),
        (None, Lang::Zh) => "可移动存储".to_owned(),
    }
}

/// Under a cut listing: how many entries are not shown.
pub fn map_note(listing: &Listing, lang: Lang) -> String {
    match (listing.more, lang) {
        (0, _) => String::new(),
        (n, Lang::En) => format!("{} shown; {n} more not listed", listing.entries.len()),
        (n, Lang::Zh) => format!("已显示 {} 项；另有 {n} 项未列出", listing.entries.len()),
    }
}

/// What an export wrote.
pub fn map_exported(action: FileAction, x: &Exported, lang: Lang) -> String {
    let (n, p) = (x.count, x.path.display());
    match (action, lang) {
        (FileAction::ExportAuditCsv | FileAction::ExportAuditJson, Lang::En) => {
            format!("Exported {n} audit entries to {p}")
        }
        (FileAction::ExportAuditCsv | FileAction::ExportAuditJson, Lang::Zh) => {
            format!("已将 {n} 条审计记录导出到 {p}")
        }
        (FileAction::ExportReceived, Lang::En) => format!("Exported {n} received lines to {p}"),
        (FileAction::ExportReceived, Lang::Zh) => format!("已将 {n} 条收货明细导出到 {p}"),
        (FileAction::ExportLabels, Lang::En) => format!("Copied {n} labels to {p}"),
        (FileAction::ExportLabels, Lang::Zh) => format!("已将 {n} 张标签复制到 {p}"),
        (FileAction::Import, _) => String::new(),
    }
}

/// What an import wrote.
pub fn map_import_summary(s: &ImportSummary, file: &Path, lang: Lang) -> String {
    let counts = [
        (s.categories, "categories", "类别"),
        (s.items, "items", "商品"),
        (s.lots, "lots", "批次"),
        (s.locations, "locations", "库位"),
        (s.stock, "stock rows", "库存行"),
        (s.customers, "customers", "客户"),
        (s.serials, "serial numbers", "序列号"),
        (s.tasks, "tasks", "任务"),
        (s.operators, "operators", "操作员"),
    ];
    let parts: Vec<String> = counts
        .iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, en, zh)| match lang {
            Lang::En => format!("{n} {en}"),
            Lang::Zh => format!("{zh} {n}"),
        })
        .collect();
    let f = file.display();
    match (lang, parts.is_empty()) {
        (Lang::En, false) => format!("Imported from {f}: {}", parts.join(", ")),
        (Lang::En, true) => format!("Imported {f}: it held no records"),
        (Lang::Zh, false) => format!("已从 {f} 导入：{}", parts.join("，")),
        (Lang::Zh, true) => format!("已导入 {f}：其中没有记录"),
    }
}

/// An import's problems as shown: the first `max`, then how many more.
pub fn map_problems(problems: &[Text], more: usize, lang: Lang, max: usize) -> Vec<String> {
    let mut out: Vec<String> = problems.iter().take(max).map(|t| text(t, lang)).collect();
    let left = problems.len().saturating_sub(max) + more;
    if left > 0 {
        out.push(match lang {
            Lang::En => format!("… and {left} more problem(s)"),
            Lang::Zh => format!("…… 另有 {left} 个问题"),
        });
    }
    out
}

/// The result line, whether it went well, and the import's problems.
fn map_outcome(o: Option<&Outcome>, lang: Lang) -> (String, bool, Vec<String>) {
    match o {
        None => (String::new(), true, vec![]),
        Some(Outcome::Exported(a, x)) => (map_exported(*a, x, lang), true, vec![]),
        Some(Outcome::Imported(s, f)) => (map_import_summary(s, f, lang), true, vec![]),
        Some(Outcome::Failed(e)) => {
            let (problems, more) = e.problems();
            (
                text(&e.headline(), lang),
                false,
                map_problems(&problems, more, lang, PROBLEMS_SHOWN),
            )
        }
    }
}

pub fn render(app: &AppWindow, c: &Controller) {
    let fa = app.global::<FilesAdapter>();
    let lang = c.lang;
    let f = &c.files;
    fa.set_may_import(app_files::may_import(c.session.state().operator()).is_ok());
    fa.set_busy(f.busy);
    let (message, ok, problems) = map_outcome(f.outcome.as_ref(), lang);
    fa.set_message(shared(message));
    fa.set_message_ok(ok);
    fa.set_problems(model(problems.into_iter().map(shared).collect()));
    fa.set_picking(f.picking);
    fa.set_picker_title(shared(f.pending.map(|a| map_picker_title(a, lang)).unwrap_or_default()));
    fa.set_location(shared(map_location(f.folder.as_deref(), lang)));
    fa.set_can_up(f.folder.is_some());
    fa.set_can_export_here(f.folder.is_some() && f.pending.is_some_and(FileAction::is_export));
    fa.set_no_media(f.picking && f.roots.is_empty());
    let note = match &f.listing_error {
        Some(t) => text(t, lang),
        None => map_note(&f.listing, lang),
    };
    fa.set_note(shared(note));
    fa.set_rows(model(map_rows(&f.roots, f.folder.as_deref(), &f.listing, lang)));
}

/// Asks the desktop's dialog for a folder (exports) or a `.json` file (import) without blocking
/// the screen; what it gives goes to [`Controller::files_chosen`].
fn ask_dialog(app: &AppWindow, ctl: &Rc<RefCell<Controller>>, action: FileAction, start: Option<PathBuf>) {
    let lang = ctl.borrow().lang;
    let title = map_picker_title(action, lang);
    let fut: Pin<Box<dyn Future<Output = Option<PathBuf>>>> = if action.is_export() {
        Box::pin(app_files::dialog_pick_folder(title, start))
    } else {
        Box::pin(app_files::dialog_pick_json(title, start))
    };
    ctl.borrow_mut().files.busy = true;
    let weak = app.as_weak();
    let c = ctl.clone();
    let spawned = slint::spawn_local(async move {
        let chosen = fut.await;
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().files_chosen(action, chosen);
        super::render(&app, &c.borrow());
    });
    if spawned.is_err() {
        ctl.borrow_mut().files_chosen(action, None);
    }
}

pub fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_open_files(move || {
        let Some(app) = weak.upgrade() else { return };
        {
            let mut c = c.borrow_mut();
            if !c.files.busy {
                c.files.outcome = None;
                c.files_cancel();
            }
        }
        render(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Files);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<FilesAdapter>().on_action(move |name| {
        let Some(app) = weak.upgrade() else { return };
        let Some(action) = FileAction::parse(&name) else { return };
        if c.borrow().files.busy {
            return;
        }
        let start = c.borrow_mut().files_start(action);
        if let Start::Dialog(action, dir) = start {
            ask_dialog(&app, &c, action, dir);
        }
        render(&app, &c.borrow());
    });

    // Picker taps: each changes the controller, then the screen (and, after an import, every
    // screen: tasks and customers may be new) re-renders.
    let tap = |f: Box<dyn Fn(&mut Controller)>| {
        let weak = app.as_weak();
        let c = ctl.clone();
        move || {
            let Some(app) = weak.upgrade() else { return };
            f(&mut c.borrow_mut());
            let c = c.borrow();
            if matches!(c.files.outcome, Some(Outcome::Imported(..))) {
                super::render(&app, &c);
            } else {
                render(&app, &c);
            }
        }
    };
    let fa = app.global::<FilesAdapter>();
    fa.on_up(tap(Box::new(Controller::files_up)));
    fa.on_refresh(tap(Box::new(Controller::files_refresh)));
    fa.on_export_here(tap(Box::new(Controller::files_export_here)));
    fa.on_cancel(tap(Box::new(Controller::files_cancel)));

    let weak = app.as_weak();
    let c = ctl.clone();
    fa.on_open(move |i| {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().files_open(usize::try_from(i).unwrap_or(usize::MAX));
        let c = c.borrow();
        if matches!(c.files.outcome, Some(Outcome::Imported(..))) {
            super::render(&app, &c);
        } else {
            render(&app, &c);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_and_filter() {
        assert_eq!(FileAction::parse("import"), Some(FileAction::Import));
        assert_eq!(FileAction::parse("export-labels"), Some(FileAction::ExportLabels));
        assert_eq!(FileAction::parse("nope"), None);
        assert!(FileAction::ExportAuditJson.is_export() && !FileAction::Import.is_export());
        assert_eq!(FileAction::Import.filter(), ["json"]);
        assert!(FileAction::ExportReceived.filter().is_empty());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(map_size(0), "0 B");
        assert_eq!(map_size(1023), "1023 B");
        assert_eq!(map_size(1536), "1.5 KB");
        assert_eq!(map_size(5 * 1024 * 1024), "5.0 MB");
    }

    #[test]
    fn rows_for_media_and_folders() {
        let roots = [PathBuf::from("/media/anna/STICK")];
        let rows = map_rows(&roots, None, &Listing::default(), Lang::En);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].name.as_str(), rows[0].kind.as_str()), ("STICK", "root"));
        assert_eq!(rows[0].detail, "/media/anna/STICK");
        let listing = Listing {
            entries: vec![
                Entry {
                    name: "exports".into(),
                    path: "/media/anna/STICK/exports".into(),
                    is_dir: true,
                    size: 0,
                },
                Entry {
                    name: "master.json".into(),
                    path: "/media/anna/STICK/master.json".into(),
                    is_dir: false,
                    size: 2048,
                },
            ],
            more: 3,
        };
        let rows = map_rows(&roots, Some(Path::new("/media/anna/STICK")), &listing, Lang::Zh);
        assert_eq!(rows[0].detail, "文件夹");
        assert_eq!((rows[1].detail.as_str(), rows[1].kind.as_str()), ("2.0 KB", "file"));
        assert_eq!(map_note(&listing, Lang::En), "2 shown; 3 more not listed");
        assert_eq!(map_note(&listing, Lang::Zh), "已显示 2 项；另有 3 项未列出");
        assert_eq!(map_location(None, Lang::Zh), "可移动存储");
    }

    #[test]
    fn results_in_both_languages() {
        let x = Exported {
            path: "/media/s/lotline-audit-d-20261201-090000.csv".into(),
            count: 7,
        };
        assert_eq!(
            map_exported(FileAction::ExportAuditCsv, &x, Lang::En),
            "Exported 7 audit entries to /media/s/lotline-audit-d-20261201-090000.csv"
        );
        assert_eq!(
            map_exported(FileAction::ExportLabels, &x, Lang::Zh),
            "已将 7 张标签复制到 /media/s/lotline-audit-d-20261201-090000.csv"
        );
        let s = ImportSummary {
            items: 2,
            lots: 3,
            ..Default::default()
        };
        let f = Path::new("/media/s/m.json");
        assert_eq!(
            map_import_summary(&s, f, Lang::En),
            "Imported from /media/s/m.json: 2 items, 3 lots"
        );
        assert_eq!(
            map_import_summary(&s, f, Lang::Zh),
            "已从 /media/s/m.json 导入：商品 2，批次 3"
        );
        assert_eq!(
            map_import_summary(&ImportSummary::default(), f, Lang::En),
            "Imported /media/s/m.json: it held no records"
        );
    }

    #[test]
    fn problems_are_cut_with_a_count() {
        let p: Vec<Text> = (0..3).map(|i| Text::new(format!("e{i}"), format!("错{i}"))).collect();
        assert_eq!(map_problems(&p, 0, Lang::En, 5), ["e0", "e1", "e2"]);
        assert_eq!(
            map_problems(&p, 4, Lang::En, 2),
            ["e0", "e1", "… and 5 more problem(s)"]
        );
        assert_eq!(map_problems(&p, 0, Lang::Zh, 2), ["错0", "错1", "…… 另有 1 个问题"]);
    }
}
