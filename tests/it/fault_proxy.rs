//! A fault-injecting HTTP/1.1 proxy for the sync tests: it stands between a device and the hub on
//! loopback and, for a share of the requests, drops the connection, resets it halfway through the
//! request body, stalls, answers 5xx (before or after the hub saw the request), delivers the
//! request to the hub twice, or cuts the response short. One request per connection
//! (`Connection: close` both ways), so each fault hits exactly one exchange.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Closed before anything is forwarded.
    Drop,
    /// Half the request body read, then a TCP reset: the hub sees nothing.
    ResetMidRequest,
    /// Held without an answer, then closed.
    Stall,
    /// 503 without forwarding.
    Unavailable,
    /// Forwarded (the hub applies it), then 502 instead of the hub's answer.
    BadGatewayAfter,
    /// Forwarded twice; the second answer goes back.
    Duplicate,
    /// Forwarded; half the answer goes back, then a reset.
    TruncatedResponse,
}

pub const ALL_FAULTS: [Fault; 7] = [
    Fault::Drop,
    Fault::ResetMidRequest,
    Fault::Stall,
    Fault::Unavailable,
    Fault::BadGatewayAfter,
    Fault::Duplicate,
    Fault::TruncatedResponse,
];

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub forwarded: AtomicU64,
    counts: Mutex<std::collections::HashMap<Fault, u64>>,
}

impl Stats {
    pub fn count(&self, f: Fault) -> u64 {
        self.counts.lock().unwrap().get(&f).copied().unwrap_or(0)
    }
    fn hit(&self, f: Fault) {
        *self.counts.lock().unwrap().entry(f).or_default() += 1;
    }
}

pub struct FaultProxy {
    pub url: String,
    /// The share of requests that get a fault, in parts per thousand (0: a plain proxy).
    pub per_mille: Arc<AtomicU64>,
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy on a free loopback port in front of `upstream` (`127.0.0.1:PORT`), faulting
    /// `per_mille`/1000 of the requests with faults drawn from a generator seeded with `seed`;
    /// `stall` is how long a stalled exchange is held.
    pub fn start(upstream: SocketAddr, per_mille: u64, seed: u64, stall: Duration) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let rate = Arc::new(AtomicU64::new(per_mille));
        let stats = Arc::new(Stats::default());
        let (stop2, rate2, stats2) = (stop.clone(), rate.clone(), stats.clone());
        let thread = std::thread::spawn(move || {
            let mut rng = seed.max(1);
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        rng = xorshift(rng);
                        let fault = if rng % 1000 < rate2.load(Ordering::SeqCst) {
                            Some(ALL_FAULTS[(xorshift(rng) % ALL_FAULTS.len() as u64) as usize])
                        } else {
                            None
                        };
                        let stats = stats2.clone();
                        std::thread::spawn(move || {
                            let _ = exchange(client, upstream, fault, stall, &stats);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FaultProxy {
            url: format!("http://{addr}"),
            per_mille: rate,
            stats,
            stop,
            addr,
            thread: Some(thread),
        }
    }

    pub fn set_per_mille(&self, per_mille: u64) {
        self.per_mille.store(per_mille, Ordering::SeqCst);
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// One request read whole: the head (with `Connection: close`) and the body.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

fn read_request(client: &mut TcpStream, half_body: bool) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head_text = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut length = 0usize;
    let mut lines = Vec::new();
    for line in head_text.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") || line.is_empty() {
            continue;
        }
        lines.push(line.to_string());
    }
    let mut body = buf[head_end..].to_vec();
    let want = if half_body { length / 2 } else { length };
    while body.len() < want {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if half_body {
        return Ok(None);
    }
    let mut head = lines.join("\r\n");
    head.push_str("\r\nConnection: close\r\n\r\n");
    Ok(Some(Request {
        head: head.into_bytes(),
        body,
    }))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sends the request to the hub and reads its whole answer (the hub closes after it).
fn forward(upstream: SocketAddr, req: &Request, stats: &Stats) -> std::io::Result<Vec<u8>> {
    stats.forwarded.fetch_add(1, Ordering::SeqCst);
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    up.write_all(&req.head)?;
    up.write_all(&req.body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    Ok(answer)
}

fn reset(stream: TcpStream) {
    // SO_LINGER 0: close sends RST instead of FIN.
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a `linger` of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

const PLAIN_503: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nunavailable";
const PLAIN_502: &[u8] = b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad gateway";

fn exchange(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Option<Fault>,
    stall: Duration,
    stats: &Stats,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    let half = fault == Some(Fault::ResetMidRequest);
    let req = read_request(&mut client, half)?;
    let Some(req) = req else {
        if half {
            stats.requests.fetch_add(1, Ordering::SeqCst);
            stats.hit(Fault::ResetMidRequest);
            reset(client);
        }
        return Ok(());
    };
    stats.requests.fetch_add(1, Ordering::SeqCst);
    let Some(fault) = fault else {
        let answer = match forward(upstream, &req, stats) {
            Ok(a) => a,
            Err(_) => PLAIN_502.to_vec(),
        };
        client.write_all(&answer)?;
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    };
    stats.hit(fault);
    match fault {
        Fault::Drop | Fault::ResetMidRequest => {
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::Stall => {
            std::thread::sleep(stall);
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::Unavailable => {
            client.write_all(PLAIN_503)?;
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::BadGatewayAfter => {
            let _ = forward(upstream, &req, stats);
            client.write_all(PLAIN_502)?;
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::Duplicate => {
            let _ = forward(upstream, &req, stats);
            let answer = forward(upstream, &req, stats).unwrap_or_else(|_| PLAIN_502.to_vec());
            client.write_all(&answer)?;
            let _ = client.shutdown(Shutdown::Both);
        }
        Fault::TruncatedResponse => {
            let answer = forward(upstream, &req, stats).unwrap_or_default();
            let cut = (answer.len() / 2).max(1).min(answer.len());
            client.write_all(&answer[..cut])?;
            reset(client);
        }
    }
    Ok(())
}

/// The proxy passes a plain exchange through untouched and faults what it is told to.
#[test]
fn the_fault_proxy_forwards_and_faults() {
    // A tiny upstream: answers every request with its body's length.
    let up = TcpListener::bind("127.0.0.1:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let hits2 = hits.clone();
    std::thread::spawn(move || {
        for s in up.incoming() {
            let mut s = s.unwrap();
            hits2.fetch_add(1, Ordering::SeqCst);
            let req = read_request(&mut s, false).unwrap().unwrap();
            let body = format!("{}", req.body.len());
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(answer.as_bytes()).unwrap();
        }
    });
    let send = |proxy: &FaultProxy| -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(proxy.addr())?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello")?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        Ok(out)
    };
    let plain = FaultProxy::start(up_addr, 0, 1, Duration::from_millis(10));
    let answer = send(&plain).unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200 OK") && answer.ends_with(b"\r\n\r\n5"),
        "{answer:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let faulty = FaultProxy::start(up_addr, 1000, 7, Duration::from_millis(10));
    for _ in 0..200 {
        let _ = send(&faulty);
    }
    for f in ALL_FAULTS {
        assert!(faulty.stats.count(f) > 0, "{f:?} never happened");
    }
    // Duplicates reach the upstream twice; drops, resets, stalls and 503s never reach it.
    let forwarded = faulty.stats.forwarded.load(Ordering::SeqCst);
    let expected = faulty.stats.count(Fault::BadGatewayAfter)
        + 2 * faulty.stats.count(Fault::Duplicate)
        + faulty.stats.count(Fault::TruncatedResponse);
    assert_eq!(forwarded, expected);
    assert_eq!(hits.load(Ordering::SeqCst), 1 + expected);
}
