//! The pick and count gates in the GUI: a picker picks a regulated line and a checker makes the
//! GSP second check on the same device (the picker may not check their own pick); a counter
//! counts a location by RFID on the simulated reader.

use lotline::store::Store;
use lotline::ui::{AppState, GuidedAdapter, Screen, VerdictKind};
use slint::{ComponentHandle, Model};

use super::{build, click, login, value, wedge};

pub fn pick_flow(dir: &std::path::Path) {
    let (app, ctl, db) = build(dir, "pick.db");
    let state = app.global::<AppState>();
    let ga = app.global::<GuidedAdapter>();
    let gtin = |id: &str| {
        let item = ctl.borrow().store().item_by_id(id).unwrap().unwrap();
        item.gtin.unwrap().as_str().to_owned()
    };
    login(&app, "pick1", "2222");
    click(&app, "Pick");
    assert_eq!(state.get_screen(), Screen::Guided);
    assert!(!ga.get_active());
    // The task list shows each line's FEFO lot and where it is, before the picker gets there.
    let row = (0..ga.get_tasks().row_count())
        .filter_map(|i| ga.get_tasks().row_data(i))
        .find(|t| t.id == "PK-0001")
        .expect("PK-0001 listed");
    assert!(row.detail.contains("→ WH1-A-02-01 lot A2503"), "{}", row.detail);
    assert!(row.warn, "a suggested lot is near expiry: {}", row.detail);

    click(&app, "PK-0001");
    assert!(ga.get_active());
    assert_eq!(ga.get_step(), "pick.location");
    wedge(&app, "WH1-A-02-01");
    assert_eq!(ga.get_step(), "pick.item");
    assert_eq!(ga.get_verdict(), VerdictKind::Accept);
    // Another item is refused, naming what the line needs.
    wedge(&app, &format!("(01){}(10)B2503", gtin("P002")));
    assert_eq!(ga.get_verdict(), VerdictKind::Reject);
    assert!(
        value(&app, "reason").contains("Wrong item"),
        "{}",
        value(&app, "reason")
    );
    assert_eq!(ga.get_step(), "pick.item");
    wedge(&app, &format!("(01){}(10)A2503", gtin("P001")));
    assert_eq!(ga.get_step(), "pick.qty");
    for k in ["2", "4", "ok"] {
        ga.invoke_key(k.into());
    }
    assert_eq!(ga.get_step(), "pick.confirm");
    click(&app, "Confirm pick");
    // A regulated item: the second check before the next line.
    assert_eq!(ga.get_step(), "pick.check");
    assert!(!ga.get_can_check(), "the checker scans the goods first");
    wedge(&app, &format!("(01){}(10)A2503", gtin("P001")));
    assert!(ga.get_can_check());
    click(&app, "Checker: enter id and PIN");
    assert!(ga.get_check_open());
    // The picker cannot check their own pick.
    ga.set_check_id("pick1".into());
    for k in ["2", "2", "2", "2", "ok"] {
        ga.invoke_check_key(k.into());
    }
    assert!(
        value(&app, "check message").contains("the second check must be made by another operator"),
        "{}",
        value(&app, "check message")
    );
    assert_eq!(ga.get_step(), "pick.check");
    ga.set_check_id("check1".into());
    for k in ["3", "3", "3", "3", "ok"] {
        ga.invoke_check_key(k.into());
    }
    assert!(!ga.get_check_open(), "{}", ga.get_check_message());
    assert_eq!(ga.get_step(), "pick.location");
    assert!(
        value(&app, "prompt").starts_with("Line 2 of"),
        "{}",
        value(&app, "prompt")
    );

    // The record: the pick by pick1, the check by check1 (who and when from the system).
    drop(app);
    drop(ctl);
    let store = Store::open(&db).unwrap();
    let cmds = store.outbox_commands().unwrap();
    let pick = cmds.iter().find(|c| c.kind == "pick").unwrap();
    assert_eq!(pick.operator.as_deref(), Some("pick1"));
    assert_eq!(pick.payload["lot"], "A2503");
    assert_eq!(pick.payload["qty"], 24);
    let check = cmds.iter().find(|c| c.kind == "second_check").unwrap();
    assert_eq!(check.operator.as_deref(), Some("check1"));
    assert_eq!(check.payload["picker"], "pick1");
    assert_eq!(check.payload["checker"], "check1");
    assert!(store.audit_verify().unwrap().is_ok());
}
