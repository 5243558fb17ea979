//! `lotline listen`: device events as one JSON object per line, for a site's technician to see
//! what a scanner or reader sends. Key order is fixed (the documented order).

use serde_json::{Map, Value, json};

use crate::devices::codec::gen2::hex;
use crate::devices::{DeviceEvent, DeviceState};
use crate::domain::text::Text;

/// The JSON line for an event, or `None` for events `listen` does not print (round ends).
pub fn event_json(ev: &DeviceEvent) -> Option<Value> {
    let mut m = Map::new();
    match ev {
        DeviceEvent::Scan(s) => {
            m.insert("event".into(), json!("scan"));
            m.insert("symbology".into(), json!(s.symbology));
            m.insert("data".into(), json!(String::from_utf8_lossy(&s.data)));
            m.insert("hex".into(), json!(hex(&s.data)));
            m.insert("device".into(), json!(s.device));
            m.insert(
                "at".into(),
                json!(s.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            );
        }
        DeviceEvent::Tag(t) => {
            m.insert("event".into(), json!("tag"));
            m.insert("epc".into(), json!(hex(&t.tag.epc)));
            m.insert("pc".into(), json!(format!("{:04X}", t.tag.pc)));
            m.insert("rssi_dbm".into(), json!(t.tag.rssi_dbm));
            m.insert("antenna".into(), json!(t.tag.antenna));
            m.insert(
                "at".into(),
                json!(t.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            );
            if let Some(tid) = &t.tag.tid {
                m.insert("tid".into(), json!(hex(tid)));
            }
            m.insert("device".into(), json!(t.device));
        }
        DeviceEvent::State {
            device, state, detail, ..
        } => match state {
            DeviceState::Absent => {
                m.insert("event".into(), json!("error"));
                m.insert("message".into(), json!(detail));
                m.insert("device".into(), json!(device));
            }
            _ => {
                m.insert("event".into(), json!("device"));
                m.insert("state".into(), json!(state.as_str()));
                m.insert("device".into(), json!(device));
                m.insert("detail".into(), json!(detail));
            }
        },
        DeviceEvent::Error { device, message, .. } => {
            m.insert("event".into(), json!("error"));
            m.insert("message".into(), json!(message));
            m.insert("device".into(), json!(device));
        }
        DeviceEvent::Round { .. } => return None,
    }
    Some(Value::Object(m))
}

/// Follows a device's events for `listen`: a device that cannot be opened at start is an error
/// (the command exits 1 after printing it, so a script notices); a device lost later is not (the
/// driver reopens it, as it does in the app).
#[derive(Debug, Default)]
pub struct OpenWatch {
    connected: bool,
}

impl OpenWatch {
    /// Takes the next event; `Some(message)` (English and Chinese) when it says the device could
    /// not be opened before it was ever connected.
    pub fn failure(&mut self, ev: &DeviceEvent) -> Option<Text> {
        match ev {
            DeviceEvent::State { state, .. } if state.is_up() => {
                self.connected = true;
                None
            }
            DeviceEvent::State {
                state: DeviceState::Absent,
                detail,
                detail_zh,
                ..
            } if !self.connected => Some(Text::new(detail.clone(), detail_zh.clone())),
            DeviceEvent::Error {
                message, message_zh, ..
            } if !self.connected => Some(Text::new(message.clone(), message_zh.clone())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::codec::TagReport;
    use crate::devices::{DeviceKind, ScanEvent, TagEvent};
    use chrono::TimeZone;

    #[test]
    fn scan_and_tag_lines_have_the_documented_keys_in_order() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
        let scan = DeviceEvent::Scan(ScanEvent {
            data: b"0109501101530003\x1d10AB".to_vec(),
            symbology: Some("]d2".into()),
            device: "d".into(),
            at,
        });
        let line = event_json(&scan).unwrap().to_string();
        assert_eq!(
            line,
            r#"{"event":"scan","symbology":"]d2","data":"0109501101530003\u001d10AB","hex":"303130393530313130313533303030331D31304142","device":"d","at":"2026-11-29T08:00:00.000Z"}"#
        );
        let tag = DeviceEvent::Tag(TagEvent {
            tag: TagReport {
                epc: vec![0x30, 0x74],
                pc: 0x0800,
                rssi_dbm: Some(-52),
                antenna: Some(1),
                tid: None,
            },
            device: "r".into(),
            at,
        });
        assert_eq!(
            event_json(&tag).unwrap().to_string(),
            r#"{"event":"tag","epc":"3074","pc":"0800","rssi_dbm":-52,"antenna":1,"at":"2026-11-29T08:00:00.000Z","device":"r"}"#
        );
        let lost = DeviceEvent::State {
            device: "r".into(),
            kind: DeviceKind::Rfid,
            state: DeviceState::Lost,
            detail: "gone".into(),
            detail_zh: "已断开".into(),
        };
        assert_eq!(event_json(&lost).unwrap()["state"], "lost");
        let not_there = DeviceEvent::State {
            device: "r".into(),
            kind: DeviceKind::Rfid,
            state: DeviceState::Absent,
            detail: "x does not exist".into(),
            detail_zh: "x 不存在".into(),
        };
        assert_eq!(event_json(&not_there).unwrap()["event"], "error");
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters_in_data_but_stay_exact_in_hex() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
        let ev = DeviceEvent::Scan(ScanEvent {
            data: vec![b'A', 0xFF, b'B'],
            symbology: None,
            device: "d".into(),
            at,
        });
        let v = event_json(&ev).unwrap();
        assert_eq!(v["data"], "A\u{FFFD}B");
        assert_eq!(v["hex"], "41FF42");
        assert_eq!(v["symbology"], Value::Null);
    }

    #[test]
    fn a_port_that_does_not_open_at_start_is_a_failure_a_device_lost_later_is_not() {
        let state = |state| DeviceEvent::State {
            device: "r".into(),
            kind: DeviceKind::Rfid,
            state,
            detail: "detail".into(),
            detail_zh: "详情".into(),
        };
        let error = DeviceEvent::Error {
            device: "r".into(),
            message: "permission denied".into(),
            message_zh: "无权限".into(),
        };
        assert_eq!(
            OpenWatch::default().failure(&state(DeviceState::Absent)),
            Some(Text::new("detail", "详情"))
        );
        assert_eq!(
            OpenWatch::default().failure(&error),
            Some(Text::new("permission denied", "无权限"))
        );
        let mut w = OpenWatch::default();
        assert_eq!(w.failure(&state(DeviceState::Connected)), None);
        assert_eq!(w.failure(&state(DeviceState::Lost)), None);
        assert_eq!(w.failure(&error), None);
        assert_eq!(w.failure(&state(DeviceState::Absent)), None);
    }
}
