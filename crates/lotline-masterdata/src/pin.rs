//! Operators' PINs: stored only as argon2id hashes (PHC strings with a random salt from the OS),
//! never as the PIN itself.
//!
//! A PIN is 4 to 12 digits ([`read::pin_problem`](crate::read::pin_problem)).
//! Hashing takes tens of milliseconds on purpose (the crate's default argon2id parameters:
//! 19 MiB, two passes), so the import hashes a row only once it is read and checked.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};

use crate::read::{PinProblem, pin_problem};
use lotline_domain::text::Bilingual;

/// Why a PIN could not be hashed. The messages never show the PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// Not 4 to 12 digits.
    #[error("{0}")]
    Invalid(PinProblem),
    /// The hasher failed (the OS gave no random salt, or the parameters were refused).
    #[error("the PIN could not be hashed: {0}")]
    Hash(String),
}

impl Bilingual for PinError {
    fn message_zh(&self) -> String {
        match self {
            PinError::Invalid(p) => p.message_zh(),
            PinError::Hash(detail) => format!("无法计算 PIN 的哈希值：{detail}"),
        }
    }
}

/// The argon2id hash of `pin` as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), with
/// a fresh random salt: two hashes of one PIN differ.
///
/// An argon2id PHC string (an import's `pin_hash`, see `read::is_argon2id_phc`) is already a
/// hash: it is returned as it is (a PIN is digits only, so the two cannot be confused).
pub fn hash_pin(pin: &str) -> Result<String, PinError> {
    if crate::read::is_argon2id_phc(pin) {
        return Ok(pin.to_owned());
    }
    if let Some(p) = pin_problem(pin) {
        return Err(PinError::Invalid(p));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

/// The largest memory cost (KiB) and pass count a stored hash may ask for: a hash from
/// elsewhere cannot make a login take minutes or gigabytes.
const MAX_M_COST: u32 = 256 * 1024;
const MAX_T_COST: u32 = 16;

/// Whether `pin` is the PIN whose argon2id hash is `hash`. False for a wrong PIN and for
/// anything that is not an argon2id PHC string (garbage, another algorithm, absurd parameters).
pub fn verify_pin(hash: &str, pin: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST || params.t_cost() > MAX_T_COST {
        return false;
    }
    Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_pin_verifies_and_a_wrong_one_does_not() {
        let h = hash_pin("1234").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(!h.contains("1234$"), "the PIN is not in the hash: {h}");
        assert!(verify_pin(&h, "1234"));
        for wrong in ["1235", "12345", "123", "", "4321", "01234"] {
            assert!(!verify_pin(&h, wrong), "{wrong}");
        }
    }

    #[test]
    fn two_hashes_of_one_pin_differ_and_both_verify() {
        let (a, b) = (hash_pin("0000").unwrap(), hash_pin("0000").unwrap());
        assert_ne!(a, b, "a random salt each time");
        assert!(verify_pin(&a, "0000") && verify_pin(&b, "0000"));
    }

    #[test]
    fn garbage_and_foreign_hashes_verify_false() {
        let h = hash_pin("98765432").unwrap();
        for bad in [
            "",
            "1234",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$",
            // The same hash with one character of the digest changed.
            &format!("{}{}", &h[..h.len() - 1], if h.ends_with('A') { 'B' } else { 'A' }),
            // argon2i, not argon2id.
            &h.replacen("$argon2id$", "$argon2i$", 1),
            // Parameters no login should have to pay for.
            &h.replacen("m=19456", "m=4000000", 1),
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ] {
            assert!(!verify_pin(bad, "98765432"), "{bad}");
        }
    }

    #[test]
    fn a_pin_that_is_not_4_to_12_digits_is_not_hashed() {
        for (pin, want) in [
            ("123", PinProblem::TooShort),
            ("", PinProblem::TooShort),
            ("1234567890123", PinProblem::TooLong),
            ("12a4", PinProblem::NotDigits),
            (" 1234", PinProblem::NotDigits),
            ("١٢٣٤", PinProblem::NotDigits),
        ] {
            let e = hash_pin(pin).unwrap_err();
            assert_eq!(e, PinError::Invalid(want), "{pin:?}");
            assert!(pin.is_empty() || !e.to_string().contains(pin), "{e}");
            assert!(!e.message_zh().is_empty());
        }
        assert!(hash_pin("123456789012").is_ok());
    }
}
