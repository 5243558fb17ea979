//! Verdict feedback from the screens: each new verdict a screen shows plays its sound and fires
//! the terminal's hooks once, the verdict it shows; re-rendering or a refused op plays nothing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lotline::app::feedback::{Feedback, FeedbackOptions, Opener, Signal, SoundError, Speaker};
use lotline::devices::profile::FeedbackHooks;
use lotline::store::demo;
use lotline::ui::{AppState, ReceiveAdapter, ScanAdapter, Screen, VerdictKind};
use slint::ComponentHandle;

use super::{build, click, login, wedge};

/// A speaker that records what it is asked to play.
struct Recorder(Arc<Mutex<Vec<Signal>>>);

impl Speaker for Recorder {
    fn play(&mut self, signal: Signal) -> Result<(), SoundError> {
        self.0.lock().unwrap().push(signal);
        Ok(())
    }
}

fn wait_for(what: &str, ok: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn flow(dir: &std::path::Path) {
    let (app, ctl, _) = build(dir, "feedback.db");
    let state = app.global::<AppState>();

    // The terminal's red LED is a file here; the speaker records.
    let red = dir.join("red-led");
    std::fs::write(&red, "0").unwrap();
    let played: Arc<Mutex<Vec<Signal>>> = Arc::default();
    let p = played.clone();
    let open: Opener = Box::new(move || Ok(Box::new(Recorder(p.clone()))));
    let opts = FeedbackOptions {
        hooks: FeedbackHooks {
            led_reject: Some(red.to_string_lossy().into_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let log: lotline::app::feedback::Log = Arc::new(|l: &str| panic!("no feedback problem expected: {l}"));
    ctl.borrow_mut().set_feedback(Feedback::start_with(opts, open, log));
    let heard = |n: usize| {
        wait_for(&format!("{n} sound(s)"), || played.lock().unwrap().len() >= n);
        played.lock().unwrap().clone()
    };

    // Logging in shows no verdict: nothing plays.
    login(&app, "super1", "9999");
    assert_eq!(state.get_screen(), Screen::Home);

    // The pick gate's scan screen: an expired lot is a reject (sound and red LED) ...
    click(&app, "Pick");
    click(&app, "Quick check (no task)");
    let scan = app.global::<ScanAdapter>();
    wedge(&app, &format!("(01){}(17)261118(10)L2311", demo::demo_gtin(0)));
    assert_eq!(scan.get_verdict(), VerdictKind::Reject);
    assert_eq!(heard(1), [Signal::Reject]);
    wait_for("the red LED", || std::fs::read_to_string(&red).unwrap() == "1");
    // ... a good lot an accept, a later lot than the pick zone's a warning.
    wedge(&app, &format!("]d201{}10S240601", demo::demo_gtin(18)));
    assert_eq!(scan.get_verdict(), VerdictKind::Accept);
    assert_eq!(heard(2), [Signal::Reject, Signal::Accept]);
    wedge(&app, &format!("(01){}(10)L2405", demo::demo_gtin(0)));
    assert_eq!(scan.get_verdict(), VerdictKind::Warn);
    assert_eq!(heard(3), [Signal::Reject, Signal::Accept, Signal::Warn]);
    // Giving the warning's reason, and re-rendering, judge nothing new: no sound.
    click(&app, "Earlier lot damaged");
    lotline::ui::render(&app, &ctl.borrow());

    // The receive screen: a pallet by its SSCC is accepted, and its receipt, confirmed, carries
    // that verdict again (the engine's reply to the confirmation): it plays again.
    state.invoke_go_home();
    click(&app, "Receive");
    click(&app, "ASN-0001");
    let ra = app.global::<ReceiveAdapter>();
    wedge(&app, "(00)069012345000000011");
    assert_eq!(ra.get_verdict(), VerdictKind::Accept, "{}", ra.get_message());
    assert_eq!(heard(4)[3], Signal::Accept);
    click(&app, "Confirm");
    assert_eq!(ra.get_step(), "receive.putaway");
    assert_eq!(heard(5)[4], Signal::Accept);
    // A place that is no location is refused with a reject: its sound plays ...
    ra.invoke_scan("NOT-A-PLACE".into());
    assert_eq!(ra.get_verdict(), VerdictKind::Reject);
    assert_eq!(heard(6)[5], Signal::Reject);
    // ... while an op the step does not take judges nothing: the banner stays, nothing plays.
    ra.invoke_confirm();
    assert!(!ra.get_message().is_empty(), "the refusal is shown");
    assert_eq!(ra.get_verdict(), VerdictKind::Reject);

    // Nothing more was played than the six verdicts shown.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        *played.lock().unwrap(),
        [
            Signal::Reject,
            Signal::Accept,
            Signal::Warn,
            Signal::Accept,
            Signal::Accept,
            Signal::Reject
        ]
    );
    ctl.borrow_mut().set_feedback(Feedback::off());
}
