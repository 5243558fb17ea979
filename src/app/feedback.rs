//! Verdict feedback: a short sound per verdict (accept, warn, reject) through ALSA, and the
//! terminal profile's `[feedback]` hooks (an LED per verdict, the vibrator).
//!
//! One long-lived thread plays and fires; [`Feedback::signal`] only sends on a channel, so the UI
//! thread and a scan never wait for a sound, a device or a file. Where no audio output opens,
//! one log line says so and the sounds stay off; a hook that fails is logged once and ignored.
//! A burst of verdicts (RFID tags read many times a second) plays once: the gravest one waiting.
//! The front ends do not decide what to play: they pass the verdict they show.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{Cursor, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::devices::profile::Signal;
use crate::devices::profile::{FeedbackHooks, Hook};
use crate::domain::policy::Verdict;

/// The sounds, written by `scripts/gen-sounds.py`: 16-bit mono PCM, at most 300 ms each.
const ACCEPT_WAV: &[u8] = include_bytes!("../../assets/sounds/accept.wav");
const WARN_WAV: &[u8] = include_bytes!("../../assets/sounds/warn.wav");
const REJECT_WAV: &[u8] = include_bytes!("../../assets/sounds/reject.wav");

/// The WAV file played for `signal`.
pub fn sound(signal: Signal) -> &'static [u8] {
    match signal {
        Signal::Accept => ACCEPT_WAV,
        Signal::Warn => WARN_WAV,
        Signal::Reject => REJECT_WAV,
    }
}

impl From<&Verdict> for Signal {
    fn from(v: &Verdict) -> Signal {
        match v {
            Verdict::Accept => Signal::Accept,
            Verdict::Warn(_) => Signal::Warn,
            Verdict::Reject(_) => Signal::Reject,
        }
    }
}

/// A command still running after this long is stopped.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long dropping a [`Feedback`] waits for its thread to turn the LEDs off.
const CLOSE_WAIT: Duration = Duration::from_millis(300);

/// Where the feedback thread's log lines go: stderr (the journal) in the app, a buffer in tests.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// Log lines to the app's log (`tracing`: the journal under systemd, stderr otherwise).
pub fn stderr_log() -> Log {
    Arc::new(|line: &str| tracing::warn!(target: "lotline::feedback", "{line}"))
}

/// Why sounds cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum SoundError {
    /// No audio output could be opened (no sound card, no ALSA device, no permission).
    #[error("no audio output could be opened: {0}")]
    Open(#[source] rodio::DeviceSinkError),
    /// The open output reported an error (a USB sound device unplugged, say).
    #[error("the audio output failed: {0}")]
    Stream(String),
    /// A sound did not decode (the embedded files are checked by a test).
    #[error("a sound did not decode: {0}")]
    Decode(#[source] rodio::decoder::DecoderError),
    /// Nothing to open (tests).
    #[error("{0}")]
    Unavailable(&'static str),
}

/// Plays the verdict sounds. [`open_alsa`] makes the real one; tests give their own.
pub trait Speaker {
    /// Starts `signal`'s sound, cutting off one still playing; returns at once.
    fn play(&mut self, signal: Signal) -> Result<(), SoundError>;
}

/// Opens the speaker, on the feedback thread (an ALSA stream stays on the thread that opened it).
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn Speaker>, SoundError> + Send>;

/// What the feedback service does.
#[derive(Debug, Clone)]
pub struct FeedbackOptions {
    /// Play sounds (`--mute` turns them off; the hooks still fire).
    pub sound: bool,
    /// 0.0–1.0 of the sounds' own level.
    pub volume: f32,
    /// The terminal profile's LEDs and vibrator.
    pub hooks: FeedbackHooks,
}

impl Default for FeedbackOptions {
    fn default() -> Self {
        FeedbackOptions {
            sound: true,
            volume: 1.0,
            hooks: FeedbackHooks::default(),
        }
    }
}

/// The feedback service: constructed once by the composition root, signalled by the front ends.
/// Dropping it stops the thread, which turns any lit LED off first.
pub struct Feedback {
    tx: Option<Sender<Signal>>,
    done: Option<Receiver<()>>,
}

impl Feedback {
    /// Feedback that does nothing (tests, screenshots, `lotline` subcommands).
    pub fn off() -> Feedback {
        Feedback { tx: None, done: None }
    }

    /// Starts the feedback thread with the sounds on the default ALSA output and log lines on
    /// stderr.
    pub fn start(opts: FeedbackOptions) -> Feedback {
        let volume = opts.volume.clamp(0.0, 1.0);
        Feedback::start_with(opts, Box::new(move || open_alsa(volume)), stderr_log())
    }

    /// Starts the feedback thread with a given speaker and log (tests).
    pub fn start_with(opts: FeedbackOptions, open: Opener, log: Log) -> Feedback {
        if (!opts.sound || opts.volume <= 0.0) && opts.hooks.is_empty() {
            return Feedback::off();
        }
        let (tx, rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("lotline-feedback".into())
            .spawn(move || {
                run(rx, opts, open, log);
                let _ = done_tx.send(());
            });
        match spawned {
            Ok(_) => Feedback {
                tx: Some(tx),
                done: Some(done),
            },
            Err(e) => {
                tracing::error!("cannot start the feedback thread ({e}): no sounds, LEDs or vibration");
                Feedback::off()
            }
        }
    }

    /// Plays `signal`'s sound and fires its hooks. Never blocks: it only queues the signal.
    pub fn signal(&self, signal: impl Into<Signal>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(signal.into());
        }
    }

    /// True when a feedback thread runs.
    pub fn is_on(&self) -> bool {
        self.tx.is_some()
    }
}

impl Feedback {
    /// Stops the thread after what is queued, waiting up to `wait` for it to end (lit LEDs are
    /// turned off on its way out). True when it ended, or none ran.
    pub fn close(mut self, wait: Duration) -> bool {
        self.stop(wait)
    }

    fn stop(&mut self, wait: Duration) -> bool {
        self.tx = None;
        match self.done.take() {
            Some(done) => done.recv_timeout(wait).is_ok(),
            None => true,
        }
    }
}

impl Drop for Feedback {
    fn drop(&mut self) {
        // Wait a little for the LEDs to go off, never for long.
        self.stop(CLOSE_WAIT);
    }
}

impl std::fmt::Debug for Feedback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feedback").field("on", &self.is_on()).finish()
    }
}

/// The feedback thread: plays, fires, turns LEDs off when their time is up, reaps commands.
fn run(rx: Receiver<Signal>, opts: FeedbackOptions, mut open: Opener, log: Log) {
    let mut audio = Audio {
        speaker: None,
        reported: false,
        log: log.clone(),
    };
    if opts.sound && opts.volume > 0.0 {
        audio.open(&mut open);
    }
    let mut hooks = Hooks::new(opts.hooks, log);
    loop {
        let got = match hooks.next_deadline() {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(first) => {
                let signal = rx.try_iter().fold(first, Signal::max);
                audio.play(signal, &mut open);
                hooks.fire(signal, Instant::now());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                hooks.close();
                return;
            }
        }
        hooks.tick(Instant::now());
    }
}

/// The speaker, if one is open, and whether its failure was logged (once per run).
struct Audio {
    speaker: Option<Box<dyn Speaker>>,
    reported: bool,
    log: Log,
}

impl Audio {
    fn open(&mut self, open: &mut Opener) {
        match open() {
            Ok(s) => self.speaker = Some(s),
            Err(e) => self.report(&e),
        }
    }

    fn report(&mut self, e: &SoundError) {
        if !self.reported {
            self.reported = true;
            (self.log)(&format!("{}; verdict sounds are off", with_causes(e)));
        }
    }

    /// Plays `signal`. An output that failed is opened again once; if that fails too, sounds
    /// stay off for the rest of the run.
    fn play(&mut self, signal: Signal, open: &mut Opener) {
        let Some(speaker) = &mut self.speaker else { return };
        let Err(e) = speaker.play(signal) else { return };
        self.speaker = None;
        if let SoundError::Stream(_) = e
            && let Ok(mut s) = open()
            && s.play(signal).is_ok()
        {
            self.speaker = Some(s);
            return;
        }
        self.report(&e);
    }
}

/// An error with the causes its message does not already say (rodio's errors keep cpal's, which
/// names what ALSA refused, as their source).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// The hooks of one terminal profile, with the LEDs lit and the commands running.
struct Hooks {
    hooks: FeedbackHooks,
    /// Lit LEDs and when each goes off.
    lit: Vec<(String, Instant)>,
    running: Vec<(Child, Instant)>,
    /// Hooks (a file or a program) whose failure was logged: each is logged once.
    reported: HashSet<String>,
    log: Log,
}

impl Hooks {
    fn new(hooks: FeedbackHooks, log: Log) -> Hooks {
        Hooks {
            hooks,
            lit: Vec::new(),
            running: Vec::new(),
            reported: HashSet::new(),
            log,
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let leds = self.lit.iter().map(|(_, at)| *at);
        let commands = self.running.iter().map(|(_, at)| *at);
        // Running commands are looked at a few times a second (reaped when done).
        let poll = (!self.running.is_empty()).then(|| Instant::now() + Duration::from_millis(200));
        leds.chain(commands).chain(poll).min()
    }

    fn fire(&mut self, signal: Signal, now: Instant) {
        // A new verdict's light replaces the last one's.
        let led = self.hooks.led(signal).map(str::to_owned);
        for (path, _) in std::mem::take(&mut self.lit) {
            if Some(&path) != led.as_ref() {
                self.write(&path, "0");
            }
        }
        if let Some(path) = led {
            let on = self.hooks.led_on.clone();
            if self.write(&path, &on) {
                self.lit.push((path, now + self.hooks.led_time));
            }
        }
        let vibrate = self.hooks.vibrate.as_ref().filter(|v| v.on.contains(&signal));
        match vibrate.map(|v| v.hook.clone()) {
            Some(Hook::Write { path, value }) => {
                self.write(&path, &value);
            }
            Some(Hook::Run { program, args }) => self.run(&program, &args, now),
            None => {}
        }
    }

    /// Turns off the LEDs whose time is up, reaps finished commands and stops overdue ones.
    fn tick(&mut self, now: Instant) {
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.lit)
            .into_iter()
            .partition(|(_, at)| *at <= now);
        self.lit = keep;
        for (path, _) in due {
            self.write(&path, "0");
        }
        self.running.retain_mut(|(child, until)| match child.try_wait() {
            Ok(Some(_)) | Err(_) => false,
            Ok(None) if *until <= now => {
                let _ = child.kill();
                let _ = child.wait();
                false
            }
            Ok(None) => true,
        });
    }

    /// Turns every lit LED off (the thread is ending).
    fn close(&mut self) {
        for (path, _) in std::mem::take(&mut self.lit) {
            self.write(&path, "0");
        }
    }

    /// Writes `value` to an existing file without blocking; logs the first failure per file.
    fn write(&mut self, path: &str, value: &str) -> bool {
        let written = OpenOptions::new()
            .write(true)
            .truncate(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .and_then(|mut f| f.write_all(value.as_bytes()));
        match written {
            Ok(()) => true,
            Err(e) => {
                self.report(path, &format!("feedback hook: cannot write {value:?} to {path}: {e}"));
                false
            }
        }
    }

    fn run(&mut self, program: &str, args: &[String], now: Instant) {
        let spawned = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => self.running.push((child, now + COMMAND_TIMEOUT)),
            Err(e) => self.report(program, &format!("feedback hook: cannot run {program}: {e}")),
        }
    }

    fn report(&mut self, key: &str, line: &str) {
        if self.reported.insert(key.to_owned()) {
            (self.log)(&format!("{line} (logged once; ignored)"));
        }
    }
}

/// The default ALSA output through rodio (cpal), which converts the sounds to whatever rate,
/// channels and sample format the device takes.
pub fn open_alsa(volume: f32) -> Result<Box<dyn Speaker>, SoundError> {
    quiet_alsa_errors();
    let failed: Arc<Mutex<Option<String>>> = Arc::default();
    let on_error = {
        let failed = failed.clone();
        move |e: rodio::cpal::Error| {
            if let Ok(mut f) = failed.lock() {
                f.get_or_insert_with(|| e.to_string());
            }
        }
    };
    let mut sink = rodio::DeviceSinkBuilder::from_default_device()
        .map_err(SoundError::Open)?
        .with_error_callback(on_error)
        .open_sink_or_fallback()
        .map_err(SoundError::Open)?;
    sink.log_on_drop(false);
    Ok(Box::new(AlsaSpeaker {
        sink,
        playing: None,
        volume,
        failed,
    }))
}

/// Keeps alsa-lib's own messages ("ALSA lib confmisc.c:855:(parse_card) cannot find card '0'"
/// and the like, several per failed open) off stderr for this thread: the failure reaches the
/// log once, as our line, with the error cpal returns.
fn quiet_alsa_errors() {
    unsafe extern "C" fn ignore(
        _file: *const std::ffi::c_char,
        _line: std::ffi::c_int,
        _func: *const std::ffi::c_char,
        _err: std::ffi::c_int,
        _fmt: *const std::ffi::c_char,
        _args: *mut alsa_sys::__va_list_tag,
    ) {
    }
    // SAFETY: sets alsa-lib's thread-local error handler (alsa-lib >= 1.1.6), a plain function
    // pointer taking fixed arguments (the `va_list` is passed as one pointer), which ignores them.
    unsafe {
        alsa_sys::snd_lib_error_set_local(Some(ignore));
    }
}

struct AlsaSpeaker {
    sink: rodio::MixerDeviceSink,
    /// The sound playing (dropping it stops it).
    playing: Option<rodio::Player>,
    volume: f32,
    /// The stream's first error, set by its callback.
    failed: Arc<Mutex<Option<String>>>,
}

impl Speaker for AlsaSpeaker {
    fn play(&mut self, signal: Signal) -> Result<(), SoundError> {
        if let Some(e) = self.failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(SoundError::Stream(e));
        }
        let source = rodio::Decoder::new(Cursor::new(sound(signal))).map_err(SoundError::Decode)?;
        let player = rodio::Player::connect_new(self.sink.mixer());
        player.set_volume(self.volume);
        player.append(source);
        self.playing = Some(player);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::profile::Vibrate;

    /// A log that keeps its lines.
    fn captured() -> (Log, Arc<Mutex<Vec<String>>>) {
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let keep = lines.clone();
        (Arc::new(move |l: &str| keep.lock().unwrap().push(l.to_owned())), lines)
    }

    fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !ok() {
            assert!(t0.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn read(p: &std::path::Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    fn no_speaker() -> Opener {
        Box::new(|| Err(SoundError::Unavailable("no sound card in this test")))
    }

    /// The fields of a canonical 44-byte WAV header: format, channels, rate, bits, data bytes.
    fn header(wav: &[u8]) -> (u16, u16, u32, u16, u32) {
        let u16_at = |i: usize| u16::from_le_bytes([wav[i], wav[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([wav[i], wav[i + 1], wav[i + 2], wav[i + 3]]);
        assert_eq!(
            (&wav[0..4], &wav[8..16], &wav[36..40]),
            (&b"RIFF"[..], &b"WAVEfmt "[..], &b"data"[..])
        );
        (u16_at(20), u16_at(22), u32_at(24), u16_at(34), u32_at(40))
    }

    #[test]
    fn the_sounds_are_short_distinct_16_bit_mono_pcm() {
        use rodio::Source;
        let mut seen = Vec::new();
        for (signal, hz) in [
            (Signal::Accept, 1800.0),
            (Signal::Warn, 1000.0),
            (Signal::Reject, 350.0),
        ] {
            let wav = sound(signal);
            let (format, channels, rate, bits, data) = header(wav);
            assert_eq!((format, channels, bits), (1, 1, 16), "{signal}: 16-bit mono PCM");
            assert_eq!(data as usize, wav.len() - 44, "{signal}: one data chunk");
            let ms = u64::from(data / 2) * 1000 / u64::from(rate);
            assert!((50..=300).contains(&ms), "{signal}: {ms} ms");
            assert!(wav.len() < 16 * 1024, "{signal}: {} bytes", wav.len());

            // It decodes as the player decodes it ...
            let d = rodio::Decoder::new(Cursor::new(wav)).unwrap();
            assert_eq!((d.channels().get(), d.sample_rate().get()), (1, rate));
            let samples: Vec<f32> = d.collect();
            assert_eq!(samples.len() as u32, data / 2);
            let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
            assert!((0.3..0.9).contains(&peak), "{signal}: peak {peak}");
            // ... and its pitch is its own: rising zero crossings per second of sound.
            let sounding: Vec<f32> = samples.into_iter().filter(|s| s.abs() > 1e-3).collect();
            let rising = sounding.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
            let pitch = rising as f64 * f64::from(rate) / sounding.len() as f64;
            assert!((pitch - hz).abs() < hz * 0.1, "{signal}: about {pitch:.0} Hz, not {hz}");
            seen.push((ms, pitch as u32));
        }
        // Told apart by ear: pitches far apart, and no two the same length.
        assert!(seen[0].1 > seen[1].1 * 3 / 2 && seen[1].1 > seen[2].1 * 2, "{seen:?}");
        assert!(seen[0].0 < seen[1].0 && seen[1].0 < seen[2].0, "{seen:?}");
        // The warning is two beeps: a silent stretch in its middle.
        let warn: Vec<f32> = rodio::Decoder::new(Cursor::new(WARN_WAV)).unwrap().collect();
        let mid = &warn[warn.len() / 2 - 200..warn.len() / 2 + 200];
        assert!(mid.iter().all(|s| s.abs() < 1e-3), "warn: a gap between its beeps");
    }

    #[test]
    fn a_verdict_is_its_signal() {
        assert_eq!(Signal::from(&Verdict::Accept), Signal::Accept);
        assert_eq!(Signal::from(&Verdict::Warn(vec![])), Signal::Warn);
        assert_eq!(Signal::from(&Verdict::Reject(vec![])), Signal::Reject);
        assert!(
            Signal::Accept < Signal::Warn && Signal::Warn < Signal::Reject,
            "gravity order"
        );
    }

    #[test]
    fn without_an_audio_device_it_logs_one_line_and_never_waits() {
        let (log, lines) = captured();
        let opened = Arc::new(Mutex::new(0));
        let count = opened.clone();
        let open: Opener = Box::new(move || {
            *count.lock().unwrap() += 1;
            Err(SoundError::Unavailable("no sound card in this test"))
        });
        let fb = Feedback::start_with(FeedbackOptions::default(), open, log);
        assert!(fb.is_on());
        let t0 = Instant::now();
        for i in 0..300 {
            fb.signal([Signal::Accept, Signal::Warn, Signal::Reject][i % 3]);
        }
        assert!(
            t0.elapsed() < Duration::from_millis(50),
            "signal() returns at once: {:?}",
            t0.elapsed()
        );
        assert!(
            fb.close(Duration::from_secs(5)),
            "the thread ends when the service is dropped"
        );
        assert_eq!(*opened.lock().unwrap(), 1, "opened once, not per signal");
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("no sound card in this test") && lines[0].contains("sounds are off"),
            "{lines:?}"
        );
    }

    #[test]
    fn the_real_output_opens_or_says_why_once() {
        // On this machine's ALSA: a sound card plays silence (volume 0), none gives one line.
        let (log, lines) = captured();
        let fb = Feedback::start_with(FeedbackOptions::default(), Box::new(|| open_alsa(0.0)), log);
        let t0 = Instant::now();
        for s in [Signal::Accept, Signal::Warn, Signal::Reject, Signal::Accept] {
            fb.signal(s);
        }
        assert!(t0.elapsed() < Duration::from_millis(50));
        assert!(fb.close(Duration::from_secs(10)));
        let lines = lines.lock().unwrap();
        assert!(lines.len() <= 1, "{lines:?}");
        if let Some(l) = lines.first() {
            assert!(l.starts_with("no audio output could be opened"), "{l}");
        }
    }

    #[test]
    fn muted_without_hooks_runs_no_thread() {
        let opts = FeedbackOptions {
            sound: false,
            ..Default::default()
        };
        let fb = Feedback::start_with(opts, no_speaker(), stderr_log());
        assert!(!fb.is_on());
        fb.signal(Signal::Reject);
        assert!(!Feedback::off().is_on());
    }

    /// A speaker that records what it plays; its first play waits for `gate`.
    struct Recorder {
        played: Arc<Mutex<Vec<Signal>>>,
        gate: Option<mpsc::Receiver<()>>,
        fail_after: Option<usize>,
    }

    impl Speaker for Recorder {
        fn play(&mut self, signal: Signal) -> Result<(), SoundError> {
            if let Some(gate) = self.gate.take() {
                let _ = gate.recv();
            }
            let mut played = self.played.lock().unwrap();
            if self.fail_after == Some(played.len()) {
                return Err(SoundError::Stream("unplugged".into()));
            }
            played.push(signal);
            Ok(())
        }
    }

    #[test]
    fn a_burst_plays_once_the_gravest_waiting() {
        let played: Arc<Mutex<Vec<Signal>>> = Arc::default();
        let (release, gate) = mpsc::channel();
        let mut gate = Some(gate);
        let p = played.clone();
        let open: Opener = Box::new(move || {
            Ok(Box::new(Recorder {
                played: p.clone(),
                gate: gate.take(),
                fail_after: None,
            }))
        });
        let fb = Feedback::start_with(FeedbackOptions::default(), open, stderr_log());
        fb.signal(Signal::Accept);
        // While the first plays, a burst queues up.
        std::thread::sleep(Duration::from_millis(20));
        for s in [Signal::Accept, Signal::Reject, Signal::Warn, Signal::Accept] {
            fb.signal(s);
        }
        release.send(()).unwrap();
        assert!(fb.close(Duration::from_secs(5)));
        assert_eq!(*played.lock().unwrap(), [Signal::Accept, Signal::Reject]);
    }

    #[test]
    fn a_failed_output_is_opened_again_once() {
        let played: Arc<Mutex<Vec<Signal>>> = Arc::default();
        let opened = Arc::new(Mutex::new(0));
        let (p, n) = (played.clone(), opened.clone());
        let open: Opener = Box::new(move || {
            let mut n = n.lock().unwrap();
            *n += 1;
            match *n {
                // The first output fails after one sound; the second works; no third is tried.
                1 => Ok(Box::new(Recorder {
                    played: p.clone(),
                    gate: None,
                    fail_after: Some(1),
                })),
                2 => Ok(Box::new(Recorder {
                    played: p.clone(),
                    gate: None,
                    fail_after: Some(3),
                })),
                _ => Err(SoundError::Unavailable("gone")),
            }
        });
        let (log, lines) = captured();
        let fb = Feedback::start_with(FeedbackOptions::default(), open, log);
        for s in [
            Signal::Accept,
            Signal::Warn,
            Signal::Reject,
            Signal::Accept,
            Signal::Warn,
        ] {
            fb.signal(s);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(fb.close(Duration::from_secs(5)));
        assert_eq!(*played.lock().unwrap(), [Signal::Accept, Signal::Warn, Signal::Reject]);
        assert_eq!(*opened.lock().unwrap(), 3);
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("unplugged"), "{lines:?}");
    }

    fn hooks_in(dir: &std::path::Path) -> FeedbackHooks {
        for f in ["green", "amber", "red", "vibrator"] {
            std::fs::write(dir.join(f), "0").unwrap();
        }
        let path = |f: &str| Some(dir.join(f).to_string_lossy().into_owned());
        FeedbackHooks {
            led_accept: path("green"),
            led_warn: path("amber"),
            led_reject: path("red"),
            led_on: "255".into(),
            led_time: Duration::from_millis(150),
            vibrate: Some(Vibrate {
                hook: Hook::Write {
                    path: path("vibrator").unwrap(),
                    value: "1".into(),
                },
                on: vec![Signal::Warn, Signal::Reject],
            }),
        }
    }

    #[test]
    fn the_hooks_light_an_led_per_verdict_and_vibrate_on_warn_and_reject() {
        let dir = tempfile::tempdir().unwrap();
        let (green, amber, red, vibrator) = (
            dir.path().join("green"),
            dir.path().join("amber"),
            dir.path().join("red"),
            dir.path().join("vibrator"),
        );
        let opts = FeedbackOptions {
            sound: false,
            volume: 1.0,
            hooks: hooks_in(dir.path()),
        };
        let (log, lines) = captured();
        let fb = Feedback::start_with(opts, no_speaker(), log);
        assert!(fb.is_on(), "hooks run even when muted");

        fb.signal(Signal::Reject);
        wait_for("the red LED", || read(&red) == "255");
        assert_eq!(read(&vibrator), "1", "a reject vibrates");
        wait_for("the red LED to go off after led_ms", || read(&red) == "0");

        std::fs::write(&vibrator, "0").unwrap();
        fb.signal(Signal::Accept);
        wait_for("the green LED", || read(&green) == "255");
        // A warning while green is lit: green goes off at once, amber on, and it vibrates.
        fb.signal(Signal::Warn);
        wait_for("the amber LED", || read(&amber) == "255");
        assert_eq!(read(&green), "0");
        assert_eq!(read(&vibrator), "1", "the accept did not vibrate, the warning did");
        // Closing turns the lit LED off.
        assert!(fb.close(Duration::from_secs(5)));
        assert_eq!(
            (read(&green), read(&amber), read(&red)),
            ("0".into(), "0".into(), "0".into())
        );
        assert!(lines.lock().unwrap().is_empty(), "{:?}", lines.lock().unwrap());
    }

    #[test]
    fn a_command_hook_runs_per_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("buzzed");
        let hooks = FeedbackHooks {
            vibrate: Some(Vibrate {
                hook: Hook::Run {
                    program: "/bin/sh".into(),
                    args: vec!["-c".into(), format!("echo buzz >> '{}'", out.display())],
                },
                on: vec![Signal::Reject],
            }),
            ..Default::default()
        };
        let opts = FeedbackOptions {
            sound: false,
            volume: 1.0,
            hooks,
        };
        let fb = Feedback::start_with(opts, no_speaker(), stderr_log());
        fb.signal(Signal::Reject);
        wait_for("the first buzz", || read(&out) == "buzz\n");
        fb.signal(Signal::Accept);
        fb.signal(Signal::Reject);
        wait_for("the second buzz", || read(&out) == "buzz\nbuzz\n");
        assert!(fb.close(Duration::from_secs(5)));
    }

    #[test]
    fn a_failing_hook_is_logged_once_and_the_others_still_fire() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let mut hooks = hooks_in(dir.path());
        // Not there (never created) ...
        hooks.led_accept = Some(dir.path().join("no-such-led").to_string_lossy().into_owned());
        // ... a FIFO nobody reads (a failure, not a hang) ...
        hooks.led_warn = Some(fifo.to_string_lossy().into_owned());
        // ... and a program that does not exist.
        hooks.vibrate = Some(Vibrate {
            hook: Hook::Run {
                program: "/nonexistent/lotline-vibrate".into(),
                args: vec![],
            },
            on: vec![Signal::Accept, Signal::Warn, Signal::Reject],
        });
        let red = dir.path().join("red");
        let opts = FeedbackOptions {
            sound: false,
            volume: 1.0,
            hooks,
        };
        let (log, lines) = captured();
        let fb = Feedback::start_with(opts, no_speaker(), log);
        for _ in 0..3 {
            for s in [Signal::Accept, Signal::Warn] {
                fb.signal(s);
                std::thread::sleep(Duration::from_millis(10));
            }
            std::fs::write(&red, "0").unwrap();
            fb.signal(Signal::Reject);
            wait_for("the red LED", || read(&red) == "255");
        }
        assert!(fb.close(Duration::from_secs(5)));
        assert!(!dir.path().join("no-such-led").exists(), "a hook never creates a file");
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 3, "once per failing hook: {lines:#?}");
        for what in ["no-such-led", "fifo", "/nonexistent/lotline-vibrate"] {
            assert!(lines.iter().any(|l| l.contains(what)), "{what}: {lines:#?}");
        }
    }
}
