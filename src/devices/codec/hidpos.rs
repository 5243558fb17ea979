//! USB HID POS (usage page 0x8C, bar code scanner) input reports, as `/dev/hidrawN` returns them:
//! report ID 0x02, 64 bytes, one scan in one or more reports.
//!
//! | Byte  | Content                                                        |
//! |-------|----------------------------------------------------------------|
//! | 0     | Report ID 0x02                                                 |
//! | 1     | Number of data bytes in this report (≤ 56), AIM id not counted |
//! | 2-4   | AIM id `]cm`                                                   |
//! | 5-60  | Data                                                           |
//! | 61    | Honeywell Code ID                                              |
//! | 62    | Reserved                                                       |
//! | 63    | Bit 0 = more reports of this scan follow                       |
//!
//! Sources of the facts: protocols.md §3 "HID POS" (layout, report 4 trigger `04 04` / `04 02`,
//! feature report 254 `FE 01`); `HenkVanAsselt/python_hon_usbhid` `README.md` (seven real reports
//! from a Voyager 1602g answering `REVINF.`, used in the tests: they show that the length byte
//! counts only the data, and that **the AIM id is repeated in every report** of a series, `]X0`
//! in each of the six); `NielsLeenheer/WebHidBarcodeScanner` `src/main.js` (WebHID hands the
//! report without its ID byte: length at 0, AIM at 1-3, data from 4, Code ID at 60, more-flag at
//! 62; for Zebra the `]` may be one byte later, at 2, with the data one byte later too; the
//! library probes both, and strips a trailing CR).
//!
//! A 63-byte input is taken as a report without its ID byte (the layout WebHID sees). That a
//! hidraw node of a device with a single, unnumbered report delivers exactly this is **not
//! confirmed** by a capture; it is accepted because the field offsets match WebHID's.

use super::FrameError;
use super::aim::Aim;

/// Report ID of the scanned-data input report.
pub const REPORT_ID_SCAN: u8 = 0x02;
/// Report ID of the trigger output report.
pub const REPORT_ID_TRIGGER: u8 = 0x04;
/// Size of a scanned-data report, ID included.
pub const REPORT_LEN: usize = 64;
/// Most data bytes in one report.
pub const MAX_CHUNK: usize = 56;

/// One scan read from HID POS reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HidScan {
    /// The AIM id from the report header (`None` when the header holds none).
    pub aim: Option<Aim>,
    /// Honeywell Code ID (byte 61), when non-zero and the report has the Honeywell layout.
    pub code_id: Option<u8>,
    pub data: Vec<u8>,
}

/// Joins the reports of one scan; ignores reports of other IDs.
#[derive(Debug, Clone)]
pub struct HidPosAssembler {
    active: bool,
    aim: Option<Aim>,
    code_id: Option<u8>,
    data: Vec<u8>,
    /// A fault was reported: reports are dropped up to the last one of the series.
    discarding: bool,
    strip_cr: bool,
    max_len: usize,
}

impl Default for HidPosAssembler {
    fn default() -> Self {
        HidPosAssembler::new()
    }
}

impl HidPosAssembler {
    /// Longest scan accepted by default (bytes).
    pub const DEFAULT_MAX_LEN: usize = 64 * 1024;

    /// An assembler that strips one trailing CR (or CR LF) from each scan, a suffix the scanner
    /// may add in every interface mode.
    pub fn new() -> Self {
        HidPosAssembler {
            active: false,
            aim: None,
            code_id: None,
            data: Vec::new(),
            discarding: false,
            strip_cr: true,
            max_len: Self::DEFAULT_MAX_LEN,
        }
    }

    /// Keeps a trailing CR / CR LF in the data.
    pub fn keep_trailing_cr(mut self) -> Self {
        self.strip_cr = false;
        self
    }

    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Takes one report as read from hidraw; returns a scan when this report completes one, a
    /// fault for a malformed scan report, `None` otherwise (other report IDs, continuation).
    pub fn push(&mut self, report: &[u8]) -> Option<Result<HidScan, FrameError>> {
        let body = if report.len() >= REPORT_LEN && report[0] == REPORT_ID_SCAN {
            &report[1..]
        } else if report.len() == REPORT_LEN - 1 {
            report
        } else if report.len() >= REPORT_LEN || report.first() != Some(&REPORT_ID_SCAN) {
            return None;
        } else {
            self.clear();
            return Some(Err(FrameError::Malformed(format!(
                "HID POS report 2 of {} bytes (expected {REPORT_LEN})",
                report.len()
            ))));
        };
        let more = body[62] & 1 != 0;
        // Zebra may put the AIM id one byte later (WebHID probes both).
        let off = if body[1] != b']' && body[2] == b']' { 1 } else { 0 };
        let len = usize::from(body[0]);
        if len > MAX_CHUNK {
            self.clear();
            self.discarding = more;
            return Some(Err(FrameError::Malformed(format!(
                "HID POS report with length byte {len} (a report holds at most {MAX_CHUNK} data bytes)"
            ))));
        }
        if self.discarding {
            self.discarding = more;
            return None;
        }
        let aim = Aim::parse(&body[1 + off..4 + off]);
        let code_id = if off == 0 {
            Some(body[60]).filter(|&c| c != 0)
        } else {
            None
        };
        let chunk = &body[4 + off..4 + off + len];
        if !self.active {
            self.active = true;
            self.aim = aim;
            self.code_id = code_id;
        } else {
            self.aim = self.aim.or(aim);
            self.code_id = self.code_id.or(code_id);
        }
        if self.data.len() + chunk.len() > self.max_len {
            let max = self.max_len;
            self.clear();
            self.discarding = more;
            return Some(Err(FrameError::Malformed(format!(
                "HID POS scan longer than {max} bytes dropped"
            ))));
        }
        self.data.extend_from_slice(chunk);
        if more {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        let (aim, code_id) = (self.aim, self.code_id);
        self.clear();
        if self.strip_cr {
            if data.ends_with(b"\r\n") {
                data.truncate(data.len() - 2);
            } else if data.ends_with(b"\r") {
                data.pop();
            }
        }
        (!data.is_empty()).then_some(Ok(HidScan { aim, code_id, data }))
    }

    fn clear(&mut self) {
        self.active = false;
        self.aim = None;
        self.code_id = None;
        self.data.clear();
        self.discarding = false;
    }

    /// Drops a partial scan (after a reconnect).
    pub fn reset(&mut self) {
        self.clear();
    }
}

/// The reports a Honeywell-layout scanner sends for one scan (for tests and the simulator): 56
/// data bytes per report, the AIM id (or zeros) and the Code ID in every report, bit 0 of byte 63
/// set on all but the last. Empty data gives one report with length 0.
pub fn encode_reports(aim: Option<Aim>, code_id: u8, data: &[u8]) -> Vec<[u8; REPORT_LEN]> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(MAX_CHUNK).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut r = [0u8; REPORT_LEN];
            r[0] = REPORT_ID_SCAN;
            r[1] = chunk.len() as u8;
            if let Some(a) = aim {
                r[2..5].copy_from_slice(a.as_bytes());
            }
            r[5..5 + chunk.len()].copy_from_slice(chunk);
            r[61] = code_id;
            r[63] = u8::from(i < last);
            r
        })
        .collect()
}

/// Output report 4: `04 04` pulls the trigger, `04 02` releases it.
pub fn trigger_report(on: bool) -> Vec<u8> {
    vec![REPORT_ID_TRIGGER, if on { 0x04 } else { 0x02 }]
}

/// Feature report 254 with value 1: a Honeywell scanner that is a composite keyboard + HID POS
/// device sends its scans to the HID POS interface (WebHidBarcodeScanner sends it on open).
pub fn honeywell_hidpos_feature() -> [u8; 2] {
    [0xFE, 0x01]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `HenkVanAsselt/python_hon_usbhid` README: a Voyager 1602g answering `REVINF.` (menu reply,
    /// six reports), then the `]Z6` command echo with the ACK status byte.
    const REVINF: [[u8; 64]; 7] = [
        [
            2, 56, 93, 88, 48, 80, 114, 111, 100, 117, 99, 116, 32, 78, 97, 109, 101, 58, 32, 86, 111, 121, 97, 103,
            101, 114, 32, 49, 54, 48, 50, 103, 13, 10, 66, 111, 111, 116, 32, 82, 101, 118, 105, 115, 105, 111, 110,
            58, 32, 58, 32, 56, 57, 57, 50, 13, 10, 83, 111, 102, 116, 63, 0, 1,
        ],
        [
            2, 56, 93, 88, 48, 119, 97, 114, 101, 32, 80, 97, 114, 116, 32, 78, 117, 109, 98, 101, 114, 58, 32, 67, 87,
            48, 48, 48, 48, 56, 50, 66, 66, 65, 13, 10, 83, 111, 102, 116, 119, 97, 114, 101, 32, 82, 101, 118, 105,
            115, 105, 111, 110, 58, 32, 36, 80, 114, 111, 106, 101, 63, 0, 1,
        ],
        [
            2, 56, 93, 88, 48, 99, 116, 82, 101, 118, 105, 115, 105, 111, 110, 58, 32, 49, 54, 51, 52, 53, 32, 13, 10,
            83, 101, 114, 105, 97, 108, 32, 78, 117, 109, 98, 101, 114, 58, 32, 49, 53, 50, 51, 50, 66, 49, 70, 48, 67,
            13, 10, 83, 117, 112, 112, 111, 114, 116, 101, 100, 63, 0, 1,
        ],
        [
            2, 56, 93, 88, 48, 32, 73, 70, 58, 32, 66, 108, 117, 101, 116, 111, 111, 116, 104, 13, 10, 80, 67, 66, 32,
            65, 115, 115, 101, 109, 98, 108, 121, 32, 73, 68, 58, 32, 48, 48, 48, 48, 48, 48, 13, 10, 69, 110, 103,
            105, 110, 101, 32, 70, 105, 114, 109, 119, 97, 114, 101, 63, 0, 1,
        ],
        [
            2, 56, 93, 88, 48, 32, 84, 121, 112, 101, 58, 32, 78, 47, 65, 32, 32, 32, 82, 101, 118, 105, 115, 105, 111,
            110, 58, 32, 78, 47, 65, 32, 32, 32, 83, 101, 114, 105, 97, 108, 32, 78, 117, 109, 98, 101, 114, 58, 32,
            78, 47, 65, 32, 32, 32, 67, 104, 101, 99, 107, 115, 63, 0, 1,
        ],
        [
            2, 9, 93, 88, 48, 117, 109, 58, 32, 78, 47, 65, 13, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 63, 0, 0,
        ],
        [
            2, 8, 93, 90, 54, 82, 69, 86, 73, 78, 70, 6, 46, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0,
        ],
    ];

    const REVINF_TEXT: &[u8] = b"Product Name: Voyager 1602g\r\nBoot Revision: : 8992\r\nSoftware Part Number: \
CW000082BBA\r\nSoftware Revision: $ProjectRevision: 16345 \r\nSerial Number: 15232B1F0C\r\nSupported IF: \
Bluetooth\r\nPCB Assembly ID: 000000\r\nEngine Firmware Type: N/A   Revision: N/A   Serial Number: N/A   \
Checksum: N/A";

    fn feed(asm: &mut HidPosAssembler, reports: &[&[u8]]) -> Vec<Result<HidScan, FrameError>> {
        reports.iter().filter_map(|r| asm.push(r)).collect()
    }

    #[test]
    fn real_honeywell_multi_report_reply() {
        let mut asm = HidPosAssembler::new();
        let reports: Vec<&[u8]> = REVINF.iter().map(|r| &r[..]).collect();
        let got = feed(&mut asm, &reports);
        assert_eq!(
            got,
            vec![
                Ok(HidScan {
                    aim: Some(Aim::OTHER),
                    code_id: Some(b'?'),
                    data: REVINF_TEXT.to_vec()
                }),
                Ok(HidScan {
                    aim: Aim::parse(b"]Z6"),
                    code_id: Some(b'6'),
                    data: b"REVINF\x06.".to_vec()
                }),
            ]
        );
        // Keeping the trailing CR LF.
        let mut asm = HidPosAssembler::new().keep_trailing_cr();
        let got = feed(&mut asm, &reports[..6]);
        let [Ok(scan)] = got.as_slice() else { panic!() };
        assert!(scan.data.ends_with(b"Checksum: N/A\r\n"));
    }

    #[test]
    fn encode_round_trip_and_layout() {
        let gs1 = b"010950110153000317251231\x1d10LOT-42\x1d21SERIAL0001";
        let reports = encode_reports(Some(Aim::GS1_DATAMATRIX), b'w', gs1);
        assert_eq!(reports.len(), 1);
        assert_eq!(&reports[0][..5], &[2, gs1.len() as u8, b']', b'd', b'2']);
        assert_eq!((reports[0][61], reports[0][63]), (b'w', 0));
        let long: Vec<u8> = (0..200u8).map(|i| b'0' + i % 10).collect();
        let reports = encode_reports(Some(Aim::QR), b's', &long);
        assert_eq!(reports.len(), 4);
        assert_eq!(reports.iter().map(|r| r[1]).collect::<Vec<_>>(), vec![56, 56, 56, 32]);
        assert_eq!(reports.iter().map(|r| r[63]).collect::<Vec<_>>(), vec![1, 1, 1, 0]);
        let mut asm = HidPosAssembler::new();
        let refs: Vec<&[u8]> = reports.iter().map(|r| &r[..]).collect();
        assert_eq!(
            feed(&mut asm, &refs),
            vec![Ok(HidScan {
                aim: Some(Aim::QR),
                code_id: Some(b's'),
                data: long
            })]
        );
        // Without the ID byte (63 bytes).
        let refs: Vec<&[u8]> = reports.iter().map(|r| &r[1..]).collect();
        assert_eq!(feed(&mut asm, &refs).len(), 1);
        // Continuation reports without an AIM id: the first one's is kept.
        let mut r2 = reports.clone();
        for r in r2.iter_mut().skip(1) {
            r[2..5].fill(0);
        }
        let refs: Vec<&[u8]> = r2.iter().map(|r| &r[..]).collect();
        let got = feed(&mut asm, &refs);
        assert_eq!(got[0].as_ref().unwrap().aim, Some(Aim::QR));
        assert_eq!(trigger_report(true), vec![4, 4]);
        assert_eq!(trigger_report(false), vec![4, 2]);
    }

    #[test]
    fn zebra_offset_and_no_aim() {
        // AIM one byte later (Zebra variant): [id, len, ?, ']', 'C', '1', data…]
        let mut r = [0u8; 64];
        r[0] = 2;
        r[1] = 5;
        r[3..6].copy_from_slice(b"]C1");
        r[6..11].copy_from_slice(b"00123");
        r[61] = b'x'; // data area in this layout, no code id taken
        let mut asm = HidPosAssembler::new();
        assert_eq!(
            asm.push(&r),
            Some(Ok(HidScan {
                aim: Some(Aim::GS1_128),
                code_id: None,
                data: b"00123".to_vec()
            }))
        );
        // No AIM at all: data still at its place, aim None.
        let mut r = [0u8; 64];
        r[0] = 2;
        r[1] = 3;
        r[5..8].copy_from_slice(b"abc");
        assert_eq!(
            asm.push(&r),
            Some(Ok(HidScan {
                aim: None,
                code_id: None,
                data: b"abc".to_vec()
            }))
        );
    }

    #[test]
    fn faults_and_other_reports() {
        let mut asm = HidPosAssembler::new();
        // Other report IDs are ignored.
        let mut other = [0u8; 64];
        other[0] = 4;
        assert_eq!(asm.push(&other), None);
        assert_eq!(asm.push(&[4, 4]), None);
        assert_eq!(asm.push(&[]), None);
        // A short report 2: malformed.
        assert!(matches!(
            asm.push(&[2, 3, b']', b'X', b'0', b'a']),
            Some(Err(FrameError::Malformed(_)))
        ));
        // Length byte larger than a report holds; a series with it is dropped to its end.
        let reports = encode_reports(Some(Aim::QR), b's', &[b'q'; 120]);
        let mut bad = reports[0];
        bad[1] = 57;
        assert!(matches!(asm.push(&bad), Some(Err(FrameError::Malformed(_)))));
        assert_eq!(asm.push(&reports[1]), None);
        assert_eq!(asm.push(&reports[2]), None);
        // The next scan is fine.
        let ok = encode_reports(Some(Aim::EAN13), b'd', b"4006381333931");
        assert_eq!(asm.push(&ok[0]).unwrap().unwrap().data, b"4006381333931");
        // Too long.
        let mut asm = HidPosAssembler::new().with_max_len(100);
        let reports = encode_reports(None, 0, &[b'z'; 300]);
        let got = feed(&mut asm, &reports.iter().map(|r| &r[..]).collect::<Vec<_>>());
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
        // Truncated series (reconnect): reset drops the partial scan.
        let reports = encode_reports(Some(Aim::QR), b's', &[b'1'; 100]);
        asm.push(&reports[0]);
        asm.reset();
        let fresh = encode_reports(Some(Aim::QR), b's', b"fresh");
        assert_eq!(asm.push(&fresh[0]).unwrap().unwrap().data, b"fresh");
        // An empty scan is not emitted.
        assert_eq!(asm.push(&encode_reports(None, 0, b"")[0]), None);
        assert_eq!(asm.push(&encode_reports(None, 0, b"\r")[0]), None);
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn fuzz_no_panic_bounded() {
        let mut rng = XorShift(0x5555_AAAA_1234_4321);
        let mut asm = HidPosAssembler::new().with_max_len(1000);
        for _ in 0..20_000 {
            let len = match rng.next() % 6 {
                0 => (rng.next() % 80) as usize,
                1 => 63,
                _ => 64,
            };
            let mut r: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len >= 2 && rng.next().is_multiple_of(2) {
                r[0] = 2;
                r[1] = (rng.next() % 60) as u8;
            }
            if let Some(Ok(scan)) = asm.push(&r) {
                assert!(scan.data.len() <= 1000);
            }
            assert!(asm.data.len() <= 1000);
        }
    }
}
