//! The real `lotline-hub serve` process, a device that uploads to it as the handheld does, and
//! the checks of what a hub's database must hold whatever happened to the processes.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use lotline_domain::command::{Command as Cmd, ReceivedLine};
use lotline_hub::Store;
use lotline_protocol::CommandEnvelope;
use lotline_protocol::sync::{
    Change, ChangeOp, ChangePage, EnrollResponse, MAX_BATCH_BYTES, MAX_BATCH_COMMANDS, Outcome, UploadResponse,
    change_checksum,
};
use rand::Rng;
use serde_json::{Value, json};

/// One `lotline-hub serve --listen 127.0.0.1:0` process; SIGKILLed when dropped.
pub struct HubProc {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub url: String,
}

impl HubProc {
    pub fn start(db: &str) -> HubProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lotline-hub"))
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "error")
            .env("LOTLINE_HUB_CONFIG", "")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("lotline-hub starts");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let url = first.trim().to_string();
        if !url.starts_with("http://127.0.0.1:") {
            let status = child.wait().unwrap();
            panic!("lotline-hub serve printed {first:?} and ended with {status}");
        }
        HubProc {
            child,
            _stdout: out,
            url,
        }
    }

    /// SIGKILL (`Child::kill` is SIGKILL on Unix), then reap it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HubProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout(Duration::from_secs(120))
        .build()
}

/// Enrols a device of S1 over HTTP with a code made by the library.
pub fn enroll_http(store: &Store, url: &str) -> EnrollResponse {
    let code = lotline_hub::enroll_code(store, "S1", chrono::Duration::hours(1)).unwrap();
    agent()
        .post(&format!("{url}/v1/enroll"))
        .send_json(json!({"code": code, "name": "crash", "schema_version": 1, "protocol_version": 1}))
        .unwrap()
        .into_json()
        .unwrap()
}

/// What the generated commands do to stock, so the expected end state is known.
#[derive(Default)]
pub struct Expect {
    /// (lot, location) → qty of item F200.
    pub stock: BTreeMap<(String, String), i64>,
    pub movements: i64,
    pub picked: i64,
}

/// A device's outbox: commands made as operators act (receipts, putaways, picks of the imported
/// lots, never more than there is), sent in `seq` order from the lowest unacknowledged one.
pub struct Outbox {
    pub device: String,
    pub token: String,
    pub cmds: Vec<CommandEnvelope>,
    /// Per command, the `applied_at` the hub acknowledged.
    pub acked: Vec<Option<String>>,
    pub expect: Expect,
}

const LOTS: [&str; 2] = ["L2311", "L2312"];
const LOCATIONS: [&str; 2] = ["A-01", "DOCK-1"];

impl Outbox {
    pub fn new(device: String, token: String) -> Outbox {
        let mut expect = Expect::default();
        // The seeded site's stock.
        expect.stock.insert(("L2311".into(), "A-01".into()), 100);
        Outbox {
            device,
            token,
            cmds: Vec::new(),
            acked: Vec::new(),
            expect,
        }
    }

    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    /// Makes one more command, as an operator confirming an action would.
    pub fn generate(&mut self, rng: &mut impl Rng) {
        let held: Vec<((String, String), i64)> = self
            .expect
            .stock
            .iter()
            .filter(|(_, q)| **q > 0)
            .map(|(k, q)| (k.clone(), *q))
            .collect();
        let roll = rng.random_range(0..100);
        let cmd = if held.is_empty() || roll < 30 {
            let n = rng.random_range(1..=2);
            let lines: Vec<ReceivedLine> = (0..n)
                .map(|_| {
                    let lot = LOTS[rng.random_range(0..LOTS.len())];
                    let qty = rng.random_range(1..=20u32);
                    *self.expect.stock.entry((lot.into(), "DOCK-1".into())).or_default() += qty as i64;
                    self.expect.movements += 1;
                    ReceivedLine {
                        item: "F200".into(),
                        gtin: Some("06901234500028".into()),
                        lot: lot.into(),
                        expiry: None,
                        qty,
                        net_weight_kg: None,
                        line: None,
                        location: "DOCK-1".into(),
                        lot_status: "released".into(),
                        new_lot: false,
                        expiry_before: None,
                    }
                })
                .collect();
            Cmd::Receive {
                task: None,
                scan: "(01)06901234500028(10)L2311".into(),
                sscc: None,
                lines,
                verdict: "ok".into(),
                warnings: vec![],
                authorised_by: None,
                reason: None,
            }
        } else {
            let ((lot, from), have) = held[rng.random_range(0..held.len())].clone();
            let qty = rng.random_range(1..=have.min(15)) as u32;
            *self.expect.stock.get_mut(&(lot.clone(), from.clone())).unwrap() -= qty as i64;
            self.expect.movements += 1;
            if roll < 65 {
                let to = LOCATIONS.iter().find(|l| **l != from).unwrap().to_string();
                *self.expect.stock.entry((lot.clone(), to.clone())).or_default() += qty as i64;
                Cmd::Putaway {
                    task: None,
                    item: "F200".into(),
                    lot,
                    qty,
                    from,
                    to,
                }
            } else {
                self.expect.picked += qty as i64;
                Cmd::Pick {
                    task: "SO-1".into(),
                    line: 1,
                    item: "F200".into(),
                    lot,
                    location: from,
                    qty,
                    serials: vec![],
                    verdict: "ok".into(),
                    warnings: vec![],
                    override_reason: None,
                    customer: None,
                }
            }
        };
        let seq = self.cmds.len() as i64 + 1;
        let v = serde_json::to_value(&cmd).unwrap();
        self.cmds.push(CommandEnvelope {
            id: uuid::Uuid::now_v7().to_string(),
            device_id: self.device.clone(),
            seq,
            kind: cmd.kind().into(),
            schema_version: lotline_domain::command::SCHEMA_VERSION,
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            operator: Some("pick1".into()),
            payload: v["payload"].clone(),
        });
        self.acked.push(None);
    }

    pub fn first_unacked(&self) -> Option<usize> {
        self.acked.iter().position(Option::is_none)
    }

    /// The next batch: from the lowest unacknowledged command, at most `max` commands and the
    /// protocol's limits. (first index, gzip-compressed body)
    pub fn batch_from(&self, first: usize, max: usize) -> (usize, Vec<u8>) {
        let mut end = (first + max.clamp(1, MAX_BATCH_COMMANDS)).min(self.cmds.len());
        loop {
            let body = serde_json::to_vec(&json!({
                "device_id": self.device,
                "schema_version": lotline_domain::command::SCHEMA_VERSION,
                "commands": &self.cmds[first..end],
            }))
            .unwrap();
            if body.len() <= MAX_BATCH_BYTES || end - first == 1 {
                return (end - first, lotline_hub::bench::gzip(&body));
            }
            end = first + (end - first) / 2;
        }
    }

    /// Takes a hub's answer in: applied commands are acknowledged (an answer for a command already
    /// acknowledged must carry the same `applied_at`: the stored outcome); a rejection fails.
    pub fn take(&mut self, r: &UploadResponse) -> usize {
        let mut n = 0;
        for o in &r.outcomes {
            let i = (o.seq - 1) as usize;
            assert_eq!(self.cmds[i].id, o.id, "outcome for seq {}", o.seq);
            match &o.outcome {
                Outcome::Applied { applied_at } => {
                    match &self.acked[i] {
                        Some(was) => assert_eq!(was, applied_at, "seq {}: a second, different outcome", o.seq),
                        None => n += 1,
                    }
                    self.acked[i] = Some(applied_at.clone());
                }
                Outcome::Rejected { code, message, .. } => panic!("seq {} rejected: {code}: {message}", o.seq),
                Outcome::RetryLater { .. } => {}
            }
        }
        n
    }
}

/// Uploads a gzip-compressed batch as the device does: `Err` on a transport failure or a
/// non-200 answer (the commands stay unacknowledged).
pub fn post_batch(agent: &ureq::Agent, url: &str, token: &str, body: &[u8]) -> Result<UploadResponse, String> {
    match agent
        .post(&format!("{url}/v1/commands"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .set("Content-Encoding", "gzip")
        .send_bytes(body)
    {
        Ok(r) => r.into_json().map_err(|e| e.to_string()),
        Err(ureq::Error::Status(s, r)) => Err(format!("{s}: {}", r.into_string().unwrap_or_default())),
        Err(e) => Err(e.to_string()),
    }
}

/// One page of a bucket's changes.
pub fn page(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    bucket: &str,
    after: i64,
    limit: usize,
) -> Result<ChangePage, String> {
    match agent
        .get(&format!("{url}/v1/buckets/{bucket}/changes"))
        .query("after", &after.to_string())
        .query("generation", "1")
        .query("limit", &limit.to_string())
        .set("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Ok(r) => r.into_json().map_err(|e| e.to_string()),
        Err(ureq::Error::Status(s, r)) => Err(format!("{s}: {}", r.into_string().unwrap_or_default())),
        Err(e) => Err(e.to_string()),
    }
}

/// Every change in the store, in `seq` order.
pub fn all_changes(store: &Store) -> Vec<(String, Change, u32, u32, i64)> {
    store
        .read(|tx| {
            tx.query(
                "SELECT seq, bucket, tbl, key, op, data, checksum, cum_checksum, n FROM changes ORDER BY seq",
                &[],
            )
        })
        .unwrap()
        .into_iter()
        .map(|r| {
            let change = Change {
                seq: r[0].int(),
                table: r[2].text(),
                key: r[3].text(),
                op: if r[4].text() == "put" {
                    ChangeOp::Put
                } else {
                    ChangeOp::Delete
                },
                data: r[5].opt_text().map(|t| serde_json::from_str::<Value>(&t).unwrap()),
            };
            (r[1].text(), change, r[6].int() as u32, r[7].int() as u32, r[8].int())
        })
        .collect()
}

/// The change log: seqs 1..n without a gap; in each bucket the count runs 1, 2, … and every
/// stored checksum and running checksum matches a recomputation with `change_checksum`; the
/// bucket table agrees; replaying the stock changes gives the stock table.
pub fn check_change_log(store: &Store, what: &str) {
    let all = all_changes(store);
    for (i, (_, c, ..)) in all.iter().enumerate() {
        assert_eq!(
            c.seq,
            i as i64 + 1,
            "{what}: change seqs have a gap or are out of order"
        );
    }
    let mut per: HashMap<String, (u32, i64, i64)> = HashMap::new();
    let mut replayed: BTreeMap<String, i64> = BTreeMap::new();
    for (bucket, c, sum, cum, n) in &all {
        let st = per.entry(bucket.clone()).or_insert((0, 0, 0));
        let want = change_checksum(c);
        assert_eq!(*sum, want, "{what}: checksum of change {}", c.seq);
        st.0 = st.0.wrapping_add(want);
        st.1 += 1;
        st.2 = c.seq;
        assert_eq!(*cum, st.0, "{what}: cum_checksum of change {} in {bucket}", c.seq);
        assert_eq!(*n, st.1, "{what}: count of change {} in {bucket}", c.seq);
        if c.table == "stock" {
            let qty = c.data.as_ref().map(|d| d["qty"].as_i64().unwrap()).unwrap_or(0);
            replayed.insert(c.key.clone(), qty);
        }
    }
    let buckets = store
        .read(|tx| tx.query("SELECT name, head, cum_checksum, changes FROM buckets", &[]))
        .unwrap();
    assert_eq!(buckets.len(), per.len(), "{what}: buckets");
    for b in buckets {
        let st = per[&b[0].text()];
        assert_eq!(
            (b[1].int(), b[2].int() as u32, b[3].int()),
            (st.2, st.0, st.1),
            "{what}: bucket {} head, checksum, count",
            b[0].text()
        );
    }
    replayed.retain(|_, q| *q != 0);
    let table: BTreeMap<String, i64> = store
        .read(|tx| tx.query("SELECT item, lot, location, qty FROM stock", &[]))
        .unwrap()
        .into_iter()
        .map(|r| (format!("{}/{}@{}", r[0].text(), r[1].text(), r[2].text()), r[3].int()))
        .collect();
    assert_eq!(
        replayed, table,
        "{what}: the stock changes replayed give the stock table"
    );
}

/// Each command recorded once, the effects applied once, the change log sound.
pub fn check_exactly_once(store: &Store, ob: &Outbox, what: &str) {
    let n = ob.len() as i64;
    let r = store
        .read(|tx| {
            tx.one(
                "SELECT COUNT(*), COUNT(DISTINCT id), MIN(seq), MAX(seq), COUNT(DISTINCT seq),
                        SUM(CASE WHEN outcome = 'applied' THEN 1 ELSE 0 END)
                 FROM commands WHERE device_id = $1",
                &[(&ob.device).into()],
            )
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        r.iter().map(|v| v.int()).collect::<Vec<_>>(),
        vec![n, n, 1, n, n, n],
        "{what}: commands rows, distinct ids, first and last seq, distinct seqs, applied"
    );
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM commands"),
        n,
        "{what}: no other rows"
    );
    let ids: Vec<String> = store
        .read(|tx| tx.query("SELECT id FROM commands ORDER BY seq", &[]))
        .unwrap()
        .into_iter()
        .map(|r| r[0].text())
        .collect();
    let sent: Vec<String> = ob.cmds.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        ids, sent,
        "{what}: the commands recorded are the ones sent, in seq order"
    );
    assert_eq!(
        count(
            store,
            &format!("SELECT recorded_through FROM devices WHERE id = '{}'", ob.device)
        ),
        n
    );
    let stock: BTreeMap<(String, String), i64> = store
        .read(|tx| tx.query("SELECT lot, location, qty FROM stock WHERE item = 'F200'", &[]))
        .unwrap()
        .into_iter()
        .map(|r| ((r[0].text(), r[1].text()), r[2].int()))
        .collect();
    let mut want = ob.expect.stock.clone();
    want.retain(|_, q| *q != 0);
    assert_eq!(stock, want, "{what}: stock is the sum of the commands' effects");
    assert_eq!(
        count(store, "SELECT COUNT(*) FROM movements"),
        ob.expect.movements,
        "{what}: one movement per line moved"
    );
    assert_eq!(
        count(
            store,
            "SELECT qty_done FROM task_lines WHERE task = 'SO-1' AND line = 1"
        ),
        ob.expect.picked,
        "{what}: the task line's quantity done"
    );
    check_change_log(store, what);
}

use super::common::count;
