//! The hub's schema, created or migrated on open. Version in `hub_meta`.

use crate::db::{Backend, SCHEMA_VERSION, Store, Tx, Val};
use crate::error::HubError;

/// Version 1. `{serial}` is the backend's auto-increasing integer key.
const V1: &str = "
CREATE TABLE IF NOT EXISTS sites (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, site TEXT NOT NULL, name TEXT, token_hash TEXT NOT NULL UNIQUE,
    enrolled_at TEXT NOT NULL, last_seen TEXT, schema_version BIGINT NOT NULL,
    recorded_through BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS admin_tokens (token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enroll_codes (
    code_hash TEXT PRIMARY KEY, site TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    used_at TEXT, used_by TEXT);
CREATE TABLE IF NOT EXISTS categories (id TEXT PRIMARY KEY, near_expiry_days TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, name_en TEXT NOT NULL, name_zh TEXT NOT NULL, category TEXT NOT NULL,
    shelf_life_days BIGINT, min_remaining_days_receipt BIGINT, min_remaining_pct_receipt BIGINT,
    near_expiry_days TEXT, requires_qc BIGINT NOT NULL, serialized BIGINT NOT NULL, regulated BIGINT NOT NULL,
    storage TEXT NOT NULL, count_tolerance TEXT);
CREATE TABLE IF NOT EXISTS barcodes (code TEXT PRIMARY KEY, kind TEXT NOT NULL, item TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS barcodes_item ON barcodes(item);
CREATE TABLE IF NOT EXISTS lots (
    item TEXT NOT NULL, lot TEXT NOT NULL, expiry TEXT, production_date TEXT, qc_date TEXT, status TEXT NOT NULL,
    status_changed_at TEXT, status_changed_by TEXT, status_reason TEXT, PRIMARY KEY (item, lot));
CREATE INDEX IF NOT EXISTS lots_lot ON lots(lot);
CREATE TABLE IF NOT EXISTS lot_events (
    id {serial}, item TEXT NOT NULL, lot TEXT NOT NULL, from_status TEXT, status TEXT NOT NULL,
    at TEXT NOT NULL, by_whom TEXT, reason TEXT, command_id TEXT);
CREATE INDEX IF NOT EXISTS lot_events_lot ON lot_events(item, lot);
CREATE TABLE IF NOT EXISTS serials (
    item TEXT NOT NULL, serial TEXT NOT NULL, lot TEXT, status TEXT NOT NULL, PRIMARY KEY (item, serial));
CREATE TABLE IF NOT EXISTS locations (
    code TEXT PRIMARY KEY, warehouse TEXT NOT NULL, zone TEXT NOT NULL, kind TEXT NOT NULL, storage TEXT NOT NULL,
    site TEXT);
CREATE TABLE IF NOT EXISTS stock (
    item TEXT NOT NULL, lot TEXT NOT NULL, location TEXT NOT NULL, qty BIGINT NOT NULL,
    PRIMARY KEY (item, lot, location));
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, name TEXT NOT NULL, min_remaining_days BIGINT);
CREATE TABLE IF NOT EXISTS operators (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, pin_hash TEXT NOT NULL, roles TEXT NOT NULL, site TEXT);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, customer TEXT, reference TEXT,
    created_at TEXT NOT NULL, tolerance_pct BIGINT NOT NULL, blind BIGINT NOT NULL, zone TEXT, source TEXT,
    site TEXT, device TEXT);
CREATE TABLE IF NOT EXISTS task_lines (
    task TEXT NOT NULL, line BIGINT NOT NULL, item TEXT NOT NULL, lot TEXT, location TEXT, expiry TEXT,
    sscc TEXT, qty_expected BIGINT NOT NULL, qty_done BIGINT NOT NULL DEFAULT 0,
    qty_short BIGINT NOT NULL DEFAULT 0, short_reason TEXT, checked_by TEXT, checked_at TEXT,
    override_reason TEXT, PRIMARY KEY (task, line));
CREATE TABLE IF NOT EXISTS task_locations (task TEXT NOT NULL, location TEXT NOT NULL, PRIMARY KEY (task, location));
CREATE TABLE IF NOT EXISTS commands (
    cursor {serial}, device_id TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL,
    dup BIGINT NOT NULL DEFAULT 0, type TEXT NOT NULL, schema_version BIGINT NOT NULL, created_at TEXT NOT NULL,
    operator TEXT, payload TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT, message TEXT, message_zh TEXT,
    details TEXT, recorded_at TEXT NOT NULL, UNIQUE (device_id, seq));
CREATE UNIQUE INDEX IF NOT EXISTS commands_id ON commands(id) WHERE dup = 0;
CREATE TABLE IF NOT EXISTS movements (
    id {serial}, at TEXT NOT NULL, device TEXT, site TEXT, operator TEXT, kind TEXT NOT NULL,
    item TEXT NOT NULL, lot TEXT NOT NULL, from_location TEXT, to_location TEXT, qty BIGINT NOT NULL,
    task TEXT, customer TEXT, command_id TEXT);
CREATE INDEX IF NOT EXISTS movements_lot ON movements(item, lot);
CREATE TABLE IF NOT EXISTS changes (
    seq BIGINT PRIMARY KEY, bucket TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL,
    data TEXT, checksum BIGINT NOT NULL, cum_checksum BIGINT NOT NULL, n BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_bucket ON changes(bucket, seq);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY, generation BIGINT NOT NULL DEFAULT 1, head BIGINT NOT NULL DEFAULT 0,
    cum_checksum BIGINT NOT NULL DEFAULT 0, changes BIGINT NOT NULL DEFAULT 0);
";

pub(crate) fn migrate(store: &Store) -> Result<(), HubError> {
    store.write(|tx: &mut Tx<'_>| {
        tx.batch("CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")?;
        let found = tx
            .one("SELECT value FROM hub_meta WHERE key = 'schema_version'", &[])?
            .map(|r| r[0].int())
            .unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(HubError::SchemaTooNew {
                found,
                max: SCHEMA_VERSION,
            });
        }
        if found < 1 {
            let serial = match tx.backend() {
                Backend::Sqlite => "INTEGER PRIMARY KEY",
                #[cfg(feature = "postgres")]
                Backend::Postgres => "BIGSERIAL PRIMARY KEY",
            };
            tx.batch(&V1.replace("{serial}", serial))?;
            tx.exec(
                "INSERT INTO hub_meta(key, value) VALUES ('schema_version', $1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                &[Val::Text(SCHEMA_VERSION.to_string())],
            )?;
        }
        Ok(())
    })
}
