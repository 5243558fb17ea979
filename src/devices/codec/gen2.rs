//! EPC Gen2 facts every RFID codec needs: the PC word and the EPC CRC-16.
//!
//! The StoredPC's top five bits are the EPC length in 16-bit words; the EPC CRC-16 is
//! CRC-16/GENIBUS (poly 0x1021, init 0xFFFF, complemented) over PC + EPC and equals the StoredCRC
//! a reader passes through, so a read whose CRC does not match is corrupt and is dropped.

use crc::{CRC_16_GENIBUS, Crc};

const GENIBUS: Crc<u16> = Crc::<u16>::new(&CRC_16_GENIBUS);

/// The EPC length in bytes that a PC word announces (`L = pc >> 11` words).
pub fn epc_len_from_pc(pc: u16) -> usize {
    usize::from(pc >> 11) * 2
}

/// The PC word for an EPC of `len` bytes, other bits zero (`0x3000` for 96 bits).
pub fn pc_for_len(len: usize) -> u16 {
    (((len / 2) as u16) & 0x1F) << 11
}

/// The user-memory indicator bit.
pub fn pc_umi(pc: u16) -> bool {
    pc & 0x0400 != 0
}

/// The XPC indicator: an XPC_W1 word follows the PC.
pub fn pc_xi(pc: u16) -> bool {
    pc & 0x0200 != 0
}

/// The numbering-system toggle: false = a GS1 / EPCglobal EPC, true = ISO 15961 (AFI in the low byte).
pub fn pc_toggle(pc: u16) -> bool {
    pc & 0x0100 != 0
}

/// CRC-16/GENIBUS over the PC word followed by the EPC: the tag's StoredCRC.
pub fn epc_crc(pc: u16, epc: &[u8]) -> u16 {
    let mut d = GENIBUS.digest();
    d.update(&pc.to_be_bytes());
    d.update(epc);
    d.finalize()
}

/// Upper-case hex, no separators.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[usize::from(b >> 4)] as char);
        s.push(H[usize::from(b & 0xF)] as char);
    }
    s
}

/// Parses hex (spaces allowed between bytes); `None` on an odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pc_word_fields() {
        for (pc, len, umi) in [
            (0x3000u16, 12usize, false),
            (0x3400, 12, true),
            (0x4000, 16, false),
            (0x0800, 2, false),
        ] {
            assert_eq!(epc_len_from_pc(pc), len, "{pc:#06x}");
            assert_eq!(pc_umi(pc), umi, "{pc:#06x}");
        }
        assert_eq!(pc_for_len(12), 0x3000);
        assert_eq!(pc_for_len(16), 0x4000);
        assert!(pc_toggle(0x3100) && !pc_toggle(0x3000));
        assert!(pc_xi(0x3200));
    }

    #[test]
    fn epc_crc_matches_the_stored_crc_in_real_m100_captures() {
        // protocols.md §1b: two M100 notices whose CRC field is the tag's StoredCRC.
        let epc = unhex("30751FEB705C5904E3D50D70").unwrap();
        assert_eq!(epc_crc(0x3400, &epc), 0x3A76);
        let epc = unhex("E20000 1D7315016521408FC6").unwrap();
        assert_eq!(epc_crc(0x3000, &epc), 0xB83E);
        // One flipped bit is caught.
        let mut bad = epc.clone();
        bad[3] ^= 0x10;
        assert_ne!(epc_crc(0x3000, &bad), 0xB83E);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(hex(&[0x00, 0xAB, 0x7F]), "00AB7F");
        assert_eq!(unhex("00 ab 7F"), Some(vec![0x00, 0xAB, 0x7F]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }
}
