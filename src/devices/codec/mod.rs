//! Pure wire codecs for barcode scanners and UHF RFID readers: bytes in, frames out, and the
//! frames a host sends built as bytes. No I/O and no clock: a codec that needs time (framing by
//! inter-character timeout) is handed the instant. Each driver in `devices` is one of these plus a
//! thin I/O loop; the simulators in `devices::sim` use the device side of the same codecs.
//!
//! Facts (frame layouts, checksums, verified hex frames) come from `../shared/hardware/protocols.md`.

pub mod aim;
pub mod chafon;
pub mod framer;
pub mod gen2;
pub mod hidpos;
pub mod m100;
pub mod mercury;
pub mod r2000;
mod resync;
pub mod ssi;
pub mod wedge;

/// One tag observation as a reader reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagReport {
    /// The EPC, without PC and CRC.
    pub epc: Vec<u8>,
    /// The tag's StoredPC word. Protocols that do not report it get `gen2::pc_for_len(epc.len())`.
    pub pc: u16,
    /// Received signal strength in dBm, when the protocol reports it in dBm.
    pub rssi_dbm: Option<i16>,
    /// Antenna port, 1-based, when the protocol reports it.
    pub antenna: Option<u8>,
    /// The TID, when the reader returned it with the inventory (FastTID) or a bank read.
    pub tid: Option<Vec<u8>>,
}

/// A message from a reader, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderMsg {
    /// A tag was read (its EPC CRC-16 checked where the protocol carries it).
    Tag(TagReport),
    /// An inventory round ended; the reader's own counters when it reports them.
    RoundEnd {
        read_rate: Option<u32>,
        total_reads: Option<u32>,
    },
    /// A command succeeded (the command code it answers).
    Ok { cmd: u8 },
    /// A command was answered with a non-success status, or a round found no tag.
    Status { cmd: u8, code: u16, message: &'static str },
    /// A firmware / hardware version string.
    Version(String),
    /// A bank read answered: the data words as bytes, and the EPC of the tag when given.
    BankData { epc: Option<Vec<u8>>, data: Vec<u8> },
    /// The reader is alive but has nothing to say (Mercury keep-alive).
    KeepAlive,
}

/// Bytes a decoder could not accept. They are skipped and decoding resynchronises at the next
/// plausible frame start; nothing after the fault is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A frame whose checksum or CRC does not match: dropped whole.
    BadChecksum { expected: u32, found: u32 },
    /// A tag report whose EPC CRC-16 (over PC + EPC) does not match: a corrupt read, dropped.
    EpcCrc { epc_hex: String },
    /// Bytes skipped while looking for a frame start.
    Garbage { bytes: usize },
    /// A frame whose fields do not fit together (length, PC word, field sizes).
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::BadChecksum { expected, found } => {
                write!(f, "frame dropped: checksum {found:#06x}, expected {expected:#06x}")
            }
            FrameError::EpcCrc { epc_hex } => write!(f, "corrupt tag read dropped (EPC CRC-16 wrong): {epc_hex}"),
            FrameError::Garbage { bytes } => write!(f, "{bytes} byte(s) of noise skipped"),
            FrameError::Malformed(why) => write!(f, "frame dropped: {why}"),
        }
    }
}

impl crate::domain::text::Bilingual for FrameError {
    fn message_zh(&self) -> String {
        match self {
            FrameError::BadChecksum { expected, found } => {
                format!("帧已丢弃：校验和 {found:#06x}，应为 {expected:#06x}")
            }
            FrameError::EpcCrc { epc_hex } => format!("损坏的标签读数已丢弃（EPC CRC-16 错误）：{epc_hex}"),
            FrameError::Garbage { bytes } => format!("已跳过 {bytes} 字节噪声"),
            FrameError::Malformed(why) => format!("帧已丢弃：{why}"),
        }
    }
}

/// Which inventoried flag a Gen2 query targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    A,
    B,
}

impl Target {
    pub fn flip(self) -> Target {
        match self {
            Target::A => Target::B,
            Target::B => Target::A,
        }
    }
}

/// Regulatory frequency regions the readers are set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// China 920.125–924.875 MHz (GB/T 29768).
    China920,
    /// China 840–845 MHz.
    China840,
    /// FCC / North America 902–928 MHz.
    Fcc,
    /// ETSI EN 302 208, 865–868 MHz.
    Etsi,
}

/// How the reader is set up before an inventory; sent again after every reconnect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InventoryConfig {
    /// Transmit power, dBm.
    pub power_dbm: f32,
    pub region: Region,
    /// Gen2 session S0–S3.
    pub session: u8,
    /// Q, 0–15 (about log2 of the expected tag population).
    pub q: u8,
    /// Antenna port, 1-based.
    pub antenna: u8,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            power_dbm: 26.0,
            region: Region::China920,
            session: 2,
            q: 4,
            antenna: 1,
        }
    }
}

/// How a protocol runs an inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryMode {
    /// One start command, then the reader streams tag reports until stopped
    /// (M100 multi-poll, Mercury continuous read).
    Continuous,
    /// Each command runs one round and ends with `ReaderMsg::RoundEnd` (or a "no tag" status);
    /// the host sends the next round (R2000 0x8B, Chafon inventory).
    PerRound,
}

/// The host side of a reader protocol: commands to send and a decoder for what comes back.
pub trait ReaderProtocol: Send + Sync {
    /// The protocol's name in profiles: `r2000`, `m100`, `mercury`, `chafon18`, `chafon288`.
    fn name(&self) -> &'static str;
    /// The default baud rate of modules speaking it.
    fn default_baud(&self) -> u32;
    fn mode(&self) -> InventoryMode;
    /// A fresh stream decoder for module → host bytes.
    fn decoder(&self) -> Box<dyn ReaderDecoder>;
    /// A command the reader always answers (firmware version), to tell it is there.
    fn probe(&self) -> Vec<u8>;
    /// Commands that set power, region, session and Q; sent after every (re)connect, because
    /// modules lose volatile settings on power-cycle.
    fn configure(&self, cfg: &InventoryConfig) -> Vec<Vec<u8>>;
    /// Starts an inventory (Continuous) or runs one round (PerRound) targeting `target`.
    fn start_inventory(&self, cfg: &InventoryConfig, target: Target) -> Vec<Vec<u8>>;
    /// Stops a continuous inventory (`None` for PerRound protocols: the host just stops asking).
    fn stop_inventory(&self) -> Option<Vec<u8>>;
    /// Commands that read `words` words of the TID bank of the tag with this EPC, when the
    /// protocol allows it (`None` otherwise). The answer is `ReaderMsg::BankData`.
    fn read_tid(&self, epc: &[u8], words: u8) -> Option<Vec<Vec<u8>>>;
}

/// A stream decoder: push bytes as they arrive, in any chunking; whole messages come out.
/// A partial frame is kept until its remaining bytes arrive; `reset` drops it (after a reconnect,
/// so no half frame is ever decoded).
pub trait ReaderDecoder: Send {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<Result<ReaderMsg, FrameError>>);
    fn reset(&mut self);
}

/// What a host asked a (simulated) reader to do.
#[derive(Debug, Clone, PartialEq)]
pub enum HostCommand {
    /// Firmware/version query.
    Version,
    /// A configuration command (power, region, session, Q...): the command code, answered with success.
    Configure {
        cmd: u8,
    },
    /// Start an inventory (or run one round, for PerRound protocols) on this session and target.
    StartInventory {
        session: Option<u8>,
        target: Option<Target>,
    },
    StopInventory,
    /// Select/read the TID of the tag with this EPC.
    ReadTid {
        epc: Vec<u8>,
        words: u8,
    },
    /// A well-framed command the simulator does not implement (answered with an error status).
    Unknown {
        cmd: u8,
    },
}

/// The device side of a protocol, for the simulators: decodes host commands and encodes the
/// module's answers exactly as a real module frames them.
pub trait ReaderEmulation: Send {
    /// Pushes host → module bytes; complete commands come out (bad frames as `Err`).
    fn push_host(&mut self, bytes: &[u8], out: &mut Vec<Result<HostCommand, FrameError>>);
    /// The answer to a command that succeeded (config, version, stop).
    fn answer(&self, cmd: &HostCommand) -> Vec<u8>;
    /// One tag report as the module frames it during an inventory.
    fn tag(&self, tag: &TagReport) -> Vec<u8>;
    /// The end of a round (PerRound protocols; `tags` = tags read in it), or `None`.
    fn round_end(&self, tags: u32, reads_per_s: u32) -> Option<Vec<u8>>;
    /// For PerRound protocols that answer a round with all its tags in one reply (Chafon):
    /// the whole reply. `None` for protocols that stream one frame per tag.
    fn round_reply(&self, _tags: &[TagReport]) -> Option<Vec<Vec<u8>>> {
        None
    }
    /// The reply to a TID read.
    fn tid_reply(&self, epc: &[u8], tid: &[u8]) -> Vec<u8>;
}

/// The host side of the protocol with this profile name.
pub fn protocol(name: &str) -> Option<Box<dyn ReaderProtocol>> {
    Some(match name {
        "r2000" => Box::new(r2000::R2000::default()),
        "m100" => Box::new(m100::M100),
        "mercury" => Box::new(mercury::Mercury),
        "chafon18" => Box::new(chafon::Chafon18::default()),
        "chafon288" => Box::new(chafon::Chafon288::default()),
        _ => return None,
    })
}

/// The module side of the protocol with this profile name (for the simulators).
pub fn emulation(name: &str) -> Option<Box<dyn ReaderEmulation>> {
    Some(match name {
        "r2000" => Box::new(r2000::R2000Module::new()),
        "m100" => Box::new(m100::M100Module::new()),
        "mercury" => Box::new(mercury::MercuryModule::new()),
        "chafon18" => Box::new(chafon::Chafon18Module::default()),
        "chafon288" => Box::new(chafon::Chafon288Module::default()),
        _ => return None,
    })
}

/// The protocol names, as profiles spell them.
pub const PROTOCOLS: &[&str] = &["r2000", "m100", "mercury", "chafon18", "chafon288"];
