//! Versioned schema migrations, applied in order inside one transaction each.
//! `PRAGMA user_version` holds the number of migrations applied.
//!
//! Append new migrations at the end; never edit one that has shipped. A cache made by any
//! earlier version must open and migrate forward: `migration_tests` builds a cache of every
//! earlier version from `MIGRATIONS[..k]`, fills it in that version's schema and opens it (a new
//! migration makes that test ask for the data of the version it supersedes).

pub const MIGRATIONS: &[&str] = &[
    // 1: the offline lot cache, tasks, outbox, audit log and sync state.
    r#"
CREATE TABLE categories (
    id               TEXT PRIMARY KEY,
    near_expiry_days TEXT NOT NULL            -- comma list of warning tiers in days, e.g. '60,30,7'
) WITHOUT ROWID;

CREATE TABLE items (
    id                         TEXT PRIMARY KEY,
    name_en                    TEXT NOT NULL,
    name_zh                    TEXT NOT NULL,
    category                   TEXT NOT NULL,
    shelf_life_days            INTEGER CHECK (shelf_life_days > 0),
    min_remaining_days_receipt INTEGER CHECK (min_remaining_days_receipt >= 0),
    min_remaining_pct_receipt  INTEGER CHECK (min_remaining_pct_receipt BETWEEN 0 AND 100),
    near_expiry_days           TEXT,          -- item override of the category's tiers
    requires_qc                INTEGER NOT NULL DEFAULT 0,
    serialized                 INTEGER NOT NULL DEFAULT 0,
    regulated                  INTEGER NOT NULL DEFAULT 0,
    storage                    TEXT NOT NULL DEFAULT 'ambient' CHECK (storage IN ('ambient', 'chilled', 'frozen'))
) WITHOUT ROWID;

-- GTINs (normalised to 14 digits) and other barcodes that name an item.
CREATE TABLE barcodes (
    code    TEXT PRIMARY KEY,
    kind    TEXT NOT NULL CHECK (kind IN ('gtin', 'alias')),
    item_id TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX barcodes_item ON barcodes(item_id);

CREATE TABLE lots (
    id              INTEGER PRIMARY KEY,
    item_id         TEXT NOT NULL REFERENCES items(id),
    lot             TEXT NOT NULL,
    expiry          TEXT,                     -- YYYY-MM-DD
    production_date TEXT,
    qc_date         TEXT,
    status          TEXT NOT NULL CHECK (status IN ('released', 'quarantine', 'on_hold', 'recalled', 'rejected')),
    UNIQUE (item_id, lot)
);
-- FEFO: the earliest released lot of an item.
CREATE INDEX lots_fefo ON lots(item_id, status, expiry);

CREATE TABLE serials (
    item_id TEXT NOT NULL REFERENCES items(id),
    serial  TEXT NOT NULL,
    lot_id  INTEGER REFERENCES lots(id),
    status  TEXT NOT NULL DEFAULT 'in_stock',
    PRIMARY KEY (item_id, serial)
) WITHOUT ROWID;
CREATE INDEX serials_lot ON serials(lot_id);

CREATE TABLE locations (
    code      TEXT PRIMARY KEY,
    warehouse TEXT NOT NULL,
    zone      TEXT NOT NULL,
    kind      TEXT NOT NULL DEFAULT 'pick' CHECK (kind IN ('pick', 'reserve', 'receiving', 'quarantine', 'shipping'))
) WITHOUT ROWID;

CREATE TABLE stock (
    lot_id   INTEGER NOT NULL REFERENCES lots(id),
    location TEXT NOT NULL REFERENCES locations(code),
    qty      INTEGER NOT NULL CHECK (qty >= 0),
    PRIMARY KEY (lot_id, location)
) WITHOUT ROWID;
CREATE INDEX stock_location ON stock(location);

CREATE TABLE customers (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    min_remaining_days INTEGER CHECK (min_remaining_days >= 0)
) WITHOUT ROWID;

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('receipt', 'pick', 'count')),
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    customer_id TEXT REFERENCES customers(id),
    reference   TEXT,
    created_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE task_lines (
    task_id      TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    line_no      INTEGER NOT NULL,
    item_id      TEXT NOT NULL REFERENCES items(id),
    lot          TEXT,
    location     TEXT REFERENCES locations(code),
    qty_expected INTEGER NOT NULL DEFAULT 0 CHECK (qty_expected >= 0),
    qty_done     INTEGER NOT NULL DEFAULT 0 CHECK (qty_done >= 0),
    PRIMARY KEY (task_id, line_no)
) WITHOUT ROWID;

-- Commands waiting to reach the hub. command_id is the idempotency key for exactly-once delivery.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,                 -- JSON
    created_at TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'acked', 'dead')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    acked_at   TEXT
);
CREATE INDEX outbox_state ON outbox(state, seq);

-- Every scan decision, kept on the device.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    operator TEXT NOT NULL,
    gate     TEXT NOT NULL,
    scan     TEXT NOT NULL,
    verdict  TEXT NOT NULL CHECK (verdict IN ('accept', 'warn', 'reject')),
    reasons  TEXT NOT NULL,                   -- JSON array of reason codes
    item_id  TEXT,
    lot      TEXT,
    task_id  TEXT,
    -- Why the operator went ahead despite a warning that needs a reason (FEFO).
    override_reason TEXT
);

CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"#,
    // 2: lotline's application id ("LotL", `super::APPLICATION_ID`). A new cache gets it here,
    // before its first load, which then writes the completion mark (`super::COMPLETE_KEY`).
    // A version-1 cache opened by this build already holds a finished load (`inspect` checked
    // it has items), so it gets the mark here.
    r#"
PRAGMA application_id = 1282372684;
INSERT OR IGNORE INTO settings(key, value)
    SELECT 'cache_complete', 'migrated from schema version 1' WHERE EXISTS (SELECT 1 FROM items);
"#,
    // 3: operators, receipt tasks (ASN lines with SSCC, lot and expiry; tolerance), storage
    // conditions of locations, lot movements, outbox commands in the sync protocol's shape, and
    // the hash-chained audit record. The scan log of schemas 1 and 2 is kept, unchained, as
    // `audit_log_v1`.
    r#"
ALTER TABLE locations ADD COLUMN storage TEXT NOT NULL DEFAULT 'ambient' CHECK (storage IN ('ambient', 'chilled', 'frozen'));
ALTER TABLE tasks ADD COLUMN tolerance_pct INTEGER NOT NULL DEFAULT 0 CHECK (tolerance_pct BETWEEN 0 AND 100);
ALTER TABLE task_lines ADD COLUMN expiry TEXT;      -- YYYY-MM-DD, from the ASN
ALTER TABLE task_lines ADD COLUMN sscc TEXT;        -- the pallet the ASN ships this line on
CREATE INDEX task_lines_sscc ON task_lines(sscc) WHERE sscc IS NOT NULL;

CREATE TABLE operators (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    pin_hash TEXT NOT NULL,                 -- argon2id PHC string; the PIN itself is never stored
    roles    TEXT NOT NULL                  -- comma list: receiver, picker, checker, counter, supervisor
) WITHOUT ROWID;

-- Wrong PINs on this device: five in a row lock the operator for five minutes.
CREATE TABLE login_failures (
    operator_id  TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until TEXT                       -- RFC 3339
) WITHOUT ROWID;

-- Every stock movement made on this device, for the lot card and for count reconciliation.
CREATE TABLE movements (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    operator      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('receive', 'putaway', 'pick', 'count', 'adjust')),
    lot_id        INTEGER NOT NULL REFERENCES lots(id),
    from_location TEXT,
    to_location   TEXT,
    qty           INTEGER NOT NULL CHECK (qty > 0),
    task_id       TEXT,
    command_id    TEXT NOT NULL
);
CREATE INDEX movements_lot ON movements(lot_id, id);

-- The device's identity until the hub enrols it; commands carry it.
INSERT OR IGNORE INTO settings(key, value)
    SELECT 'device_id', lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-'
        || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(h, 18, 3) || '-' || substr(h, 21, 12))
    FROM (SELECT hex(randomblob(16)) AS h);

-- Commands as the hub receives them: seq is per device, gapless from 1 (AUTOINCREMENT's counter
-- rolls back with a failed transaction, and rows are never deleted before the hub acknowledges).
ALTER TABLE outbox ADD COLUMN device_id TEXT;
ALTER TABLE outbox ADD COLUMN operator TEXT;
ALTER TABLE outbox ADD COLUMN schema_version INTEGER NOT NULL DEFAULT 1;
UPDATE outbox SET device_id = (SELECT value FROM settings WHERE key = 'device_id'),
                  operator = json_extract(payload, '$.operator');

ALTER TABLE audit_log RENAME TO audit_log_v1;

-- The record regulators ask for (21 CFR 11.10(e), EU GMP Annex 11 §9): who, what, when (device
-- clock and a monotonic counter), why, before and after. Each entry's hash is the SHA-256 of its
-- content and the previous entry's hash (`domain::audit`); `lotline audit verify` walks it.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    counter       INTEGER NOT NULL,
    at            TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    operator      TEXT,
    authorised_by TEXT,
    action        TEXT NOT NULL,
    command_id    TEXT,
    gate          TEXT,
    task_id       TEXT,
    item_id       TEXT,
    lot           TEXT,
    location      TEXT,
    scan          TEXT,
    verdict       TEXT CHECK (verdict IN ('accept', 'warn', 'reject')),
    reasons       TEXT NOT NULL DEFAULT '[]',
    reason        TEXT,
    before        TEXT,
    after         TEXT,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
"#,
    // 4: picking and counting. Pick lines record what was short and why, who made the GSP
    // second check, and the FEFO override reason; movements name their task line. Count tasks
    // name their locations (or a zone) and whether they are blind; items their count tolerance.
    // A count's snapshot, its entries per location and round, the moment each location was
    // counted (with the last movement id then: the reconciliation window), the RFID tags it
    // took, and the recounts it asks for.
    r#"
ALTER TABLE items ADD COLUMN count_tolerance TEXT;            -- '2' (units) or '5%' (of expected); NULL: 0
ALTER TABLE tasks ADD COLUMN blind INTEGER NOT NULL DEFAULT 1; -- count: expected quantities hidden
ALTER TABLE tasks ADD COLUMN zone TEXT;                        -- count: every location of this zone
ALTER TABLE tasks ADD COLUMN source TEXT;                      -- what raised it (a short pick: 'PK-1#2')
ALTER TABLE task_lines ADD COLUMN qty_short INTEGER NOT NULL DEFAULT 0 CHECK (qty_short >= 0);
ALTER TABLE task_lines ADD COLUMN short_reason TEXT;
ALTER TABLE task_lines ADD COLUMN checked_by TEXT;             -- GSP second check: the checker's id
ALTER TABLE task_lines ADD COLUMN checked_at TEXT;
ALTER TABLE task_lines ADD COLUMN override_reason TEXT;        -- why another lot than FEFO's
ALTER TABLE movements ADD COLUMN line_no INTEGER;
CREATE INDEX movements_task ON movements(task_id, line_no) WHERE task_id IS NOT NULL;
CREATE INDEX movements_from ON movements(from_location, id);
CREATE INDEX movements_to ON movements(to_location, id);

CREATE TABLE task_locations (
    task_id  TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    location TEXT NOT NULL,
    PRIMARY KEY (task_id, location)
) WITHOUT ROWID;

-- A count task's expected stock when it started on this device, and the last movement id then.
CREATE TABLE count_state (
    task_id       TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    snapshot_at   TEXT NOT NULL,
    snapshot_mark INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE count_snapshot (
    task_id  TEXT NOT NULL,
    location TEXT NOT NULL,
    item_id  TEXT NOT NULL,
    lot      TEXT NOT NULL,
    qty      INTEGER NOT NULL,
    PRIMARY KEY (task_id, location, item_id, lot)
) WITHOUT ROWID;
-- What was counted: additive entries per location and round (1, or 2 for a recount).
CREATE TABLE count_entries (
    id         INTEGER PRIMARY KEY,
    task_id    TEXT NOT NULL,
    location   TEXT NOT NULL,
    round      INTEGER NOT NULL CHECK (round IN (1, 2)),
    item_id    TEXT NOT NULL,
    lot        TEXT NOT NULL,
    qty        INTEGER NOT NULL,
    operator   TEXT NOT NULL,
    command_id TEXT NOT NULL
);
CREATE INDEX count_entries_task ON count_entries(task_id, location, round);
-- A location closed in a round: when, by whom, and the last movement id at that moment.
CREATE TABLE count_closed (
    task_id  TEXT NOT NULL,
    location TEXT NOT NULL,
    round    INTEGER NOT NULL,
    operator TEXT NOT NULL,
    at       TEXT NOT NULL,
    mark     INTEGER NOT NULL,
    PRIMARY KEY (task_id, location, round)
) WITHOUT ROWID;
CREATE TABLE count_tags (
    task_id  TEXT NOT NULL,
    location TEXT NOT NULL,
    round    INTEGER NOT NULL,
    epc      TEXT NOT NULL,
    PRIMARY KEY (task_id, location, round, epc)
) WITHOUT ROWID;
CREATE TABLE count_recounts (
    task_id        TEXT NOT NULL,
    location       TEXT NOT NULL,
    first_operator TEXT NOT NULL,
    PRIMARY KEY (task_id, location)
) WITHOUT ROWID;
"#,
    // 5: sync with lotline-hub. The outbox keeps each command's final outcome (`applied` or
    // `rejected`, with the hub's code and message); its state check is rebuilt for the new names
    // (the table is copied, its AUTOINCREMENT counter carried over, so seq stays gapless). Each
    // bucket of server data has its generation, checkpoint and running checksum; a command the
    // hub refused and the device reversed is an exception until an operator acknowledges it.
    r#"
CREATE TABLE outbox_v5 (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id         TEXT NOT NULL UNIQUE,
    kind               TEXT NOT NULL,
    payload            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    state              TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'in_flight', 'applied', 'rejected')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    acked_at           TEXT,
    device_id          TEXT,
    operator           TEXT,
    schema_version     INTEGER NOT NULL DEFAULT 1,
    outcome_code       TEXT,
    outcome_message    TEXT,
    outcome_message_zh TEXT,
    outcome_at         TEXT
);
INSERT INTO outbox_v5(seq, command_id, kind, payload, created_at, state, attempts, last_error, acked_at, device_id,
                      operator, schema_version, outcome_at)
    SELECT seq, command_id, kind, payload, created_at,
           CASE state WHEN 'acked' THEN 'applied' WHEN 'dead' THEN 'rejected' ELSE state END,
           attempts, last_error, acked_at, device_id, operator, schema_version, acked_at
    FROM outbox;
CREATE TABLE outbox_seq_v5 AS SELECT seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;
INSERT INTO sqlite_sequence(name, seq) SELECT 'outbox', seq FROM outbox_seq_v5
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox');
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM outbox_seq_v5), 0)) WHERE name = 'outbox';
DROP TABLE outbox_seq_v5;
CREATE INDEX outbox_state ON outbox(state, seq);

CREATE TABLE sync_buckets (
    name       TEXT PRIMARY KEY,
    generation INTEGER NOT NULL DEFAULT 0,
    checkpoint INTEGER NOT NULL DEFAULT 0,
    checksum   INTEGER NOT NULL DEFAULT 0        -- u32: wrapping sum of the changes' CRC-32s
) WITHOUT ROWID;

CREATE TABLE exceptions (
    id              INTEGER PRIMARY KEY,
    command_id      TEXT NOT NULL UNIQUE,
    code            TEXT NOT NULL,
    message_en      TEXT NOT NULL,
    message_zh      TEXT NOT NULL,
    details         TEXT NOT NULL DEFAULT '{}', -- JSON: the hub's details and the undo applied
    created_at      TEXT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT
);
CREATE INDEX exceptions_open ON exceptions(id) WHERE acknowledged_at IS NULL;
"#,
];
