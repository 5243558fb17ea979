//! An RFID inventory session: de-duplicates tag reads (first and last seen, read count, best
//! RSSI, antenna) and plans passes that alternate target A/B, as stocktakes need with session
//! S2/S3 (a tag answers once per target, so a second pass on the same target sees nothing).
//! Pure: the instants are passed in by the driver.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::codec::{TagReport, Target};

/// Which targets the passes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetPlan {
    /// Every pass targets A (S0 "locate" reads, or a single pass).
    A,
    B,
    /// Alternate A, B, A, … between passes (stocktakes on S2/S3).
    Alternate,
}

/// What the session knows of one tag.
#[derive(Debug, Clone, PartialEq)]
pub struct TagStats {
    pub epc: Vec<u8>,
    pub pc: u16,
    pub first_seen: Instant,
    pub last_seen: Instant,
    pub reads: u32,
    pub best_rssi: Option<i16>,
    /// The antenna of the strongest read (or the last one, without RSSI).
    pub antenna: Option<u8>,
    pub tid: Option<Vec<u8>>,
    /// The pass in which the tag was first read (1-based).
    pub first_pass: u32,
}

/// Whether a read was a new tag or one seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    New(usize),
    Again(usize),
}

/// Reads per second over the last second, in 100 ms buckets.
const BUCKET: Duration = Duration::from_millis(100);
const BUCKETS: usize = 10;

#[derive(Debug, Clone)]
pub struct InventorySession {
    index: HashMap<Vec<u8>, usize>,
    tags: Vec<TagStats>,
    total_reads: u64,
    started: Instant,
    buckets: [(u64, u32); BUCKETS],
    plan: TargetPlan,
    pass: u32,
    target: Target,
    pass_started: Instant,
    last_new: Instant,
}

impl InventorySession {
    pub fn new(plan: TargetPlan, now: Instant) -> Self {
        let target = if plan == TargetPlan::B { Target::B } else { Target::A };
        InventorySession {
            index: HashMap::new(),
            tags: Vec::new(),
            total_reads: 0,
            started: now,
            buckets: [(u64::MAX, 0); BUCKETS],
            plan,
            pass: 1,
            target,
            pass_started: now,
            last_new: now,
        }
    }

    /// Takes one read into the session.
    pub fn observe(&mut self, tag: &TagReport, now: Instant) -> Observed {
        self.total_reads += 1;
        let slot = (now.saturating_duration_since(self.started).as_millis() / BUCKET.as_millis()) as u64;
        let b = &mut self.buckets[(slot % BUCKETS as u64) as usize];
        if b.0 == slot {
            b.1 += 1;
        } else {
            *b = (slot, 1);
        }
        if let Some(&i) = self.index.get(tag.epc.as_slice()) {
            let t = &mut self.tags[i];
            t.reads = t.reads.saturating_add(1);
            t.last_seen = now;
            match (tag.rssi_dbm, t.best_rssi) {
                (Some(r), Some(best)) if r > best => {
                    t.best_rssi = Some(r);
                    t.antenna = tag.antenna.or(t.antenna);
                }
                (Some(r), None) => {
                    t.best_rssi = Some(r);
                    t.antenna = tag.antenna.or(t.antenna);
                }
                (None, None) => t.antenna = tag.antenna.or(t.antenna),
                _ => {}
            }
            if t.tid.is_none() {
                t.tid.clone_from(&tag.tid);
            }
            return Observed::Again(i);
        }
        let i = self.tags.len();
        self.index.insert(tag.epc.clone(), i);
        self.tags.push(TagStats {
            epc: tag.epc.clone(),
            pc: tag.pc,
            first_seen: now,
            last_seen: now,
            reads: 1,
            best_rssi: tag.rssi_dbm,
            antenna: tag.antenna,
            tid: tag.tid.clone(),
            first_pass: self.pass,
        });
        self.last_new = now;
        Observed::New(i)
    }

    /// Records a TID read afterwards for a tag already in the session.
    pub fn set_tid(&mut self, epc: &[u8], tid: Vec<u8>) -> bool {
        match self.index.get(epc) {
            Some(&i) => {
                self.tags[i].tid = Some(tid);
                true
            }
            None => false,
        }
    }

    /// Unique tags, in the order first seen.
    pub fn tags(&self) -> &[TagStats] {
        &self.tags
    }

    pub fn unique(&self) -> usize {
        self.tags.len()
    }

    pub fn total_reads(&self) -> u64 {
        self.total_reads
    }

    /// Reads per second over the last full second before `now`.
    pub fn reads_per_s(&self, now: Instant) -> f64 {
        let slot = (now.saturating_duration_since(self.started).as_millis() / BUCKET.as_millis()) as u64;
        // The current bucket is partial; count the ten before it.
        let lo = slot.saturating_sub(BUCKETS as u64);
        let n: u32 = self
            .buckets
            .iter()
            .filter(|(s, _)| *s != u64::MAX && *s >= lo && *s < slot)
            .map(|(_, c)| *c)
            .sum();
        let span = (slot - lo).max(1) as f64 * BUCKET.as_secs_f64();
        f64::from(n) / span
    }

    /// The pass being run (1-based) and its target.
    pub fn pass(&self) -> (u32, Target) {
        (self.pass, self.target)
    }

    /// Whether a continuous pass has run its course: no new tag for `quiet`, or `max` elapsed.
    pub fn pass_done(&self, now: Instant, quiet: Duration, max: Duration) -> bool {
        let since_new = now.saturating_duration_since(self.last_new.max(self.pass_started));
        since_new >= quiet || now.saturating_duration_since(self.pass_started) >= max
    }

    /// Ends the current pass; returns the target of the next one (flipped when alternating).
    pub fn next_pass(&mut self, now: Instant) -> Target {
        self.pass += 1;
        if self.plan == TargetPlan::Alternate {
            self.target = self.target.flip();
        }
        self.pass_started = now;
        self.target
    }

    /// Tags first read in each pass: `[(pass, new tags)]`, to see the count converge.
    pub fn new_per_pass(&self) -> Vec<(u32, usize)> {
        let mut v: Vec<(u32, usize)> = (1..=self.pass).map(|p| (p, 0)).collect();
        for t in &self.tags {
            if let Some(e) = v.get_mut(t.first_pass as usize - 1) {
                e.1 += 1;
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(epc: u8, rssi: Option<i16>, ant: u8) -> TagReport {
        TagReport {
            epc: vec![0x30, epc],
            pc: 0x0800,
            rssi_dbm: rssi,
            antenna: Some(ant),
            tid: None,
        }
    }

    #[test]
    fn reads_are_deduplicated_with_first_last_count_and_best_rssi() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut s = InventorySession::new(TargetPlan::A, t0);
        assert_eq!(s.observe(&tag(1, Some(-60), 1), ms(10)), Observed::New(0));
        assert_eq!(s.observe(&tag(2, Some(-50), 1), ms(20)), Observed::New(1));
        assert_eq!(s.observe(&tag(1, Some(-40), 2), ms(30)), Observed::Again(0));
        assert_eq!(s.observe(&tag(1, Some(-70), 1), ms(40)), Observed::Again(0));
        assert_eq!(s.unique(), 2);
        assert_eq!(s.total_reads(), 4);
        let t = &s.tags()[0];
        assert_eq!((t.reads, t.best_rssi, t.antenna), (3, Some(-40), Some(2)));
        assert_eq!((t.first_seen, t.last_seen), (ms(10), ms(40)));
    }

    #[test]
    fn read_rate_counts_the_last_second() {
        let t0 = Instant::now();
        let mut s = InventorySession::new(TargetPlan::A, t0);
        // 50 reads spread over 0.0–0.99 s, then measure at 1.05 s: 50 reads in the last second.
        for i in 0..50u64 {
            s.observe(&tag((i % 7) as u8, None, 1), t0 + Duration::from_millis(i * 20));
        }
        let r = s.reads_per_s(t0 + Duration::from_millis(1050));
        assert!((r - 50.0).abs() < 0.01, "{r}");
        // Two seconds later nothing is left in the window.
        assert_eq!(s.reads_per_s(t0 + Duration::from_millis(3050)), 0.0);
    }

    #[test]
    fn passes_alternate_targets_and_track_new_tags_per_pass() {
        let t0 = Instant::now();
        let mut s = InventorySession::new(TargetPlan::Alternate, t0);
        assert_eq!(s.pass(), (1, Target::A));
        s.observe(&tag(1, None, 1), t0);
        s.observe(&tag(2, None, 1), t0);
        assert_eq!(s.next_pass(t0), Target::B);
        s.observe(&tag(2, None, 1), t0);
        s.observe(&tag(3, None, 1), t0);
        assert_eq!(s.next_pass(t0), Target::A);
        assert_eq!(s.new_per_pass(), vec![(1, 2), (2, 1), (3, 0)]);
        let mut fixed = InventorySession::new(TargetPlan::B, t0);
        assert_eq!(fixed.pass().1, Target::B);
        assert_eq!(fixed.next_pass(t0), Target::B);
    }

    #[test]
    fn a_pass_is_done_when_quiet_or_too_long() {
        let t0 = Instant::now();
        let s_ = Duration::from_secs;
        let mut s = InventorySession::new(TargetPlan::Alternate, t0);
        s.observe(&tag(1, None, 1), t0 + s_(1));
        assert!(!s.pass_done(t0 + s_(2), s_(2), s_(10)));
        assert!(s.pass_done(t0 + s_(3), s_(2), s_(10)));
        assert!(s.pass_done(t0 + s_(10), s_(20), s_(10)));
    }
}
