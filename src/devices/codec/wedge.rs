//! Keyboard-wedge scanners: evdev key events (type, code, value) back to the bytes the scanner
//! typed, for the keyboard layout the *scanner emulates* (keycode + Shift / AltGr → character);
//! and the inverse, the events a scanner emulating a layout sends for a text (tests, simulator).
//!
//! Sources of the facts:
//! - key codes: `torvalds/linux` `include/uapi/linux/input-event-codes.h` (KEY_1 = 2 … KEY_0 = 11,
//!   KEY_Q = 16, KEY_RIGHTBRACE = 27, KEY_ENTER = 28, KEY_LEFTCTRL = 29, KEY_LEFTSHIFT = 42,
//!   KEY_RIGHTSHIFT = 54, KEY_LEFTALT = 56, KEY_CAPSLOCK = 58, KEY_KP7 = 71 … KEY_KP0 = 82,
//!   KEY_102ND = 86, KEY_KPENTER = 96, KEY_RIGHTCTRL = 97, KEY_RIGHTALT = 100); EV_SYN = 0,
//!   EV_KEY = 1, EV_MSC = 4; value 1 press, 0 release, 2 autorepeat;
//! - protocols.md §3/§4: control characters are sent as Ctrl+key (Datalogic "Control Character"
//!   table), GS = Ctrl+] = KEY_LEFTCTRL + KEY_RIGHTBRACE on US; Enter / KP Enter end a scan;
//!   AZERTY digits need Shift (`bhima#6436`, `barcode-to-pc-server#166`); some scanners send
//!   keypad key codes (`markusressel/barcode-server#73`, `barcode_server/keyevent_reader.py`);
//! - the layouts (US, UK, German QWERTZ, French AZERTY) are the standard PC layouts as Windows
//!   and XKB define them; written from knowledge of those layouts, not from a file in the corpus.
//!
//! Decisions:
//! - **Control characters.** Ctrl + a letter gives that letter's control character, the letter
//!   taken from the layout (Ctrl+M = CR; on AZERTY Ctrl+KEY_Q = Ctrl+A = 0x01). Ctrl + the key at
//!   the US `[` `\` `]` positions (KEY_LEFTBRACE, KEY_BACKSLASH, KEY_RIGHTBRACE) gives ESC, FS, GS
//!   on every layout (the Windows convention: Ctrl++ on German, Ctrl+$ on French is GS); Ctrl +
//!   a key that types `@ [ \ ] ^ _` or space in the layout gives NUL…US as on a terminal (so
//!   Ctrl+AltGr+9 on German, Ctrl+`]`, is GS as well); Ctrl + digit keys 2-7 give NUL, ESC, FS,
//!   GS, RS, US (the VT220 / xterm convention, Ctrl+5 = GS). Ctrl + Left Alt is AltGr (Windows).
//! - **Alt codes.** Left Alt held + keypad digits + Alt released types that character code
//!   ("emulate keypad" mode, layout independent); codes 0-127 only, higher codes count as unknown.
//! - **Keypad.** KP digits and operators type their character whatever the NumLock state.
//! - **Dead keys** (German `^` `´` `` ` ``, French `^` `¨`): the key is held back; a following
//!   space is swallowed (the dead key + space that types the character itself on Windows), any
//!   other key types the dead character and then itself (no composition: barcode data is ASCII).
//!   The encoder sends dead key + space.
//! - **Unknown keys** (no mapping under the held modifiers, Alt + a non-keypad key, function
//!   keys) are skipped and counted; a scan that had any ends as `Dropped`, because a barcode with a
//!   character missing must not be taken as a valid scan. Modifiers and lock keys are not counted.
//! - **Timing.** A gap of `timeout` or more between key events while a scan is in progress drops
//!   the partial scan (a human typing on a keyboard that shares the node, not a scanner);
//!   [`WedgeDecoder::tick`] does the same when no key comes at all. Autorepeats are ignored.
//! - Non-ASCII characters (`£`, `ß`, `é`…) are output as UTF-8.

use std::time::{Duration, Instant};

pub const EV_SYN: u16 = 0;
pub const EV_KEY: u16 = 1;
pub const EV_MSC: u16 = 4;

pub const KEY_ESC: u16 = 1;
pub const KEY_1: u16 = 2;
pub const KEY_2: u16 = 3;
pub const KEY_3: u16 = 4;
pub const KEY_4: u16 = 5;
pub const KEY_5: u16 = 6;
pub const KEY_6: u16 = 7;
pub const KEY_7: u16 = 8;
pub const KEY_0: u16 = 11;
pub const KEY_BACKSPACE: u16 = 14;
pub const KEY_TAB: u16 = 15;
pub const KEY_Q: u16 = 16;
pub const KEY_LEFTBRACE: u16 = 26;
pub const KEY_RIGHTBRACE: u16 = 27;
pub const KEY_ENTER: u16 = 28;
pub const KEY_LEFTCTRL: u16 = 29;
pub const KEY_A: u16 = 30;
pub const KEY_GRAVE: u16 = 41;
pub const KEY_LEFTSHIFT: u16 = 42;
pub const KEY_BACKSLASH: u16 = 43;
pub const KEY_Z: u16 = 44;
pub const KEY_M: u16 = 50;
pub const KEY_RIGHTSHIFT: u16 = 54;
pub const KEY_KPASTERISK: u16 = 55;
pub const KEY_LEFTALT: u16 = 56;
pub const KEY_SPACE: u16 = 57;
pub const KEY_CAPSLOCK: u16 = 58;
pub const KEY_NUMLOCK: u16 = 69;
pub const KEY_SCROLLLOCK: u16 = 70;
pub const KEY_KP7: u16 = 71;
pub const KEY_KP8: u16 = 72;
pub const KEY_KP9: u16 = 73;
pub const KEY_KPMINUS: u16 = 74;
pub const KEY_KP4: u16 = 75;
pub const KEY_KP5: u16 = 76;
pub const KEY_KP6: u16 = 77;
pub const KEY_KPPLUS: u16 = 78;
pub const KEY_KP1: u16 = 79;
pub const KEY_KP2: u16 = 80;
pub const KEY_KP3: u16 = 81;
pub const KEY_KP0: u16 = 82;
pub const KEY_KPDOT: u16 = 83;
pub const KEY_102ND: u16 = 86;
pub const KEY_KPENTER: u16 = 96;
pub const KEY_RIGHTCTRL: u16 = 97;
pub const KEY_KPSLASH: u16 = 98;
pub const KEY_RIGHTALT: u16 = 100;
pub const KEY_KPEQUAL: u16 = 117;
pub const KEY_KPCOMMA: u16 = 121;
pub const KEY_LEFTMETA: u16 = 125;
pub const KEY_RIGHTMETA: u16 = 126;

/// The keyboard layout a scanner emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// US English (QWERTY).
    Us,
    /// UK English (QWERTY, ISO: `"` on Shift+2, `@` on Shift+', `#` beside Enter, `\` left of Z).
    Uk,
    /// German (QWERTZ).
    De,
    /// French (AZERTY).
    Fr,
}

impl Layout {
    pub const ALL: [Layout; 4] = [Layout::Us, Layout::Uk, Layout::De, Layout::Fr];

    /// `us`, `uk` (or `gb`), `de`, `fr`, any letter case.
    pub fn from_name(name: &str) -> Option<Layout> {
        match name.trim().to_ascii_lowercase().as_str() {
            "us" => Some(Layout::Us),
            "uk" | "gb" => Some(Layout::Uk),
            "de" => Some(Layout::De),
            "fr" => Some(Layout::Fr),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Layout::Us => "us",
            Layout::Uk => "uk",
            Layout::De => "de",
            Layout::Fr => "fr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Base,
    Shift,
    AltGr,
}

const N: char = '\0';

/// Non-letter keys: (code, [base, shift, altgr]), `N` = nothing. Letter keys appear only for an
/// AltGr character.
const US: &[(u16, [char; 3])] = &[
    (2, ['1', '!', N]),
    (3, ['2', '@', N]),
    (4, ['3', '#', N]),
    (5, ['4', '$', N]),
    (6, ['5', '%', N]),
    (7, ['6', '^', N]),
    (8, ['7', '&', N]),
    (9, ['8', '*', N]),
    (10, ['9', '(', N]),
    (11, ['0', ')', N]),
    (12, ['-', '_', N]),
    (13, ['=', '+', N]),
    (26, ['[', '{', N]),
    (27, [']', '}', N]),
    (39, [';', ':', N]),
    (40, ['\'', '"', N]),
    (41, ['`', '~', N]),
    (43, ['\\', '|', N]),
    (51, [',', '<', N]),
    (52, ['.', '>', N]),
    (53, ['/', '?', N]),
    (57, [' ', ' ', N]),
    (86, ['\\', '|', N]),
];

const UK: &[(u16, [char; 3])] = &[
    (2, ['1', '!', N]),
    (3, ['2', '"', N]),
    (4, ['3', '£', N]),
    (5, ['4', '$', '€']),
    (6, ['5', '%', N]),
    (7, ['6', '^', N]),
    (8, ['7', '&', N]),
    (9, ['8', '*', N]),
    (10, ['9', '(', N]),
    (11, ['0', ')', N]),
    (12, ['-', '_', N]),
    (13, ['=', '+', N]),
    (26, ['[', '{', N]),
    (27, [']', '}', N]),
    (39, [';', ':', N]),
    (40, ['\'', '@', N]),
    (41, ['`', '¬', '¦']),
    (43, ['#', '~', N]),
    (51, [',', '<', N]),
    (52, ['.', '>', N]),
    (53, ['/', '?', N]),
    (57, [' ', ' ', N]),
    (86, ['\\', '|', N]),
];

const DE: &[(u16, [char; 3])] = &[
    (2, ['1', '!', N]),
    (3, ['2', '"', '²']),
    (4, ['3', '§', '³']),
    (5, ['4', '$', N]),
    (6, ['5', '%', N]),
    (7, ['6', '&', N]),
    (8, ['7', '/', '{']),
    (9, ['8', '(', '[']),
    (10, ['9', ')', ']']),
    (11, ['0', '=', '}']),
    (12, ['ß', '?', '\\']),
    (13, ['´', '`', N]),
    (16, [N, N, '@']),
    (18, [N, N, '€']),
    (26, ['ü', 'Ü', N]),
    (27, ['+', '*', '~']),
    (39, ['ö', 'Ö', N]),
    (40, ['ä', 'Ä', N]),
    (41, ['^', '°', N]),
    (43, ['#', '\'', N]),
    (50, [N, N, 'µ']),
    (51, [',', ';', N]),
    (52, ['.', ':', N]),
    (53, ['-', '_', N]),
    (57, [' ', ' ', N]),
    (86, ['<', '>', '|']),
];

const FR: &[(u16, [char; 3])] = &[
    (2, ['&', '1', N]),
    (3, ['é', '2', '~']),
    (4, ['"', '3', '#']),
    (5, ['\'', '4', '{']),
    (6, ['(', '5', '[']),
    (7, ['-', '6', '|']),
    (8, ['è', '7', '`']),
    (9, ['_', '8', '\\']),
    (10, ['ç', '9', '^']),
    (11, ['à', '0', '@']),
    (12, [')', '°', ']']),
    (13, ['=', '+', '}']),
    (18, [N, N, '€']),
    (26, ['^', '¨', N]),
    (27, ['$', '£', '¤']),
    (40, ['ù', '%', N]),
    (41, ['²', N, N]),
    (43, ['*', 'µ', N]),
    (50, [',', '?', N]),
    (51, [';', '.', N]),
    (52, [':', '/', N]),
    (53, ['!', '§', N]),
    (57, [' ', ' ', N]),
    (86, ['<', '>', N]),
];

fn symbols(layout: Layout) -> &'static [(u16, [char; 3])] {
    match layout {
        Layout::Us => US,
        Layout::Uk => UK,
        Layout::De => DE,
        Layout::Fr => FR,
    }
}

/// Letter rows: (code of the first key, letters).
fn letter_rows(layout: Layout) -> [(u16, &'static str); 3] {
    match layout {
        Layout::Us | Layout::Uk => [(16, "qwertyuiop"), (30, "asdfghjkl"), (44, "zxcvbnm")],
        Layout::De => [(16, "qwertzuiop"), (30, "asdfghjkl"), (44, "yxcvbnm")],
        Layout::Fr => [(16, "azertyuiop"), (30, "qsdfghjklm"), (44, "wxcvbn")],
    }
}

/// Dead keys: (code, level).
fn dead_keys(layout: Layout) -> &'static [(u16, Level)] {
    match layout {
        Layout::De => &[(13, Level::Base), (13, Level::Shift), (41, Level::Base)],
        Layout::Fr => &[(26, Level::Base), (26, Level::Shift)],
        Layout::Us | Layout::Uk => &[],
    }
}

fn letter(layout: Layout, code: u16) -> Option<char> {
    letter_rows(layout).iter().find_map(|&(start, row)| {
        let i = usize::from(code.checked_sub(start)?);
        row.as_bytes().get(i).map(|&b| b as char)
    })
}

/// The character a key types at a level, and whether it is a dead key there.
fn key_char(layout: Layout, code: u16, level: Level) -> Option<(char, bool)> {
    let sym = symbols(layout).iter().find(|(c, _)| *c == code).map(|(_, chars)| chars);
    let from_sym = |i: usize| sym.map(|s| s[i]).filter(|&c| c != N);
    let ch = match (level, letter(layout, code)) {
        (Level::Base, Some(l)) => Some(l),
        (Level::Shift, Some(l)) => Some(l.to_ascii_uppercase()),
        (Level::Base, None) => from_sym(0),
        (Level::Shift, None) => from_sym(1),
        (Level::AltGr, _) => from_sym(2),
    }?;
    Some((ch, dead_keys(layout).contains(&(code, level))))
}

/// Whether Caps Lock acts on this key: its shifted character is its base character in capitals.
fn caps_applies(layout: Layout, code: u16) -> bool {
    match (
        key_char(layout, code, Level::Base),
        key_char(layout, code, Level::Shift),
    ) {
        (Some((b, _)), Some((s, _))) => b.is_alphabetic() && b.to_uppercase().eq(std::iter::once(s)),
        _ => false,
    }
}

/// Keypad keys: the character, whatever NumLock says.
fn keypad_char(layout: Layout, code: u16) -> Option<u8> {
    Some(match code {
        KEY_KP0 => b'0',
        KEY_KP1 => b'1',
        KEY_KP2 => b'2',
        KEY_KP3 => b'3',
        KEY_KP4 => b'4',
        KEY_KP5 => b'5',
        KEY_KP6 => b'6',
        KEY_KP7 => b'7',
        KEY_KP8 => b'8',
        KEY_KP9 => b'9',
        KEY_KPDOT if layout == Layout::De => b',',
        KEY_KPDOT => b'.',
        KEY_KPSLASH => b'/',
        KEY_KPASTERISK => b'*',
        KEY_KPMINUS => b'-',
        KEY_KPPLUS => b'+',
        KEY_KPEQUAL => b'=',
        KEY_KPCOMMA => b',',
        _ => return None,
    })
}

fn keypad_digit(code: u16) -> Option<u32> {
    match keypad_char(Layout::Us, code) {
        Some(c @ b'0'..=b'9') => Some(u32::from(c - b'0')),
        _ => None,
    }
}

/// The control character for Ctrl + key (see the module doc for the rules).
fn control_char(layout: Layout, code: u16, shift: bool, altgr: bool) -> Option<u8> {
    if !altgr {
        match code {
            KEY_LEFTBRACE => return Some(0x1B),
            KEY_BACKSLASH => return Some(0x1C),
            KEY_RIGHTBRACE => return Some(0x1D),
            KEY_SPACE => return Some(0x00),
            _ => {}
        }
    }
    let level = match (altgr, shift) {
        (true, true) => return None,
        (true, false) => Level::AltGr,
        (false, true) => Level::Shift,
        (false, false) => Level::Base,
    };
    if let Some((ch, _)) = key_char(layout, code, level) {
        if ch.is_ascii_alphabetic() {
            return Some(ch.to_ascii_uppercase() as u8 & 0x1F);
        }
        match ch {
            '@' => return Some(0x00),
            '[' => return Some(0x1B),
            '\\' => return Some(0x1C),
            ']' => return Some(0x1D),
            '^' => return Some(0x1E),
            '_' => return Some(0x1F),
            _ => {}
        }
    }
    if altgr {
        return None;
    }
    match code {
        KEY_2 => Some(0x00),
        KEY_3 => Some(0x1B),
        KEY_4 => Some(0x1C),
        KEY_5 => Some(0x1D),
        KEY_6 => Some(0x1E),
        KEY_7 => Some(0x1F),
        _ => None,
    }
}

/// What the decoder delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WedgeOut {
    /// A scan, ended by Enter: the typed characters, UTF-8.
    Scan(Vec<u8>),
    /// Keystrokes that were not taken as a scan (`chars` = keys that typed or failed to type a
    /// character): too slow (a human), an unmapped key in the scan, too long.
    Dropped { chars: usize, why: &'static str },
}

/// Decodes a keyboard-wedge scanner's evdev events.
#[derive(Debug, Clone)]
pub struct WedgeDecoder {
    layout: Layout,
    timeout: Duration,
    max_len: usize,
    buf: Vec<u8>,
    chars: usize,
    unknown: usize,
    overflow: bool,
    dead: Option<char>,
    alt_code: Option<u32>,
    last: Option<Instant>,
    lshift: bool,
    rshift: bool,
    lctrl: bool,
    rctrl: bool,
    lalt: bool,
    ralt: bool,
    caps: bool,
}

impl WedgeDecoder {
    /// Longest scan accepted by default (bytes).
    pub const DEFAULT_MAX_LEN: usize = 8192;

    /// A decoder for a scanner emulating `layout`; a pause of `timeout` between keys ends a scan
    /// attempt (scanners type a key every few ms; 30-80 ms is a sensible value).
    pub fn new(layout: Layout, timeout: Duration) -> Self {
        WedgeDecoder {
            layout,
            timeout,
            max_len: Self::DEFAULT_MAX_LEN,
            buf: Vec::new(),
            chars: 0,
            unknown: 0,
            overflow: false,
            dead: None,
            alt_code: None,
            last: None,
            lshift: false,
            rshift: false,
            lctrl: false,
            rctrl: false,
            lalt: false,
            ralt: false,
            caps: false,
        }
    }

    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn in_progress(&self) -> bool {
        !self.buf.is_empty() || self.chars > 0 || self.unknown > 0 || self.dead.is_some() || self.alt_code.is_some()
    }

    /// When a scan in progress is dropped if no key comes before (call [`WedgeDecoder::tick`]).
    pub fn deadline(&self) -> Option<Instant> {
        self.last.filter(|_| self.in_progress()).map(|l| l + self.timeout)
    }

    /// Takes one input event (`type`, `code`, `value` as evdev reports them) received at `now`.
    pub fn push(&mut self, ev_type: u16, code: u16, value: i32, now: Instant) -> Option<WedgeOut> {
        if ev_type != EV_KEY || !(value == 0 || value == 1) {
            return None;
        }
        let pressed = value == 1;
        let mut out = None;
        if self.deadline().is_some_and(|d| now >= d) {
            out = self.drop_partial("pause between keys longer than the key timeout (typed, not scanned)");
        }
        self.last = Some(now);
        match code {
            KEY_LEFTSHIFT => self.lshift = pressed,
            KEY_RIGHTSHIFT => self.rshift = pressed,
            KEY_LEFTCTRL => self.lctrl = pressed,
            KEY_RIGHTCTRL => self.rctrl = pressed,
            KEY_RIGHTALT => self.ralt = pressed,
            KEY_LEFTALT => {
                self.lalt = pressed;
                if pressed {
                    self.alt_code = None;
                } else if let Some(v) = self.alt_code.take() {
                    match u8::try_from(v) {
                        Ok(b) if b.is_ascii() => self.put(char::from(b)),
                        _ => self.unknown += 1,
                    }
                }
            }
            KEY_CAPSLOCK => self.caps ^= pressed,
            KEY_NUMLOCK | KEY_SCROLLLOCK | KEY_LEFTMETA | KEY_RIGHTMETA => {}
            _ if !pressed => {}
            KEY_ENTER | KEY_KPENTER => {
                if let Some(done) = self.finish() {
                    out = Some(done);
                }
            }
            _ => self.key(code),
        }
        out
    }

    /// Drops a scan in progress whose last key is `timeout` or more ago.
    pub fn tick(&mut self, now: Instant) -> Option<WedgeOut> {
        if self.deadline().is_some_and(|d| now >= d) {
            return self.drop_partial("no Enter after the last key within the key timeout");
        }
        None
    }

    fn ctrl(&self) -> bool {
        self.lctrl || self.rctrl
    }

    fn key(&mut self, code: u16) {
        let ctrl = self.ctrl();
        // Left Alt without Ctrl: Alt + keypad digits is an Alt code; Alt + anything else is a
        // shortcut, not text.
        if self.lalt && !ctrl && !self.ralt {
            match keypad_digit(code) {
                Some(d) => self.alt_code = Some((self.alt_code.unwrap_or(0) * 10 + d).min(99_999)),
                None => self.unknown_key(),
            }
            return;
        }
        // Ctrl + Left Alt is AltGr (Windows); Ctrl with Right Alt is Ctrl + an AltGr character.
        let altgr = self.ralt || (ctrl && self.lalt);
        let real_ctrl = ctrl && (self.ralt || !self.lalt);
        let shift = self.lshift || self.rshift;
        if real_ctrl {
            match control_char(self.layout, code, shift, altgr) {
                Some(c) => self.put(char::from(c)),
                None => self.unknown_key(),
            }
            return;
        }
        match code {
            KEY_TAB => return self.put('\t'),
            KEY_ESC => return self.put('\x1b'),
            _ => {}
        }
        if let Some(c) = keypad_char(self.layout, code) {
            return self.put(char::from(c));
        }
        let level = if altgr {
            if shift {
                return self.unknown_key();
            }
            Level::AltGr
        } else if shift != (self.caps && caps_applies(self.layout, code)) {
            Level::Shift
        } else {
            Level::Base
        };
        match key_char(self.layout, code, level) {
            None => self.unknown_key(),
            Some((ch, dead)) => {
                if ch == ' '
                    && !dead
                    && let Some(d) = self.dead.take()
                {
                    // Dead key + space types the dead key's own character.
                    return self.put(d);
                }
                if dead {
                    self.flush_dead();
                    self.dead = Some(ch);
                } else {
                    self.put(ch);
                }
            }
        }
    }

    fn flush_dead(&mut self) {
        if let Some(d) = self.dead.take() {
            self.put(d);
        }
    }

    fn unknown_key(&mut self) {
        self.flush_dead();
        self.unknown += 1;
    }

    fn put(&mut self, c: char) {
        self.flush_dead();
        self.chars += 1;
        if self.overflow {
            return;
        }
        let mut tmp = [0u8; 4];
        let s = c.encode_utf8(&mut tmp);
        if self.buf.len() + s.len() > self.max_len {
            self.overflow = true;
            self.buf.clear();
        } else {
            self.buf.extend_from_slice(s.as_bytes());
        }
    }

    fn clear_scan(&mut self) {
        self.buf.clear();
        self.chars = 0;
        self.unknown = 0;
        self.overflow = false;
        self.dead = None;
        self.alt_code = None;
    }

    fn drop_partial(&mut self, why: &'static str) -> Option<WedgeOut> {
        if !self.in_progress() {
            return None;
        }
        let chars = self.chars + self.unknown + usize::from(self.dead.is_some()) + usize::from(self.alt_code.is_some());
        self.clear_scan();
        Some(WedgeOut::Dropped { chars, why })
    }

    fn finish(&mut self) -> Option<WedgeOut> {
        self.flush_dead();
        let out = if self.overflow {
            Some(WedgeOut::Dropped {
                chars: self.chars + self.unknown,
                why: "scan longer than the limit",
            })
        } else if self.unknown > 0 {
            Some(WedgeOut::Dropped {
                chars: self.chars + self.unknown,
                why: "a key in the scan has no character in the configured layout",
            })
        } else if self.buf.is_empty() {
            None
        } else {
            Some(WedgeOut::Scan(std::mem::take(&mut self.buf)))
        };
        self.clear_scan();
        out
    }

    /// Drops a scan in progress and forgets held modifiers and Caps Lock (after a reconnect).
    pub fn reset(&mut self) {
        self.clear_scan();
        self.last = None;
        self.lshift = false;
        self.rshift = false;
        self.lctrl = false;
        self.rctrl = false;
        self.lalt = false;
        self.ralt = false;
        self.caps = false;
    }
}

/// Keys (in the order they are searched by the encoder) that type characters.
const TYPING_KEYS: &[u16] = &[
    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33, 34, 35, 36,
    37, 38, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 57, 86,
];

/// One keystroke: modifiers held, the key, and whether a space follows (dead key).
struct Stroke {
    mods: &'static [u16],
    key: u16,
    space_after: bool,
}

fn stroke(layout: Layout, ch: char) -> Option<Stroke> {
    const CTRL: &[u16] = &[KEY_LEFTCTRL];
    let ctrl = |key| {
        Some(Stroke {
            mods: CTRL,
            key,
            space_after: false,
        })
    };
    match ch {
        '\t' => {
            return Some(Stroke {
                mods: &[],
                key: KEY_TAB,
                space_after: false,
            });
        }
        '\x00' => return ctrl(KEY_2),
        '\x1b' => return ctrl(KEY_LEFTBRACE),
        '\x1c' => return ctrl(KEY_BACKSLASH),
        '\x1d' => return ctrl(KEY_RIGHTBRACE),
        '\x1e' => return ctrl(KEY_6),
        '\x1f' => return ctrl(KEY_7),
        '\x01'..='\x1a' => {
            let l = char::from(ch as u8 + 0x60);
            let key = TYPING_KEYS.iter().copied().find(|&k| letter(layout, k) == Some(l))?;
            return ctrl(key);
        }
        _ => {}
    }
    for want_dead in [false, true] {
        for (level, mods) in [
            (Level::Base, &[][..]),
            (Level::Shift, &[KEY_LEFTSHIFT][..]),
            (Level::AltGr, &[KEY_RIGHTALT][..]),
        ] {
            for &key in TYPING_KEYS {
                if key_char(layout, key, level) == Some((ch, want_dead)) {
                    return Some(Stroke {
                        mods,
                        key,
                        space_after: want_dead,
                    });
                }
            }
        }
    }
    None
}

/// Whether a scanner emulating `layout` can type `ch` (control characters as Ctrl + key).
pub fn can_type(layout: Layout, ch: char) -> bool {
    stroke(layout, ch).is_some()
}

fn tap(ev: &mut Vec<(u16, u16, i32)>, key: u16) {
    ev.extend_from_slice(&[(EV_KEY, key, 1), (EV_SYN, 0, 0), (EV_KEY, key, 0), (EV_SYN, 0, 0)]);
}

/// The events a scanner emulating `layout` sends for `text` (UTF-8) followed by Enter: modifier
/// press, key press/release, modifier release, each followed by a SYN report. Characters the
/// layout cannot type are left out (see [`can_type`]).
pub fn key_events(layout: Layout, text: &[u8]) -> Vec<(u16, u16, i32)> {
    let mut ev = Vec::new();
    for ch in String::from_utf8_lossy(text).chars() {
        let Some(s) = stroke(layout, ch) else { continue };
        for &m in s.mods {
            ev.extend_from_slice(&[(EV_KEY, m, 1), (EV_SYN, 0, 0)]);
        }
        tap(&mut ev, s.key);
        for &m in s.mods.iter().rev() {
            ev.extend_from_slice(&[(EV_KEY, m, 0), (EV_SYN, 0, 0)]);
        }
        if s.space_after {
            tap(&mut ev, KEY_SPACE);
        }
    }
    tap(&mut ev, KEY_ENTER);
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(50);

    /// Feeds events 1 ms apart; returns what came out.
    fn decode(d: &mut WedgeDecoder, events: &[(u16, u16, i32)], t0: Instant) -> Vec<WedgeOut> {
        events
            .iter()
            .enumerate()
            .filter_map(|(i, &(t, c, v))| d.push(t, c, v, t0 + Duration::from_millis(i as u64)))
            .collect()
    }

    fn round_trip(layout: Layout, text: &[u8]) -> Vec<WedgeOut> {
        let mut d = WedgeDecoder::new(layout, T);
        decode(&mut d, &key_events(layout, text), Instant::now())
    }

    fn press(code: u16) -> [(u16, u16, i32); 2] {
        [(EV_KEY, code, 1), (EV_KEY, code, 0)]
    }

    #[test]
    fn layout_names() {
        for l in Layout::ALL {
            assert_eq!(Layout::from_name(l.name()), Some(l));
        }
        assert_eq!(Layout::from_name("GB"), Some(Layout::Uk));
        assert_eq!(Layout::from_name("dvorak"), None);
    }

    #[test]
    fn every_printable_ascii_round_trips_on_every_layout() {
        let all: Vec<u8> = (0x20u8..0x7F).collect();
        for layout in Layout::ALL {
            for &b in &all {
                assert!(can_type(layout, b as char), "{layout:?} cannot type {:?}", b as char);
            }
            assert_eq!(
                round_trip(layout, &all),
                vec![WedgeOut::Scan(all.clone())],
                "{layout:?}"
            );
            // Each character alone, and doubled (dead keys twice in a row).
            for &b in &all {
                let s = [b, b];
                assert_eq!(
                    round_trip(layout, &s),
                    vec![WedgeOut::Scan(s.to_vec())],
                    "{layout:?} {:?}",
                    b as char
                );
            }
        }
    }

    #[test]
    fn gs1_with_gs_and_control_chars_round_trip() {
        let gs1 = b"010950110153000317251231\x1d10LOT-42\x1d21SER/001";
        let ctl: Vec<u8> = (0u8..0x20).filter(|&c| c != b'\r').collect();
        for layout in Layout::ALL {
            assert_eq!(
                round_trip(layout, gs1),
                vec![WedgeOut::Scan(gs1.to_vec())],
                "{layout:?}"
            );
            assert_eq!(
                round_trip(layout, &ctl),
                vec![WedgeOut::Scan(ctl.clone())],
                "{layout:?}"
            );
            // CR inside the data is Ctrl+M (Enter would end the scan).
            assert_eq!(round_trip(layout, b"A\rB"), vec![WedgeOut::Scan(b"A\rB".to_vec())]);
        }
    }

    #[test]
    fn non_ascii_round_trips_as_utf8() {
        let cases: &[(Layout, &str)] = &[
            (Layout::Uk, "£5 ¬ ¦ €"),
            (Layout::De, "Straße ÄÖÜ äöü § ° µ ² ³ € ´"),
            (Layout::Fr, "é è ç à ù £ ¤ § µ ² ¨ €"),
        ];
        for (layout, s) in cases {
            assert_eq!(
                round_trip(*layout, s.as_bytes()),
                vec![WedgeOut::Scan(s.as_bytes().to_vec())],
                "{layout:?}"
            );
        }
        assert!(!can_type(Layout::Us, '£'));
        // What a layout cannot type is left out.
        assert_eq!(
            round_trip(Layout::Us, "a£b".as_bytes()),
            vec![WedgeOut::Scan(b"ab".to_vec())]
        );
    }

    #[test]
    fn ctrl_rightbrace_is_gs_on_every_layout() {
        for layout in Layout::ALL {
            let mut d = WedgeDecoder::new(layout, T);
            let mut ev = vec![(EV_KEY, KEY_1 + 1, 1), (EV_KEY, KEY_1 + 1, 0)]; // KEY_2
            ev.extend([
                (EV_KEY, KEY_RIGHTCTRL, 1),
                (EV_KEY, KEY_RIGHTBRACE, 1),
                (EV_KEY, KEY_RIGHTBRACE, 0),
            ]);
            ev.extend([(EV_KEY, KEY_RIGHTCTRL, 0)]);
            ev.extend(press(KEY_ENTER));
            let want: &[u8] = if layout == Layout::Fr {
                "é\x1d".as_bytes()
            } else {
                b"2\x1d"
            };
            assert_eq!(
                decode(&mut d, &ev, Instant::now()),
                vec![WedgeOut::Scan(want.to_vec())],
                "{layout:?}"
            );
        }
        // Other GS conventions: Ctrl+5 (VT220), Ctrl + AltGr + 9 on German (Ctrl + ']').
        let mut d = WedgeDecoder::new(Layout::Us, T);
        let ev = [
            (EV_KEY, KEY_LEFTCTRL, 1),
            (EV_KEY, KEY_5, 1),
            (EV_KEY, KEY_5, 0),
            (EV_KEY, KEY_LEFTCTRL, 0),
        ];
        let mut ev = ev.to_vec();
        ev.extend(press(KEY_ENTER));
        assert_eq!(decode(&mut d, &ev, Instant::now()), vec![WedgeOut::Scan(vec![0x1D])]);
        let mut d = WedgeDecoder::new(Layout::De, T);
        let mut ev = vec![
            (EV_KEY, KEY_LEFTCTRL, 1),
            (EV_KEY, KEY_RIGHTALT, 1),
            (EV_KEY, 10, 1),
            (EV_KEY, 10, 0),
        ];
        ev.extend([(EV_KEY, KEY_RIGHTALT, 0), (EV_KEY, KEY_LEFTCTRL, 0)]);
        // Ctrl + Left Alt + 9 is AltGr + 9 = ']' (Windows AltGr emulation), not GS.
        ev.extend([
            (EV_KEY, KEY_LEFTCTRL, 1),
            (EV_KEY, KEY_LEFTALT, 1),
            (EV_KEY, 10, 1),
            (EV_KEY, 10, 0),
        ]);
        ev.extend([(EV_KEY, KEY_LEFTALT, 0), (EV_KEY, KEY_LEFTCTRL, 0)]);
        ev.extend(press(KEY_ENTER));
        assert_eq!(
            decode(&mut d, &ev, Instant::now()),
            vec![WedgeOut::Scan(b"\x1d]".to_vec())]
        );
    }

    #[test]
    fn shifted_symbols_caps_and_azerty_digits() {
        type Case<'a> = (Layout, &'a [(u16, u16, i32)], &'a [u8]);
        let cases: &[Case] = &[
            // US: Shift+4 = '$', Shift+/ = '?'
            (
                Layout::Us,
                &[
                    (1, 42, 1),
                    (1, 5, 1),
                    (1, 5, 0),
                    (1, 53, 1),
                    (1, 53, 0),
                    (1, 42, 0),
                    (1, 28, 1),
                    (1, 28, 0),
                ],
                b"$?",
            ),
            // UK: Shift+2 = '"', Shift+' = '@', '#' beside Enter
            (
                Layout::Uk,
                &[
                    (1, 54, 1),
                    (1, 3, 1),
                    (1, 3, 0),
                    (1, 40, 1),
                    (1, 40, 0),
                    (1, 54, 0),
                    (1, 43, 1),
                    (1, 28, 1),
                ],
                b"\"@#",
            ),
            // FR: digits need Shift; unshifted KEY_1 is '&'
            (
                Layout::Fr,
                &[(1, 42, 1), (1, 2, 1), (1, 11, 1), (1, 42, 0), (1, 2, 1), (1, 28, 1)],
                b"10&",
            ),
            // DE: Y and Z swapped; Shift+7 = '/'
            (
                Layout::De,
                &[(1, 21, 1), (1, 44, 1), (1, 42, 1), (1, 8, 1), (1, 42, 0), (1, 28, 1)],
                b"zy/",
            ),
            // Caps Lock: letters upper, Shift inverts, digits untouched
            (
                Layout::Us,
                &[
                    (1, 58, 1),
                    (1, 58, 0),
                    (1, 30, 1),
                    (1, 42, 1),
                    (1, 48, 1),
                    (1, 42, 0),
                    (1, 2, 1),
                    (1, 28, 1),
                ],
                b"Ab1",
            ),
            // Keypad digits, KP Enter ends the scan
            (
                Layout::Fr,
                &[(1, 82, 1), (1, 79, 1), (1, 81, 1), (1, 83, 1), (1, 96, 1)],
                b"013.",
            ),
            // Alt + keypad codes: Alt+0 2 9 = GS, Alt+6 5 = 'A'
            (
                Layout::De,
                &[
                    (1, 56, 1),
                    (1, 82, 1),
                    (1, 80, 1),
                    (1, 73, 1),
                    (1, 56, 0),
                    (1, 56, 1),
                    (1, 77, 1),
                    (1, 76, 1),
                    (1, 56, 0),
                    (1, 28, 1),
                ],
                b"\x1dA",
            ),
            // SYN / MSC events and autorepeat are ignored
            (
                Layout::Us,
                &[
                    (4, 4, 0x70004),
                    (1, 30, 1),
                    (0, 0, 0),
                    (1, 30, 2),
                    (1, 30, 2),
                    (1, 30, 0),
                    (1, 28, 1),
                ],
                b"a",
            ),
        ];
        for (layout, ev, want) in cases {
            let mut d = WedgeDecoder::new(*layout, T);
            assert_eq!(
                decode(&mut d, ev, Instant::now()),
                vec![WedgeOut::Scan(want.to_vec())],
                "{layout:?} {want:?}"
            );
        }
    }

    #[test]
    fn dead_keys() {
        // German '^' as dead key + space, and as a scanner that sends the dead key alone.
        let mut d = WedgeDecoder::new(Layout::De, T);
        let ev = [
            (1, 41, 1),
            (1, 41, 0),
            (1, 57, 1),
            (1, 57, 0),
            (1, 41, 1),
            (1, 30, 1),
            (1, 41, 1),
            (1, 28, 1),
        ];
        assert_eq!(
            decode(&mut d, &ev, Instant::now()),
            vec![WedgeOut::Scan(b"^^a^".to_vec())]
        );
    }

    #[test]
    fn slow_typist_dropped() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut d = WedgeDecoder::new(Layout::Us, T);
        assert_eq!(d.push(EV_KEY, KEY_A, 1, ms(0)), None);
        assert_eq!(
            d.push(EV_KEY, KEY_A, 0, ms(80)),
            Some(WedgeOut::Dropped {
                chars: 1,
                why: "pause between keys longer than the key timeout (typed, not scanned)"
            })
        );
        assert_eq!(d.push(EV_KEY, KEY_A + 1, 1, ms(200)), None); // 's' alone (nothing in progress)
        assert_eq!(d.deadline(), Some(ms(250)));
        assert_eq!(d.tick(ms(249)), None);
        assert!(matches!(d.tick(ms(250)), Some(WedgeOut::Dropped { chars: 1, .. })));
        assert_eq!(d.push(EV_KEY, KEY_ENTER, 1, ms(400)), None);
        // A scanner after the human: fine.
        let ev = key_events(Layout::Us, b"]C1001");
        let got: Vec<_> = ev.iter().filter_map(|&(t, c, v)| d.push(t, c, v, ms(1000))).collect();
        assert_eq!(got, vec![WedgeOut::Scan(b"]C1001".to_vec())]);
    }

    #[test]
    fn unknown_keys_drop_the_scan() {
        let mut d = WedgeDecoder::new(Layout::Us, T);
        // 'a', F1 (59), 'b', Enter
        let ev = [(1, 30, 1), (1, 59, 1), (1, 48, 1), (1, 28, 1)];
        assert!(matches!(
            decode(&mut d, &ev, Instant::now()).as_slice(),
            [WedgeOut::Dropped { chars: 3, .. }]
        ));
        // US has no AltGr level; Alt+letter is a shortcut.
        let ev = [
            (1, 100, 1),
            (1, 30, 1),
            (1, 100, 0),
            (1, 56, 1),
            (1, 30, 1),
            (1, 56, 0),
            (1, 28, 1),
        ];
        assert!(matches!(
            decode(&mut d, &ev, Instant::now()).as_slice(),
            [WedgeOut::Dropped { chars: 2, .. }]
        ));
        // Lock keys and Meta are neither characters nor unknown; Enter alone is nothing.
        let ev = [(1, 69, 1), (1, 125, 1), (1, 30, 1), (1, 28, 1), (1, 28, 1)];
        assert_eq!(decode(&mut d, &ev, Instant::now()), vec![WedgeOut::Scan(b"a".to_vec())]);
    }

    #[test]
    fn too_long_and_reset() {
        let mut d = WedgeDecoder::new(Layout::Us, T).with_max_len(4);
        assert!(matches!(
            decode(&mut d, &key_events(Layout::Us, b"123456"), Instant::now()).as_slice(),
            [WedgeOut::Dropped { chars: 6, .. }]
        ));
        assert_eq!(
            decode(&mut d, &key_events(Layout::Us, b"1234"), Instant::now()),
            vec![WedgeOut::Scan(b"1234".to_vec())]
        );
        // A scan cut by a reconnect with Shift held: reset forgets both.
        let mut d = WedgeDecoder::new(Layout::Us, T);
        decode(&mut d, &[(1, 42, 1), (1, 30, 1)], Instant::now());
        d.reset();
        assert_eq!(d.deadline(), None);
        assert_eq!(
            decode(&mut d, &[(1, 30, 1), (1, 28, 1)], Instant::now()),
            vec![WedgeOut::Scan(b"a".to_vec())]
        );
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
    fn random_text_round_trips() {
        let mut rng = XorShift(0xABCD_EF01_2345_6789);
        for layout in Layout::ALL {
            for _ in 0..200 {
                let n = 1 + rng.next() % 40;
                let s: Vec<u8> = (0..n)
                    .map(|_| match rng.next() % 10 {
                        0 => 0x1D,
                        _ => 0x20 + (rng.next() % 95) as u8,
                    })
                    .collect();
                assert_eq!(
                    round_trip(layout, &s),
                    vec![WedgeOut::Scan(s.clone())],
                    "{layout:?} {s:?}"
                );
            }
        }
    }

    #[test]
    fn fuzz_no_panic_bounded() {
        let mut rng = XorShift(0x0F0F_F0F0_1357_9BDF);
        let t0 = Instant::now();
        for layout in Layout::ALL {
            let mut d = WedgeDecoder::new(layout, T).with_max_len(64);
            let mut ms = 0;
            for _ in 0..20_000 {
                ms += rng.next() % 30;
                let now = t0 + Duration::from_millis(ms);
                let t = [EV_KEY, EV_KEY, EV_KEY, EV_SYN, EV_MSC][(rng.next() % 5) as usize];
                let code = (rng.next() % 130) as u16;
                let value = (rng.next() % 4) as i32 - 1;
                if let Some(WedgeOut::Scan(s)) = d.push(t, code, value, now) {
                    assert!(s.len() <= 64 && !s.is_empty());
                    assert!(std::str::from_utf8(&s).is_ok());
                }
                if rng.next().is_multiple_of(50) {
                    d.tick(now);
                }
                assert!(d.buf.len() <= 64);
            }
        }
    }
}
