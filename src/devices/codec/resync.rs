//! Finding frames in a byte stream that may hold noise, cut frames and corrupt ones, shared by the
//! RFID codecs. [`Framer`]: a resynchronising, chunking-independent splitter for protocols whose
//! frames carry a length and a CRC but no start byte to trust (Chafon has none; Mercury's 0xFF
//! also occurs inside frames), each direction described by a [`Spec`]. [`ByteQueue`]: the buffer
//! of the decoders for protocols with a start byte (R2000, M100), which add their own search.
//! Pure: bytes in, frame ranges out.

use std::marker::PhantomData;
use std::ops::Range;

use super::FrameError;

/// What the first bytes at a position say about a frame starting there.
pub(super) enum Head {
    /// A plausible frame of this many bytes.
    Frame(usize),
    /// No frame can start here.
    No,
    /// A frame start whose length field is impossible (the field's value).
    BadLength(usize),
}

/// One direction's frame format.
pub(super) trait Spec {
    /// Bytes needed to judge a frame start.
    const HEAD: usize;
    /// Longest frame.
    const MAX: usize;
    fn head(h: &[u8]) -> Head;
    /// `Err((expected, found))` when the frame's CRC is wrong.
    fn check(frame: &[u8]) -> Result<(), (u32, u32)>;
    fn bad_length(value: usize) -> String;
}

/// Skipped bytes are reported once per run, and in pieces of this size while a run goes on
/// (pure noise, e.g. a wrong baud rate, must not stay silent).
pub(super) const GARBAGE_REPORT_EVERY: usize = 1024;
/// Bytes fed to the framer at a time, which bounds its buffer.
pub(super) const FEED_PIECE: usize = 4096;

/// Splits a byte stream into CRC-checked frames.
///
/// In sync (after a good frame) the next byte must start a frame: it is waited for whole and a
/// CRC failure is reported as `BadChecksum`, an impossible length as `Malformed`. While it is
/// incomplete, two consecutive good frames completing inside its claimed length overrule it (its
/// length byte was noise: `Garbage`), so a bogus length does not hold back the frames behind it.
/// Out of sync (at the start, after `reset`, after an error) every position is a candidate;
/// candidates are checked in the order in which their last byte arrives, the first good one wins
/// and the bytes before it are reported as one `Garbage` run. Because decisions follow byte
/// arrival order, the output does not depend on how the stream is chunked (the one exception, a
/// good frame that contains two consecutive good frames, is a < 2^-32 coincidence). The buffer
/// never holds more than two maximal frames plus one feed piece.
pub(super) struct Framer<S: Spec> {
    buf: Vec<u8>,
    /// First unresolved byte.
    start: usize,
    in_sync: bool,
    /// Out of sync: every candidate ending at or before this index has been checked.
    checked: usize,
    /// Skipped bytes not yet reported.
    garbage: usize,
    /// Bytes of a frame already reported as bad, not to be counted again as garbage.
    suppress: usize,
    events: Vec<(usize, usize)>,
    /// In sync, while the frame at `start` is incomplete: candidates inside it ending at or
    /// before this index have been checked, and these (start, end) of them were good.
    inner_checked: usize,
    inner_good: Vec<(usize, usize)>,
    _spec: PhantomData<S>,
}

impl<S: Spec> Framer<S> {
    pub(super) fn new() -> Self {
        Framer {
            buf: Vec::with_capacity(FEED_PIECE + 2 * S::MAX),
            start: 0,
            in_sync: false,
            checked: 0,
            garbage: 0,
            suppress: 0,
            events: Vec::new(),
            inner_checked: 0,
            inner_good: Vec::new(),
            _spec: PhantomData,
        }
    }

    pub(super) fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.in_sync = false;
        self.checked = 0;
        self.garbage = 0;
        self.suppress = 0;
        self.inner_checked = 0;
        self.inner_good.clear();
    }

    /// Unresolved bytes held.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    pub(super) fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.checked = self.checked.saturating_sub(self.start);
            self.inner_checked = self.inner_checked.saturating_sub(self.start);
            for (a, b) in &mut self.inner_good {
                *a = a.saturating_sub(self.start);
                *b = b.saturating_sub(self.start);
            }
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    pub(super) fn frame(&self, r: Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    fn skip<T>(&mut self, n: usize, out: &mut Vec<Result<T, FrameError>>) {
        let quiet = n.min(self.suppress);
        self.suppress -= quiet;
        self.garbage += n - quiet;
        while self.garbage >= GARBAGE_REPORT_EVERY {
            out.push(Err(FrameError::Garbage {
                bytes: GARBAGE_REPORT_EVERY,
            }));
            self.garbage -= GARBAGE_REPORT_EVERY;
        }
    }

    /// Moves the resolved front to `at`, forgetting what was learnt about the old frame's inside.
    fn advance(&mut self, at: usize) {
        self.start = at;
        self.inner_checked = at;
        self.inner_good.clear();
    }

    /// In sync, a good frame at `j` ending where another good frame starts, both inside the
    /// frame at `s` (ending at `end_s`) and complete by `limit`; the pair completing first wins.
    /// Two consecutive good frames inside a genuine frame are a < 2^-32 coincidence, so this
    /// only overrides a start whose length byte was noise.
    fn inner_pair(&mut self, s: usize, end_s: usize, limit: usize) -> Option<(usize, usize)> {
        if limit > self.inner_checked {
            let n = self.buf.len();
            let mut j = s + 1;
            while j < end_s && j + S::HEAD <= n {
                if let Head::Frame(len) = S::head(&self.buf[j..j + S::HEAD]) {
                    let e = j + len;
                    if e > self.inner_checked && e <= limit && S::check(&self.buf[j..e]).is_ok() {
                        self.inner_good.push((j, e));
                    }
                }
                j += 1;
            }
            self.inner_checked = limit;
        }
        // (second end, first start, first end) of the pair completing first.
        let mut best: Option<(usize, usize, usize)> = None;
        for &(a, e1) in &self.inner_good {
            for &(b, e2) in &self.inner_good {
                if b == e1 && best.is_none_or(|x| (e2, a) < (x.0, x.1)) {
                    best = Some((e2, a, e1));
                }
            }
        }
        best.map(|(_, a, e1)| (a, e1))
    }

    fn lose_sync(&mut self, at: usize, suppress: usize) {
        self.in_sync = false;
        self.advance(at);
        self.checked = at;
        self.suppress = suppress;
    }

    /// The next good frame, as a range into the buffer (valid until the next `feed`).
    pub(super) fn next<T>(&mut self, out: &mut Vec<Result<T, FrameError>>) -> Option<Range<usize>> {
        loop {
            let n = self.buf.len();
            let s = self.start;
            if self.in_sync {
                if n - s < S::HEAD {
                    return None;
                }
                match S::head(&self.buf[s..s + S::HEAD]) {
                    Head::Frame(len) => {
                        let end = s + len;
                        let verdict = if n >= end {
                            Some(S::check(&self.buf[s..end]))
                        } else {
                            None
                        };
                        if let Some(Ok(())) = verdict {
                            self.advance(end);
                            return Some(s..end);
                        }
                        // Incomplete or bad: two good frames completed inside it overrule it.
                        if let Some((j, e1)) = self.inner_pair(s, end, n.min(end - 1)) {
                            out.push(Err(FrameError::Garbage { bytes: j - s }));
                            self.advance(e1);
                            return Some(j..e1);
                        }
                        let Some(Err((expected, found))) = verdict else {
                            return None;
                        };
                        out.push(Err(FrameError::BadChecksum { expected, found }));
                        self.lose_sync(s + 1, len - 1);
                    }
                    Head::BadLength(v) => {
                        out.push(Err(FrameError::Malformed(S::bad_length(v))));
                        self.lose_sync(s + 1, 0);
                    }
                    Head::No => {
                        self.lose_sync(s, 0);
                    }
                }
                continue;
            }

            // Out of sync: check the candidates whose last byte has arrived, in arrival order,
            // within a window of two maximal frames (candidates further on end later).
            let limit = n.min(s + 2 * S::MAX);
            self.events.clear();
            let mut j = s;
            while j + S::HEAD <= limit {
                if let Head::Frame(len) = S::head(&self.buf[j..j + S::HEAD]) {
                    let end = j + len;
                    if end <= limit && end > self.checked {
                        self.events.push((end, j));
                    }
                }
                j += 1;
            }
            self.events.sort_unstable();
            for k in 0..self.events.len() {
                let (end, j) = self.events[k];
                if S::check(&self.buf[j..end]).is_ok() {
                    self.skip(j - s, out);
                    if self.garbage > 0 {
                        out.push(Err(FrameError::Garbage { bytes: self.garbage }));
                    }
                    self.garbage = 0;
                    self.suppress = 0;
                    self.in_sync = true;
                    self.advance(end);
                    return Some(j..end);
                }
            }
            self.checked = self.checked.max(limit);
            // Drop the positions that can no longer start a frame.
            let mut p = s;
            while p + S::HEAD <= n {
                match S::head(&self.buf[p..p + S::HEAD]) {
                    Head::Frame(len) if p + len > self.checked => break,
                    _ => p += 1,
                }
            }
            if p == s {
                return None;
            }
            self.skip(p - s, out);
            self.start = p;
        }
    }
}

/// The byte buffer of a decoder for frames with a start byte (R2000 0xA0, M100 0xBB): a start
/// index into it, and the count of bytes skipped since the last reported event. Each protocol
/// adds its own frame search over it.
#[derive(Debug, Default)]
pub(super) struct ByteQueue {
    pub(super) buf: Vec<u8>,
    pub(super) pos: usize,
    pub(super) garbage: usize,
}

impl ByteQueue {
    pub(super) fn push(&mut self, bytes: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Drops consumed bytes: what stays is at most one partial frame (< [`MAX_FRAME`] bytes).
    pub(super) fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    pub(super) fn reset(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.garbage = 0;
    }

    pub(super) fn flush_garbage<T>(&mut self, out: &mut Vec<Result<T, FrameError>>) {
        if self.garbage > 0 {
            out.push(Err(FrameError::Garbage { bytes: self.garbage }));
            self.garbage = 0;
        }
    }

    /// Rejects the candidate at `pos`: reports it and skips just its header byte, so a frame that
    /// starts inside it is still found.
    pub(super) fn reject<T>(&mut self, out: &mut Vec<Result<T, FrameError>>, err: FrameError) {
        self.flush_garbage(out);
        out.push(Err(err));
        self.pos += 1;
    }
}
