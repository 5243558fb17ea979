//! The health screen (Home's developer menu): `lotline doctor`'s report, with the devices as the
//! app runs them and each one's last event. The report is gathered by `app::doctor` on a thread
//! of its own; the refresh timer takes it when it is in.

use std::sync::mpsc::{Receiver, TryRecvError};

use super::*;
use crate::app::doctor::{self, AppCheck, LiveDevice, Report, Status};

#[derive(Default)]
pub struct HealthUi {
    pending: Option<Receiver<Report>>,
    report: Option<Report>,
}

impl Controller {
    /// The devices as the status bar has them, with their last events.
    fn live_devices(&self) -> Vec<LiveDevice> {
        let sim = self.devices.attached.simulated;
        [
            (DeviceKind::Scanner, &self.devices.scanner),
            (DeviceKind::Rfid, &self.devices.rfid),
        ]
        .into_iter()
        .filter_map(|(kind, d)| {
            let d = d.as_ref()?;
            Some(LiveDevice {
                kind,
                name: d.name.clone(),
                state: d.state,
                simulated: sim,
                detail: d.detail.clone(),
                last_event: d.last_event,
            })
        })
        .collect()
    }

    /// Starts gathering a new report (unless one is being gathered).
    pub fn check_health(&mut self) {
        if self.health.pending.is_some() {
            return;
        }
        self.health.report = None;
        self.health.pending = Some(doctor::gather_beside(AppCheck {
            db: self.store().path().to_owned(),
            live: self.live_devices(),
            now: (self.clock)(),
        }));
    }

    /// Takes the report if it is in; true when something changed.
    pub(super) fn poll_health(&mut self) -> bool {
        let Some(rx) = &self.health.pending else { return false };
        match rx.try_recv() {
            Ok(r) => {
                self.health.report = Some(r);
                self.health.pending = None;
                true
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => {
                self.health.pending = None;
                true
            }
        }
    }
}

pub(super) fn render(app: &AppWindow, c: &Controller) {
    let a = app.global::<HealthAdapter>();
    let zh = c.lang == Lang::Zh;
    a.set_busy(c.health.pending.is_some());
    let (lines, summary, attention) = match &c.health.report {
        Some(r) => (
            r.findings
                .iter()
                .map(|f| HealthLine {
                    status: shared(match f.status {
                        Status::Ok => "ok",
                        Status::Attention => "attention",
                        Status::Info => "info",
                    }),
                    area: shared(doctor::area_name(f.area, zh)),
                    text: shared(if zh { &f.zh } else { &f.en }),
                })
                .collect(),
            r.summary(zh),
            r.needs_attention(),
        ),
        None => (Vec::new(), "", false),
    };
    a.set_lines(model(lines));
    a.set_summary(shared(summary));
    a.set_attention(attention);
}

pub fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_open_health(move || {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().check_health();
        render(&app, &c.borrow());
        app.global::<AppState>().set_screen(Screen::Health);
    });
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<HealthAdapter>().on_refresh(move || {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().check_health();
        render(&app, &c.borrow());
    });
}
