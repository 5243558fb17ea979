//! The login screen: operator id (typed, scanned from a badge or chosen) and PIN on the keypad.
//! The PIN's digits stay here, in Rust; the view only shows dots.

use std::cell::RefCell;
use std::rc::Rc;

use slint::ComponentHandle;

use super::{AppState, AppWindow, Controller, Lang, LoginAdapter, OperatorChip, Screen, model, shared};
use crate::app::session::Op;
use crate::domain::text::Text;

/// The PIN has at most 12 digits (the import's rule).
const PIN_MAX: usize = 12;

/// What the login screen keeps between key presses.
#[derive(Default)]
pub struct LoginUi {
    pub operator: String,
    pin: String,
    pub message: Option<Text>,
}

pub fn text(t: &Text, lang: Lang) -> String {
    match lang {
        Lang::En => t.en.clone(),
        Lang::Zh => t.zh.clone(),
    }
}

/// The dots shown for `n` digits.
pub fn map_pin_dots(n: usize) -> String {
    vec!["●"; n].join(" ")
}

impl Controller {
    /// Logs in the operator chosen on the login screen with the PIN typed. True when it worked.
    pub fn login(&mut self) -> bool {
        let now = (self.clock)();
        let op = Op::Login {
            operator: self.login.operator.trim().to_owned(),
            pin: std::mem::take(&mut self.login.pin),
        };
        let reply = self.session.handle(op, now);
        self.login.message = reply.error.map(|e| e.text);
        if self.login.message.is_none() {
            self.login.operator.clear();
            true
        } else {
            false
        }
    }

    /// Logs the operator out (the Home button, or the idle timer through the session).
    pub fn logout(&mut self) {
        let now = (self.clock)();
        self.session.handle(Op::Logout, now);
        self.receive = Default::default();
        self.task = None;
        self.last = None;
    }

    /// Locks the session if it was idle too long; true when it did.
    pub fn check_idle(&mut self) -> bool {
        let now = (self.clock)();
        if self.session.tick(now).is_some() {
            self.receive = Default::default();
            self.guided = Default::default();
            self.task = None;
            self.last = None;
            self.login.message = Some(Text::new(
                "Locked after a while without use: log in again",
                "长时间未操作,已自动锁定:请重新登录",
            ));
            true
        } else {
            false
        }
    }
}

pub fn render(app: &AppWindow, c: &Controller) {
    let la = app.global::<LoginAdapter>();
    la.set_operator(shared(&c.login.operator));
    la.set_pin_length(c.login.pin.len() as i32);
    la.set_pin_dots(shared(map_pin_dots(c.login.pin.len())));
    la.set_message(shared(
        c.login.message.as_ref().map(|t| text(t, c.lang)).unwrap_or_default(),
    ));
    la.set_prompt(shared(text(&c.session.state().prompt(), c.lang)));
    let ops: Vec<OperatorChip> = c
        .store()
        .operators()
        .unwrap_or_default()
        .into_iter()
        .take(8)
        .map(|(id, name)| OperatorChip {
            label: shared(format!("{id} · {name}")),
            id: shared(id),
        })
        .collect();
    la.set_operators(model(ops));
}

pub fn connect(app: &AppWindow, ctl: &Rc<RefCell<Controller>>) {
    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<LoginAdapter>().on_choose(move |id| {
        let Some(app) = weak.upgrade() else { return };
        let mut c = c.borrow_mut();
        c.login.operator = id.trim().to_owned();
        c.login.pin.clear();
        c.login.message = None;
        render(&app, &c);
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<LoginAdapter>().on_pin_key(move |k| {
        let Some(app) = weak.upgrade() else { return };
        // The id field may have been typed into: take it as it is now.
        let typed = app.global::<LoginAdapter>().get_operator().to_string();
        let ok = {
            let mut c = c.borrow_mut();
            c.login.operator = typed;
            match k.as_str() {
                "del" => {
                    c.login.pin.pop();
                    false
                }
                "ok" => c.login(),
                d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => {
                    if c.login.pin.len() < PIN_MAX {
                        c.login.pin.push_str(d);
                    }
                    false
                }
                _ => false,
            }
        };
        let c = c.borrow();
        render(&app, &c);
        if ok {
            super::render_status(&app, &c);
            super::render_tasks(&app, &c);
            app.global::<AppState>().set_screen(Screen::Home);
        }
    });

    let weak = app.as_weak();
    let c = ctl.clone();
    app.global::<AppState>().on_logout(move || {
        let Some(app) = weak.upgrade() else { return };
        c.borrow_mut().logout();
        let c = c.borrow();
        render(&app, &c);
        super::render_status(&app, &c);
        app.global::<AppState>().set_screen(Screen::Login);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn pin_dots() {
        assert_eq!(super::map_pin_dots(0), "");
        assert_eq!(super::map_pin_dots(3), "● ● ●");
    }
}
