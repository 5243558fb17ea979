//! `lotline run-script`'s ops (JSON lines) and `lotline audit export`.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};

use super::session::{Op, Session};
use crate::domain::text::Text;
use crate::store::{Store, StoreError};

/// One line of a script, as read.
pub enum ScriptLine {
    Text(String),
    /// A line the reader did not take (too long), with why.
    Refused(Text),
}

fn refusal(session: &Session, step: usize, op: Value, code: &str, t: &Text) -> Value {
    let prompt = session.state().prompt();
    json!({
        "step": step, "op": op, "ok": false, "state": session.state().name(), "verdict": null,
        "reasons": [], "prompt_en": prompt.en, "prompt_zh": prompt.zh,
        "error": {"code": code, "message": t.en, "message_zh": t.zh},
    })
}

/// Runs one line: parses the op and hands it to the session. Never panics on bad input: a line
/// that is not an op is `ok:false` with `bad_op` or `unknown_op`, and changes nothing.
pub fn script_line(session: &mut Session, step: usize, line: ScriptLine, now: DateTime<FixedOffset>) -> Value {
    let text = match line {
        ScriptLine::Text(t) => t,
        ScriptLine::Refused(t) => return refusal(session, step, Value::Null, "bad_op", &t),
    };
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let t = Text::new(
                format!("line {step} is not a JSON object: {e}"),
                format!("第 {step} 行不是 JSON 对象：{e}"),
            );
            return refusal(session, step, Value::Null, "bad_op", &t);
        }
    };
    let name = v.get("op").cloned().unwrap_or(Value::Null);
    const OPS: [&str; 15] = [
        "login",
        "start",
        "scan",
        "qty",
        "location",
        "reason",
        "supervisor",
        "confirm",
        "release",
        "label",
        "finish",
        "logout",
        "second_check",
        "short",
        "tags",
    ];
    match name.as_str() {
        Some(n) if OPS.contains(&n) => {}
        Some(n) => {
            let t = Text::new(
                format!("'{n}' is not an op: use one of {}", OPS.join(", ")),
                format!("「{n}」不是可用的操作：应为 {} 之一", OPS.join("、")),
            );
            return refusal(session, step, name.clone(), "unknown_op", &t);
        }
        None => {
            let t = Text::new(
                "the line has no \"op\": each line is one op such as {\"op\":\"scan\",\"data\":\"...\"}",
                "该行没有 \"op\"：每行一个操作，例如 {\"op\":\"scan\",\"data\":\"...\"}",
            );
            return refusal(session, step, name, "bad_op", &t);
        }
    }
    let op: Op = match serde_json::from_value(v) {
        Ok(op) => op,
        Err(e) => {
            let t = Text::new(
                format!("the '{}' op is malformed: {e}", name.as_str().unwrap_or("")),
                format!("「{}」操作格式不对：{e}", name.as_str().unwrap_or("")),
            );
            return refusal(session, step, name, "bad_op", &t);
        }
    };
    session.handle(op, now).to_json(step)
}

/// Writes the audit record to `out` as CSV or a JSON array; returns the number of entries.
/// The file appears only when complete (written beside it, then renamed).
pub fn export_audit(store: &Store, out: &Path, json_format: bool) -> Result<usize, StoreError> {
    let (body, n) = audit_bytes(store, json_format)?;
    write_atomically(out, &body).map_err(|e| StoreError::Data(format!("cannot write {}: {e}", out.display())))?;
    Ok(n)
}

/// Writes the commands not yet sent to the hub to `out` as an outbox file (`lotline-outbox`, the
/// protocol's command envelopes in `seq` order), for a site without network: the hub ingests
/// it with the same exactly-once guarantee as an upload. The file appears only when complete.
/// Returns the number of commands and their first and last `seq`.
pub fn export_outbox(
    store: &Store,
    out: &Path,
    now: DateTime<FixedOffset>,
) -> Result<(usize, Option<(i64, i64)>), StoreError> {
    // The hub's seq is the local one minus the enrolment's base (store::sync::SEQ_BASE_KEY).
    let base = store.seq_base()?;
    let commands: Vec<lotline_protocol::CommandEnvelope> = store
        .outbox_commands()?
        .into_iter()
        .filter(|c| c.state == "pending" || c.state == "in_flight")
        .map(|c| lotline_protocol::CommandEnvelope {
            id: c.id,
            device_id: c.device_id,
            seq: c.seq - base,
            kind: c.kind,
            schema_version: u32::try_from(c.schema_version).unwrap_or(0),
            created_at: c.created_at,
            operator: c.operator,
            payload: c.payload,
        })
        .collect();
    let range = commands.first().zip(commands.last()).map(|(a, b)| (a.seq, b.seq));
    let n = commands.len();
    let file = lotline_protocol::OutboxFile::new(
        store.device_id()?,
        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        commands,
    );
    file.check()
        .map_err(|e| StoreError::Data(format!("the outbox is not consistent: {e}")))?;
    let mut body = serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Data(e.to_string()))?;
    body.push(b'\n');
    write_atomically(out, &body).map_err(|e| StoreError::Data(format!("cannot write {}: {e}", out.display())))?;
    Ok((n, range))
}

/// The audit record as `export_audit` writes it (CSV or a JSON array), and its number of entries.
pub fn audit_bytes(store: &Store, json_format: bool) -> Result<(Vec<u8>, usize), StoreError> {
    let (rows, _) = store.audit_entries()?;
    let mut body = Vec::new();
    if json_format {
        let v: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut e = serde_json::to_value(&r.entry).unwrap_or_default();
                e["id"] = json!(r.id);
                e["prev_hash"] = json!(r.prev_hash);
                e["hash"] = json!(r.hash);
                e
            })
            .collect();
        serde_json::to_writer_pretty(&mut body, &v).map_err(|e| StoreError::Data(e.to_string()))?;
        body.push(b'\n');
    } else {
        let cols = [
            "id",
            "counter",
            "at",
            "device_id",
            "operator",
            "authorised_by",
            "action",
            "command_id",
            "gate",
            "task_id",
            "item_id",
            "lot",
            "location",
            "scan",
            "verdict",
            "reasons",
            "reason",
            "before",
            "after",
            "prev_hash",
            "hash",
        ];
        let _ = writeln!(body, "{}", cols.join(","));
        for r in &rows {
            let e = &r.entry;
            let o = |v: &Option<String>| v.clone().unwrap_or_default();
            let fields = [
                r.id.to_string(),
                e.counter.to_string(),
                e.at.clone(),
                e.device_id.clone(),
                o(&e.operator),
                o(&e.authorised_by),
                e.action.clone(),
                o(&e.command_id),
                o(&e.gate),
                o(&e.task_id),
                o(&e.item_id),
                o(&e.lot),
                o(&e.location),
                o(&e.scan),
                o(&e.verdict),
                e.reasons.clone(),
                o(&e.reason),
                o(&e.before),
                o(&e.after),
                r.prev_hash.clone(),
                r.hash.clone(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            let _ = writeln!(body, "{}", line.join(","));
        }
    }
    Ok((body, rows.len()))
}

/// One CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}
