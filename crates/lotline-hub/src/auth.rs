//! Enrolment codes, device and admin tokens.

use lotline_protocol::PROTOCOL_VERSION;
use lotline_protocol::sync::{EnrollRequest, EnrollResponse};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::db::{Store, Val};
use crate::error::HubError;
use crate::now;

/// Letters and digits nobody misreads (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
pub const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";

/// SHA-256, hex.
pub fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A code as typed: upper case, without spaces and dashes.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn new_code() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A one-time enrolment code for `site`, valid for `ttl` (`K7QX-M2PD-9HTW`). Only its hash is kept.
pub fn enroll_code(store: &Store, site: &str, ttl: chrono::Duration) -> Result<String, HubError> {
    if site.trim().is_empty() {
        return Err(HubError::BadRequest("the site is empty".into()));
    }
    let code = new_code();
    let created = chrono::Utc::now();
    store.write(|tx| {
        tx.exec(
            "INSERT INTO sites(id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[site.into()],
        )?;
        tx.exec(
            "INSERT INTO enroll_codes(code_hash, site, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[
                sha256_hex(&normalise_code(&code)).into(),
                site.into(),
                time(created).into(),
                time(created + ttl).into(),
            ],
        )?;
        Ok::<_, HubError>(())
    })?;
    Ok(code)
}

/// Exchanges a one-time code for a device id and its token.
pub fn enroll(store: &Store, req: &EnrollRequest) -> Result<EnrollResponse, HubError> {
    let min = store.min_schema_version();
    if req.schema_version < min {
        return Err(HubError::UpdateRequired {
            found: req.schema_version,
            min,
        });
    }
    if req.protocol_version > PROTOCOL_VERSION {
        return Err(HubError::BadRequest(format!(
            "protocol version {} is newer than this hub's ({PROTOCOL_VERSION}): update the hub",
            req.protocol_version
        )));
    }
    let hash = sha256_hex(&normalise_code(&req.code));
    let at = now();
    store.write(|tx| {
        let r = tx
            .one(
                "SELECT site, expires_at, used_at FROM enroll_codes WHERE code_hash = $1",
                &[(&hash).into()],
            )?
            .ok_or(HubError::CodeUnknown)?;
        if let Some(used) = r[2].opt_text() {
            return Err(HubError::CodeUsed { at: used });
        }
        let expires = r[1].text();
        if expires <= at {
            return Err(HubError::CodeExpired { at: expires });
        }
        let site = r[0].text();
        let id = uuid::Uuid::now_v7().to_string();
        let token = new_token();
        tx.exec(
            "INSERT INTO devices(id, site, name, token_hash, enrolled_at, last_seen, schema_version, recorded_through)
             VALUES ($1, $2, $3, $4, $5, $5, $6, 0)",
            &[
                (&id).into(),
                (&site).into(),
                (&req.name).into(),
                sha256_hex(&token).into(),
                (&at).into(),
                Val::Int(req.schema_version as i64),
            ],
        )?;
        tx.exec(
            "UPDATE enroll_codes SET used_at = $1, used_by = $2 WHERE code_hash = $3",
            &[(&at).into(), (&id).into(), (&hash).into()],
        )?;
        Ok(EnrollResponse {
            device_id: id,
            token,
            site,
            hub_time: at.clone(),
        })
    })
}

/// Who a bearer token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Device { id: String, site: String },
    Admin { name: String },
}

/// The caller of a token, or `Unauthorized`.
pub fn authenticate(store: &Store, token: &str) -> Result<Caller, HubError> {
    let hash = sha256_hex(token.trim());
    store.read(|tx| {
        if let Some(r) = tx.one("SELECT id, site FROM devices WHERE token_hash = $1", &[(&hash).into()])? {
            return Ok(Caller::Device {
                id: r[0].text(),
                site: r[1].text(),
            });
        }
        if let Some(r) = tx.one("SELECT name FROM admin_tokens WHERE token_hash = $1", &[(&hash).into()])? {
            return Ok(Caller::Admin { name: r[0].text() });
        }
        Err(HubError::Unauthorized)
    })
}

/// Records that a device called (and with which command schema).
pub fn touch_device(store: &Store, id: &str, schema_version: Option<u32>) -> Result<(), HubError> {
    let at = now();
    store.write(|tx| {
        match schema_version {
            Some(v) => tx.exec(
                "UPDATE devices SET last_seen = $1, schema_version = $2 WHERE id = $3",
                &[(&at).into(), Val::Int(v as i64), id.into()],
            )?,
            None => tx.exec(
                "UPDATE devices SET last_seen = $1 WHERE id = $2",
                &[(&at).into(), id.into()],
            )?,
        };
        Ok(())
    })
}

/// A new admin token for `name` (lot status changes over HTTP). Printed once, kept hashed.
pub fn admin_token(store: &Store, name: &str) -> Result<String, HubError> {
    let token = new_token();
    store.write(|tx| {
        tx.exec(
            "INSERT INTO admin_tokens(token_hash, name, created_at) VALUES ($1, $2, $3)",
            &[sha256_hex(&token).into(), name.into(), now().into()],
        )?;
        Ok::<_, HubError>(())
    })?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_three_groups_of_unambiguous_letters() {
        for _ in 0..50 {
            let c = new_code();
            assert_eq!(c.len(), 14);
            let groups: Vec<&str> = c.split('-').collect();
            assert_eq!(groups.len(), 3);
            assert!(normalise_code(&c).bytes().all(|b| CODE_ALPHABET.contains(&b)), "{c}");
        }
        assert_eq!(normalise_code(" k7qx-m2pd 9htw"), "K7QXM2PD9HTW");
    }
}
