//! Framing of the text a serial (RS-232) or USB CDC-ACM scanner sends: `[prefix][AIM id][data][suffix]`
//! bytes in any chunking, scans out (prefix and suffix stripped, the AIM id left for `aim::split_aim`).
//!
//! Facts (protocols.md §3, "Serial output" and "Parser rule"): the usual suffix is CR or CR LF;
//! QR and PDF417 payloads can contain CR/LF, so a frame must not be split purely on CR — use a
//! unique suffix, an inter-character gap (≈50 ms), or a suffix that is followed by a gap.
//!
//! Pure: no clock is read. Every call is handed the instant its bytes arrived; [`Framer::deadline`]
//! says when the I/O loop must call [`Framer::tick`] if no byte arrives before then.
//!
//! Rules, in all modes:
//! - a configured prefix is stripped when present and tolerated when missing;
//! - with a CR-terminated suffix, one LF right after the suffix is swallowed (a scanner set to
//!   CR LF while the profile says CR): it is neither an empty scan nor the first byte of the next;
//!   with suffix LF, a CR right before it is stripped too (the mirror case);
//! - empty frames are not emitted;
//! - a frame longer than `max_len` (after stripping) is dropped with `FrameError::Malformed`,
//!   reported once, as soon as the buffer passes the limit; decoding resumes at the next frame end;
//!   the buffer never holds more than `max_len` + prefix + suffix + 1 bytes;
//! - in the suffix modes, a partial frame that sees no byte for the *stale* time (default 1 s,
//!   [`Framer::with_stale`]) is dropped with `Malformed`: noise or half a frame from before a
//!   reconnect never becomes the start of the next scan. A scanner that sends no suffix at all
//!   shows up as these errors.

use std::time::{Duration, Instant};

use super::FrameError;

/// How a frame ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameEnd {
    /// At the suffix (classic; the suffix must not occur in the data).
    Suffix,
    /// At an inter-character gap longer than `gap`; no suffix needed (a trailing configured suffix
    /// is stripped when present).
    Gap,
    /// At a suffix that is followed by a gap: a suffix byte sequence inside the data (a CR in a QR
    /// code) does not split the frame because more bytes follow at once.
    SuffixThenGap,
}

/// Framing settings of a serial scanner profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramerConfig {
    /// Bytes the scanner sends before each scan (stripped when present).
    pub prefix: Vec<u8>,
    /// Bytes the scanner sends after each scan, e.g. `b"\r"` or `b"\r\n"`. An empty suffix makes
    /// `Suffix` and `SuffixThenGap` behave as `Gap`.
    pub suffix: Vec<u8>,
    pub end: FrameEnd,
    /// Inter-character gap that ends a frame (`Gap`, `SuffixThenGap`).
    pub gap: Duration,
    /// Longest scan accepted, in bytes, prefix and suffix excluded.
    pub max_len: usize,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig {
            prefix: Vec::new(),
            suffix: b"\r".to_vec(),
            end: FrameEnd::Suffix,
            gap: Duration::from_millis(50),
            max_len: 8192,
        }
    }
}

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// Default idle time after which a partial frame without its suffix is dropped.
pub const DEFAULT_STALE: Duration = Duration::from_secs(1);

/// Turns a scanner's serial byte stream into scans.
#[derive(Debug, Clone)]
pub struct Framer {
    cfg: FramerConfig,
    stale: Option<Duration>,
    buf: Vec<u8>,
    /// When the last byte of the pending frame arrived.
    last: Option<Instant>,
    /// The pending frame passed `max_len`: it was reported and is being dropped.
    overflow: bool,
    /// The previous frame ended with a CR-terminated suffix: one LF is swallowed.
    swallow_lf: bool,
}

impl Framer {
    pub fn new(cfg: FramerConfig) -> Self {
        Framer {
            cfg,
            stale: Some(DEFAULT_STALE),
            buf: Vec::new(),
            last: None,
            overflow: false,
            swallow_lf: false,
        }
    }

    /// Sets the idle time after which a partial frame without its suffix is dropped (`None`: kept
    /// until more bytes come). Not used in `Gap` mode, where the gap ends every frame.
    pub fn with_stale(mut self, stale: Option<Duration>) -> Self {
        self.stale = stale;
        self
    }

    pub fn config(&self) -> &FramerConfig {
        &self.cfg
    }

    /// Bytes of the frame being received.
    pub fn pending_len(&self) -> usize {
        self.buf.len()
    }

    fn mode(&self) -> FrameEnd {
        if self.cfg.suffix.is_empty() {
            FrameEnd::Gap
        } else {
            self.cfg.end
        }
    }

    /// Pushes bytes that arrived at `now`; complete frames (and faults) are appended to `out`.
    pub fn push(&mut self, bytes: &[u8], now: Instant, out: &mut Vec<Result<Vec<u8>, FrameError>>) {
        if bytes.is_empty() {
            return;
        }
        // A deadline that passed before these bytes came ends the pending frame first (the I/O
        // loop was late to call `tick`, or the bytes were queued).
        self.tick(now, out);
        for &b in bytes {
            self.byte(b, out);
        }
        if !self.buf.is_empty() {
            self.last = Some(now);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Result<Vec<u8>, FrameError>>) {
        if std::mem::take(&mut self.swallow_lf) && b == LF {
            return;
        }
        self.buf.push(b);
        if self.mode() == FrameEnd::Suffix && self.buf.ends_with(&self.cfg.suffix) {
            let body_len = self.buf.len() - self.cfg.suffix.len();
            self.finish(body_len, out);
            self.swallow_lf = self.cfg.suffix.last() == Some(&CR);
            return;
        }
        let limit = self.cfg.max_len + self.cfg.prefix.len() + self.cfg.suffix.len() + 1;
        if self.buf.len() > limit {
            if !self.overflow {
                self.overflow = true;
                out.push(Err(FrameError::Malformed(format!(
                    "scan longer than {} bytes dropped (no frame end seen)",
                    self.cfg.max_len
                ))));
            }
            // Keep only what may still be the start of the suffix (and a stray LF).
            let keep = self.cfg.suffix.len() + 1;
            let cut = self.buf.len() - keep;
            self.buf.drain(..cut);
        }
    }

    /// The body length when the pending frame ends with the suffix (or suffix + stray LF when the
    /// suffix ends in CR).
    fn suffix_end(&self) -> Option<usize> {
        let s = &self.cfg.suffix;
        if s.is_empty() {
            return None;
        }
        if self.buf.ends_with(s) {
            return Some(self.buf.len() - s.len());
        }
        if s.last() == Some(&CR) && self.buf.last() == Some(&LF) && self.buf[..self.buf.len() - 1].ends_with(s) {
            return Some(self.buf.len() - 1 - s.len());
        }
        None
    }

    /// When the pending frame completes (gap modes) or is dropped as stale, if no byte arrives
    /// before; `None` when nothing is pending or the frame waits for its suffix indefinitely.
    pub fn deadline(&self) -> Option<Instant> {
        let last = self.last?;
        if self.buf.is_empty() {
            return None;
        }
        match self.mode() {
            FrameEnd::Gap => Some(last + self.cfg.gap),
            FrameEnd::SuffixThenGap if self.suffix_end().is_some() => Some(last + self.cfg.gap),
            _ => self.stale.map(|s| last + s),
        }
    }

    /// Called when the deadline passed with no new byte: ends or drops the pending frame.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<Result<Vec<u8>, FrameError>>) {
        let Some(deadline) = self.deadline() else { return };
        if now < deadline {
            return;
        }
        match (self.mode(), self.suffix_end()) {
            (FrameEnd::Gap, None) => {
                let body_len = self.buf.len();
                self.finish(body_len, out);
            }
            (FrameEnd::Gap | FrameEnd::SuffixThenGap, Some(body_len)) => {
                // A LF that arrives after the gap still belongs to a CR suffix (unless it came).
                let lf_seen = self.buf.len() > body_len + self.cfg.suffix.len();
                self.finish(body_len, out);
                self.swallow_lf = self.cfg.suffix.last() == Some(&CR) && !lf_seen;
            }
            _ => {
                let n = self.buf.len();
                if !self.overflow {
                    out.push(Err(FrameError::Malformed(format!(
                        "partial scan of {n} byte(s) without the suffix dropped after {} ms idle",
                        self.stale.unwrap_or_default().as_millis()
                    ))));
                }
                self.clear_frame();
            }
        }
    }

    /// Ends the pending frame whose body is `buf[..body_len]`: strips the prefix, checks the
    /// length, emits it unless empty or already reported as too long.
    fn finish(&mut self, body_len: usize, out: &mut Vec<Result<Vec<u8>, FrameError>>) {
        let mut body = std::mem::take(&mut self.buf);
        body.truncate(body_len);
        let overflow = std::mem::take(&mut self.overflow);
        self.last = None;
        if overflow {
            return;
        }
        if self.cfg.suffix == [LF] && body.last() == Some(&CR) {
            body.pop();
        }
        if !self.cfg.prefix.is_empty() && body.starts_with(&self.cfg.prefix) {
            body.drain(..self.cfg.prefix.len());
        }
        if body.len() > self.cfg.max_len {
            out.push(Err(FrameError::Malformed(format!(
                "scan of {} bytes dropped (longer than {})",
                body.len(),
                self.cfg.max_len
            ))));
        } else if !body.is_empty() {
            out.push(Ok(body));
        }
    }

    fn clear_frame(&mut self) {
        self.buf.clear();
        self.overflow = false;
        self.last = None;
    }

    /// Drops any partial frame (after a reconnect, so no half frame is ever decoded).
    pub fn reset(&mut self) {
        self.clear_frame();
        self.swallow_lf = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Out = Vec<Result<Vec<u8>, FrameError>>;

    fn cfg(suffix: &[u8], end: FrameEnd) -> FramerConfig {
        FramerConfig {
            suffix: suffix.to_vec(),
            end,
            ..FramerConfig::default()
        }
    }

    /// Feeds chunks at the given millisecond offsets; ticks at each deadline in between and at `end_ms`.
    fn run(f: &mut Framer, t0: Instant, chunks: &[(u64, &[u8])], end_ms: u64) -> Out {
        let mut out = Vec::new();
        for &(ms, bytes) in chunks {
            let now = t0 + Duration::from_millis(ms);
            while let Some(d) = f.deadline() {
                if d > now {
                    break;
                }
                f.tick(d, &mut out);
            }
            f.push(bytes, now, &mut out);
        }
        let end = t0 + Duration::from_millis(end_ms);
        while let Some(d) = f.deadline() {
            if d > end {
                break;
            }
            f.tick(d, &mut out);
        }
        out
    }

    fn ok(frames: &[&[u8]]) -> Out {
        frames.iter().map(|f| Ok(f.to_vec())).collect()
    }

    #[test]
    fn suffix_table() {
        let t0 = Instant::now();
        // prefix, suffix, stream, frames
        type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [&'a [u8]]);
        let cases: &[Case] = &[
            (b"", b"\r", b"]d2010950\r", &[b"]d2010950"]),
            (b"", b"\r", b"A\rB\r", &[b"A", b"B"]),
            (b"", b"\r", b"A\r\nB\r\n", &[b"A", b"B"]), // stray LF after CR suffix
            (b"", b"\r", b"\r\r\rA\r", &[b"A"]),        // empty frames not emitted
            (b"", b"\r\n", b"A\r\nB\r\n", &[b"A", b"B"]),
            (b"", b"\r\n", b"A\rB\r\n", &[b"A\rB"]), // a lone CR is data when the suffix is CR LF
            (b"", b"\n", b"A\r\nB\n", &[b"A", b"B"]), // CR before an LF suffix stripped
            (b"\x02", b"\x03", b"\x02A\x03B\x03", &[b"A", b"B"]), // prefix missing on B: tolerated
            (b"PFX", b"\r", b"PFXdata\rPFX\r", &[b"data"]),
        ];
        for (prefix, suffix, stream, frames) in cases {
            let c = FramerConfig {
                prefix: prefix.to_vec(),
                ..cfg(suffix, FrameEnd::Suffix)
            };
            let mut f = Framer::new(c.clone());
            let got = run(&mut f, t0, &[(0, stream)], 0);
            assert_eq!(got, ok(frames), "{stream:?} whole");
            // byte by byte, same instant
            let mut f = Framer::new(c);
            let chunks: Vec<(u64, &[u8])> = stream.iter().map(|b| (0, std::slice::from_ref(b))).collect();
            assert_eq!(run(&mut f, t0, &chunks, 0), ok(frames), "{stream:?} bytewise");
        }
    }

    #[test]
    fn stray_lf_across_pushes() {
        let t0 = Instant::now();
        let mut f = Framer::new(cfg(b"\r", FrameEnd::Suffix));
        let got = run(&mut f, t0, &[(0, b"ABC\r"), (1, b"\n"), (2, b"DEF\r")], 2);
        assert_eq!(got, ok(&[b"ABC", b"DEF"]));
        assert_eq!(f.deadline(), None);
    }

    #[test]
    fn gap_mode_by_instants() {
        let t0 = Instant::now();
        let mut f = Framer::new(cfg(b"", FrameEnd::Gap));
        let mut out = Vec::new();
        f.push(b"0109", t0, &mut out);
        f.push(b"5011", t0 + Duration::from_millis(10), &mut out);
        assert!(out.is_empty());
        assert_eq!(f.deadline(), Some(t0 + Duration::from_millis(60)));
        f.tick(t0 + Duration::from_millis(59), &mut out);
        assert!(out.is_empty());
        f.tick(t0 + Duration::from_millis(60), &mut out);
        assert_eq!(out, ok(&[b"01095011"]));
        assert_eq!(f.deadline(), None);
        // Bytes after a missed tick: the old frame ends first.
        out.clear();
        f.push(b"AB", t0 + Duration::from_millis(100), &mut out);
        f.push(b"CD", t0 + Duration::from_millis(400), &mut out);
        assert_eq!(out, ok(&[b"AB"]));
        f.tick(t0 + Duration::from_millis(450), &mut out);
        assert_eq!(out, ok(&[b"AB", b"CD"]));
    }

    #[test]
    fn gap_mode_strips_trailing_suffix() {
        let t0 = Instant::now();
        let mut f = Framer::new(cfg(b"\r", FrameEnd::Gap));
        let got = run(&mut f, t0, &[(0, b"A\rB\r\n"), (100, b"C")], 300);
        // The CR inside is data (gap framing); the trailing CR LF is the suffix.
        assert_eq!(got, ok(&[b"A\rB", b"C"]));
    }

    #[test]
    fn suffix_then_gap_keeps_crlf_inside_qr() {
        let t0 = Instant::now();
        let mut f = Framer::new(cfg(b"\r", FrameEnd::SuffixThenGap));
        // A QR payload with CR LF inside, sent in USB chunks 1 ms apart, then CR; then a second scan.
        let got = run(
            &mut f,
            t0,
            &[
                (0, b"]Q1BEGIN:VCARD\r\n"),
                (1, b"FN:Jo\r"),
                (2, b"\nEND:VCARD\r"),
                (200, b"]C0X1\r\n"),
                (201, b""),
            ],
            500,
        );
        assert_eq!(got, ok(&[b"]Q1BEGIN:VCARD\r\nFN:Jo\r\nEND:VCARD", b"]C0X1"]));
    }

    #[test]
    fn suffix_then_gap_waits_for_the_gap() {
        let t0 = Instant::now();
        let mut f = Framer::new(cfg(b"\r", FrameEnd::SuffixThenGap));
        let mut out = Vec::new();
        f.push(b"AB\r", t0, &mut out);
        assert_eq!(f.deadline(), Some(t0 + Duration::from_millis(50)));
        f.push(b"CD", t0 + Duration::from_millis(20), &mut out);
        // No suffix at the end: only the stale deadline.
        assert_eq!(f.deadline(), Some(t0 + Duration::from_millis(20) + DEFAULT_STALE));
        f.push(b"\r", t0 + Duration::from_millis(30), &mut out);
        f.tick(t0 + Duration::from_millis(80), &mut out);
        assert_eq!(out, ok(&[b"AB\rCD"]));
        // The stray LF that comes after the gap is swallowed.
        f.push(b"\nEF\r", t0 + Duration::from_millis(200), &mut out);
        f.tick(t0 + Duration::from_millis(260), &mut out);
        assert_eq!(out, ok(&[b"AB\rCD", b"EF"]));
    }

    #[test]
    fn too_long_dropped_and_recovers() {
        let t0 = Instant::now();
        let c = FramerConfig {
            max_len: 8,
            ..cfg(b"\r", FrameEnd::Suffix)
        };
        let mut f = Framer::new(c.clone());
        let mut out = Vec::new();
        f.push(b"0123456789ABCDEFGHIJ", t0, &mut out);
        assert!(matches!(out.as_slice(), [Err(FrameError::Malformed(_))]));
        assert!(f.pending_len() <= 8 + 1 + 1);
        f.push(&[b'x'; 10_000], t0, &mut out);
        assert_eq!(out.len(), 1, "reported once");
        assert!(f.pending_len() <= 10);
        f.push(b"\rOK\r", t0, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], Ok(b"OK".to_vec()));
        // Exactly max_len passes; max_len + 1 does not.
        let mut f = Framer::new(c);
        let mut out = Vec::new();
        f.push(b"12345678\r123456789\r", t0, &mut out);
        assert_eq!(out[0], Ok(b"12345678".to_vec()));
        assert!(matches!(out[1], Err(FrameError::Malformed(_))));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn too_long_in_gap_mode_ends_at_gap() {
        let t0 = Instant::now();
        let c = FramerConfig {
            max_len: 4,
            ..cfg(b"", FrameEnd::Gap)
        };
        let mut f = Framer::new(c);
        let got = run(&mut f, t0, &[(0, b"0123456789"), (1, b"abc"), (100, b"ok")], 300);
        assert_eq!(got.len(), 2);
        assert!(matches!(got[0], Err(FrameError::Malformed(_))));
        assert_eq!(got[1], Ok(b"ok".to_vec()));
    }

    #[test]
    fn stale_partial_dropped_and_reset() {
        let t0 = Instant::now();
        let mut f = Framer::new(cfg(b"\r", FrameEnd::Suffix));
        let mut out = Vec::new();
        f.push(b"noise", t0, &mut out);
        assert_eq!(f.deadline(), Some(t0 + DEFAULT_STALE));
        f.tick(t0 + DEFAULT_STALE, &mut out);
        assert!(matches!(out.as_slice(), [Err(FrameError::Malformed(_))]));
        f.push(b"]C1X\r", t0 + Duration::from_secs(2), &mut out);
        assert_eq!(out[1], Ok(b"]C1X".to_vec()));
        // With stale disabled a partial frame waits; reset drops it.
        let mut f = Framer::new(cfg(b"\r", FrameEnd::Suffix)).with_stale(None);
        out.clear();
        f.push(b"half", t0, &mut out);
        assert_eq!(f.deadline(), None);
        f.reset();
        f.push(b"whole\r", t0, &mut out);
        assert_eq!(out, ok(&[b"whole"]));
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
    fn random_splits_give_the_same_frames() {
        let t0 = Instant::now();
        // Bursts: (ms, bytes). Bytes of one burst arrive together; bursts are apart in time.
        let bursts: &[(u64, &[u8])] = &[
            (0, b"\x02]d2010950110153000317251231\x1d10LOT1\r\n"),
            (100, b"\x02]C0ABC\r"),
            (101, b"\r"),
            (300, b"]Q1X\r\nY\r"),
            (302, b"\n"),
            (600, b"noise"),
            (2000, b"\x02]E04006381333931\r\n"),
        ];
        let want: &[(FrameEnd, &[&[u8]])] = &[
            (
                FrameEnd::Suffix,
                &[
                    b"]d2010950110153000317251231\x1d10LOT1",
                    b"]C0ABC",
                    b"]Q1X",
                    b"Y",
                    b"]E04006381333931",
                ],
            ),
            (
                FrameEnd::SuffixThenGap,
                &[
                    b"]d2010950110153000317251231\x1d10LOT1",
                    b"]C0ABC\r",
                    b"]Q1X\r\nY",
                    b"]E04006381333931",
                ],
            ),
            (
                FrameEnd::Gap,
                &[
                    b"]d2010950110153000317251231\x1d10LOT1",
                    b"]C0ABC\r",
                    b"]Q1X\r\nY",
                    b"noise",
                    b"]E04006381333931",
                ],
            ),
        ];
        for (end, frames) in want {
            let c = FramerConfig {
                prefix: b"\x02".to_vec(),
                ..cfg(b"\r", *end)
            };
            let whole = run(&mut Framer::new(c.clone()), t0, bursts, 5000);
            let oks: Vec<&[u8]> = whole
                .iter()
                .filter_map(|r| r.as_ref().ok().map(|v| v.as_slice()))
                .collect();
            assert_eq!(&oks, frames, "{end:?}");
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
            for _ in 0..200 {
                let mut chunks = Vec::new();
                for &(ms, burst) in bursts {
                    let mut i = 0;
                    while i < burst.len() {
                        let n = 1 + (rng.next() % 7) as usize;
                        let j = (i + n).min(burst.len());
                        chunks.push((ms, &burst[i..j]));
                        i = j;
                    }
                }
                assert_eq!(run(&mut Framer::new(c.clone()), t0, &chunks, 5000), whole, "{end:?}");
            }
        }
    }

    #[test]
    fn fuzz_no_panic_bounded() {
        let t0 = Instant::now();
        let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
        for round in 0..300 {
            let end = [FrameEnd::Suffix, FrameEnd::SuffixThenGap, FrameEnd::Gap][round % 3];
            let suffix: &[u8] = [&b"\r"[..], b"\r\n", b"\n", b"", b"\x03"][round % 5];
            let c = FramerConfig {
                prefix: if round % 2 == 0 { b"\x02".to_vec() } else { Vec::new() },
                suffix: suffix.to_vec(),
                end,
                gap: Duration::from_millis(1 + rng.next() % 80),
                max_len: 1 + (rng.next() % 64) as usize,
            };
            let limit = c.max_len + c.prefix.len() + c.suffix.len() + 1;
            let mut f = Framer::new(c);
            let mut out = Vec::new();
            let mut ms = 0;
            for _ in 0..200 {
                ms += rng.next() % 120;
                let n = (rng.next() % 40) as usize;
                let bytes: Vec<u8> = (0..n)
                    .map(|_| [b'\r', b'\n', b'\x02', b'\x03', b'A', 0x00, 0xFF][(rng.next() % 7) as usize])
                    .collect();
                let now = t0 + Duration::from_millis(ms);
                if rng.next().is_multiple_of(4) {
                    f.tick(now, &mut out);
                }
                f.push(&bytes, now, &mut out);
                assert!(f.pending_len() <= limit);
                for frame in out.iter().flatten() {
                    assert!(!frame.is_empty());
                }
                out.clear();
            }
        }
    }
}
