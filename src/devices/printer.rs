//! Label printers: sending a ZPL label to a printer on a serial port, to a file or device node
//! (`/dev/usb/lp0`, a FIFO a relay reads, a spool file), or to the simulated printer, which
//! appends what it receives to a file.
//!
//! A printer that does not take the bytes within the timeout (powered off behind hardware flow
//! control, paused, a USB printer that stopped taking data, a FIFO nobody reads) is
//! [`PrinterError::NoAnswer`]. A regular file is written in one append and, when the write fails,
//! cut back to its old length, so no half label is left in it; bytes a device has taken cannot
//! be taken back, but a printer prints a ZPL label only at its closing `^XZ`, which comes last.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialport::SerialPort;

use super::serial::{self, OpenError, SerialSettings};
use crate::domain::text::Bilingual;

/// How long a printer gets to take a label when the caller has no reason to choose otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a label goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    /// A printer on a serial port (RS-232, a USB-serial bridge, CDC-ACM).
    Serial(SerialSettings),
    /// A file or device node that must exist: a USB printer's `/dev/usb/lp0`, a FIFO, a spool file.
    File(PathBuf),
    /// The simulated printer: appends the ZPL it receives to this file, creating it.
    Simulated(PathBuf),
}

impl PrinterTarget {
    /// The port or path, as messages name it.
    pub fn place(&self) -> String {
        match self {
            PrinterTarget::Serial(s) => s.path.clone(),
            PrinterTarget::File(p) | PrinterTarget::Simulated(p) => p.display().to_string(),
        }
    }
}

/// Why a label did not reach the printer. Each message names the port or path and says what to
/// check; nothing was printed unless the message says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterError {
    #[error(
        "the label printer at {port} did not take the label within {secs} s: check the printer is on, loaded with labels, not paused, and connected to {port}; then print the label again"
    )]
    NoAnswer { port: String, secs: u64 },
    #[error(
        "there is no label printer at {place}: check the printer is on and connected to {place} (cable, USB), or choose the right port; then print the label again"
    )]
    Missing { place: String },
    #[error(
        "cannot write the label to {path}: the folder {folder} does not exist; create it or give another path for the printer"
    )]
    MissingFolder { path: String, folder: String },
    #[error(
        "no permission to use the label printer at {place}: add the lotline user to the printer's group (dialout for serial ports, lp for USB printers; see assets/udev) and log in again"
    )]
    Permission { place: String },
    #[error(
        "the label printer at {place} failed ({detail}); nothing more was sent: check the printer and its connection, then print the label again"
    )]
    Failed { place: String, detail: String },
}

impl Bilingual for PrinterError {
    fn message_zh(&self) -> String {
        match self {
            PrinterError::NoAnswer { port, secs } => format!(
                "标签打印机 {port} 在 {secs} 秒内没有接收标签：请检查打印机已开机、已装好标签纸、未暂停，并已连接到 {port}；然后重新打印标签"
            ),
            PrinterError::Missing { place } => format!(
                "{place} 上没有标签打印机：请检查打印机已开机并已连接到 {place}（线缆、USB），或选择正确的端口；然后重新打印标签"
            ),
            PrinterError::MissingFolder { path, folder } => {
                format!("无法把标签写入 {path}：文件夹 {folder} 不存在；请创建该文件夹，或为打印机指定其他路径")
            }
            PrinterError::Permission { place } => format!(
                "没有使用标签打印机 {place} 的权限：请把 lotline 用户加入打印机所属的组（串口为 dialout，USB 打印机为 lp；见 assets/udev），然后重新登录"
            ),
            PrinterError::Failed { place, detail } => {
                format!("标签打印机 {place} 出错（{detail}），未再发送任何数据：请检查打印机及其连接，然后重新打印标签")
            }
        }
    }
}

/// Sends one ZPL label: all of it within `timeout`, or an error.
pub fn send(target: &PrinterTarget, zpl: &str, timeout: Duration) -> Result<(), PrinterError> {
    match target {
        PrinterTarget::Serial(s) => send_serial(s, zpl.as_bytes(), timeout),
        PrinterTarget::File(p) => send_file(p, zpl.as_bytes(), timeout, false),
        PrinterTarget::Simulated(p) => send_file(p, zpl.as_bytes(), timeout, true),
    }
}

fn no_answer(place: &str, timeout: Duration) -> PrinterError {
    PrinterError::NoAnswer {
        port: place.to_owned(),
        secs: timeout.as_secs_f64().ceil() as u64,
    }
}

fn io_error(place: &str, e: &std::io::Error, timeout: Duration) -> PrinterError {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => PrinterError::Permission {
            place: place.to_owned(),
        },
        std::io::ErrorKind::NotFound => PrinterError::Missing {
            place: place.to_owned(),
        },
        // ENXIO: a FIFO nobody reads, a device node without its device.
        _ if e.raw_os_error() == Some(libc::ENXIO) => no_answer(place, timeout),
        _ if super::is_gone(e) => PrinterError::Missing {
            place: place.to_owned(),
        },
        _ => PrinterError::Failed {
            place: place.to_owned(),
            detail: e.to_string(),
        },
    }
}

/// Opens the port, writes everything before the deadline, then waits (to the same deadline) for
/// the port's output queue to empty. A printer holding the line with flow control, or a port
/// nobody reads, lets the writes time out: `NoAnswer`.
fn send_serial(s: &SerialSettings, bytes: &[u8], timeout: Duration) -> Result<(), PrinterError> {
    let place = s.path.as_str();
    let deadline = Instant::now() + timeout;
    let mut port = serial::open(s, timeout).map_err(|e| match e {
        OpenError::Missing(_) => PrinterError::Missing { place: place.into() },
        OpenError::Failed(super::DeviceError::Serial(serial::SerialError::Permission { .. })) => {
            PrinterError::Permission { place: place.into() }
        }
        OpenError::Failed(detail) => PrinterError::Failed {
            place: place.into(),
            detail: detail.to_string(),
        },
    })?;
    // Non-blocking: serialport polls before each write, but a blocking write of more than the
    // room left would then wait for the rest without a limit.
    let fd = port.as_raw_fd();
    // SAFETY: fcntl on the port's own open descriptor.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
    let mut sent = 0;
    while sent < bytes.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(no_answer(place, timeout));
        }
        let _ = port.set_timeout(left);
        match port.write(&bytes[sent..]) {
            Ok(0) => return Err(no_answer(place, timeout)),
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Err(no_answer(place, timeout)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(io_error(place, &e, timeout)),
        }
    }
    // Not `flush` (tcdrain): it waits without a limit. The driver's output queue is polled instead.
    loop {
        match port.bytes_to_write() {
            Ok(0) => return Ok(()),
            Ok(_) if Instant::now() >= deadline => return Err(no_answer(place, timeout)),
            Ok(_) => std::thread::sleep(Duration::from_millis(5)),
            // A port that cannot say (some pseudo-terminals): the bytes were taken.
            Err(_) => return Ok(()),
        }
    }
}

/// Appends to a file or writes to a device node or FIFO, non-blocking with `poll` up to the
/// deadline. Only the simulated printer creates its file. A regular file is synced, and cut back
/// to its old length when the write fails.
fn send_file(path: &Path, bytes: &[u8], timeout: Duration, create: bool) -> Result<(), PrinterError> {
    let place = path.display().to_string();
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(PrinterError::MissingFolder {
            path: place,
            folder: folder.display().to_string(),
        });
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(create)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| io_error(&place, &e, timeout))?;
    // (A folder cannot be opened for writing: EISDIR, reported as `Failed`.)
    let meta = file.metadata().map_err(|e| io_error(&place, &e, timeout))?;
    let regular = meta.is_file();
    let old_len = meta.len();
    let result = write_with_deadline(&mut file, bytes, Instant::now() + timeout).and_then(|()| {
        if regular {
            file.sync_all().map_err(WriteFailure::Io)
        } else {
            Ok(())
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(failure) => {
            if regular {
                // No half label stays behind.
                let _ = file.set_len(old_len).and_then(|()| file.sync_all());
            }
            Err(match failure {
                WriteFailure::Timeout => no_answer(&place, timeout),
                WriteFailure::Io(e) => io_error(&place, &e, timeout),
            })
        }
    }
}

enum WriteFailure {
    Timeout,
    Io(std::io::Error),
}

fn write_with_deadline(file: &mut File, bytes: &[u8], deadline: Instant) -> Result<(), WriteFailure> {
    let mut sent = 0;
    while sent < bytes.len() {
        match file.write(&bytes[sent..]) {
            Ok(0) => return Err(WriteFailure::Timeout),
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(WriteFailure::Timeout);
                }
                wait_writable(file, left);
            }
            Err(e) => return Err(WriteFailure::Io(e)),
        }
    }
    Ok(())
}

/// Waits until `file` can take more bytes, or `left` has passed (rounded up to whole ms). An
/// error or hang-up shows at the next write.
fn wait_writable(file: &File, left: Duration) {
    let mut fds = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = left.as_micros().div_ceil(1000).clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for the duration of the call; the descriptor is owned by `file`.
    unsafe { libc::poll(&mut fds, 1, ms) };
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZPL: &str = "^XA\n^FO10,10^A0N,20,20^FDtest^FS\n^XZ\n";

    #[test]
    fn the_simulated_printer_appends_what_it_receives() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("printed.zpl");
        let target = PrinterTarget::Simulated(out.clone());
        send(&target, ZPL, DEFAULT_TIMEOUT).unwrap();
        send(&target, "^XA^XZ", DEFAULT_TIMEOUT).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), format!("{ZPL}^XA^XZ"));
    }

    #[test]
    fn a_file_target_must_exist_and_its_folder_too() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("lp0");
        let e = send(&PrinterTarget::File(missing.clone()), ZPL, DEFAULT_TIMEOUT).unwrap_err();
        assert_eq!(
            e,
            PrinterError::Missing {
                place: missing.display().to_string()
            }
        );
        let nowhere = dir.path().join("no-such-folder").join("labels.zpl");
        for target in [
            PrinterTarget::File(nowhere.clone()),
            PrinterTarget::Simulated(nowhere.clone()),
        ] {
            let e = send(&target, ZPL, DEFAULT_TIMEOUT).unwrap_err();
            assert!(matches!(&e, PrinterError::MissingFolder { folder, .. } if folder.ends_with("no-such-folder")));
            assert!(e.to_string().contains("no-such-folder") && e.message_zh().contains("no-such-folder"));
            assert!(e.message_zh().contains("文件夹"));
        }
        assert!(!nowhere.exists());
        // An existing file is appended to.
        std::fs::write(&missing, "before\n").unwrap();
        send(&PrinterTarget::File(missing.clone()), ZPL, DEFAULT_TIMEOUT).unwrap();
        assert_eq!(std::fs::read_to_string(&missing).unwrap(), format!("before\n{ZPL}"));
        // A folder is not a printer.
        let e = send(&PrinterTarget::File(dir.path().to_path_buf()), ZPL, DEFAULT_TIMEOUT).unwrap_err();
        assert!(
            matches!(e, PrinterError::Failed { .. } | PrinterError::Permission { .. }),
            "{e}"
        );
    }

    #[test]
    fn a_fifo_nobody_reads_does_not_answer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("printer.fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = Instant::now();
        let e = send(&PrinterTarget::File(fifo.clone()), ZPL, Duration::from_millis(300)).unwrap_err();
        assert!(
            matches!(&e, PrinterError::NoAnswer { port, .. } if *port == fifo.display().to_string()),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_fifo_whose_reader_stops_reading_does_not_answer_within_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("printer.fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // A reader that holds the FIFO open and never reads: the pipe buffer fills.
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let big = "^XA^FDxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx^FS^XZ\n".repeat(40_000);
        let started = Instant::now();
        let e = send(&PrinterTarget::File(fifo.clone()), &big, Duration::from_millis(400)).unwrap_err();
        let took = started.elapsed();
        assert!(matches!(e, PrinterError::NoAnswer { secs: 1, .. }), "{e}");
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[test]
    fn a_serial_printer_on_a_pseudo_terminal_receives_the_label() {
        let mut pty = crate::devices::sim::Pty::open(None).unwrap();
        let target = PrinterTarget::Serial(SerialSettings::new_8n1(pty.path().to_str().unwrap(), 9600));
        // The printer end stays connected: when the last sender closes a pseudo-terminal it hangs
        // up, and the master's reads fail with data still unread.
        let _connected = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(pty.path())
            .unwrap();
        // Larger than a pseudo-terminal's buffer, so the printer must read while it is sent.
        let label = format!(
            "^XA^CI28^FO10,10^FD全脂牛奶 x_y^FS{}^XZ\n",
            "^FO1,1^GB9,9,1^FS\n".repeat(20_000)
        );
        let want = label.len();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            let end = Instant::now() + Duration::from_secs(20);
            while got.len() < want && Instant::now() < end {
                if let Some(n) = pty.read(&mut buf, Duration::from_millis(50)) {
                    got.extend_from_slice(&buf[..n]);
                }
            }
            got
        });
        send(&target, &label, Duration::from_secs(10)).unwrap();
        let got = reader.join().unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), label);
    }

    #[test]
    fn a_serial_printer_that_takes_nothing_does_not_answer_within_the_timeout() {
        let pty = crate::devices::sim::Pty::open(None).unwrap();
        let port = pty.path().to_str().unwrap().to_owned();
        let target = PrinterTarget::Serial(SerialSettings::new_8n1(&port, 9600));
        // Nobody reads the other end: the buffer fills and the rest is not taken.
        let label = "^XA^FO1,1^GB9,9,1^FS\n".repeat(100_000);
        let started = Instant::now();
        let e = send(&target, &label, Duration::from_millis(500)).unwrap_err();
        let took = started.elapsed();
        assert_eq!(
            e,
            PrinterError::NoAnswer {
                port: port.clone(),
                secs: 1
            }
        );
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(e.to_string().contains(&port) && e.message_zh().contains(&port));
        drop(pty);
    }

    #[test]
    fn a_closed_serial_port_is_a_clear_error() {
        let mut pty = crate::devices::sim::Pty::open(None).unwrap();
        let port = pty.path().to_str().unwrap().to_owned();
        pty.unplug();
        let started = Instant::now();
        let e = send(
            &PrinterTarget::Serial(SerialSettings::new_8n1(&port, 9600)),
            ZPL,
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            matches!(&e, PrinterError::Missing { place } | PrinterError::Failed { place, .. } if *place == port),
            "{e:?}"
        );
        let e = send(
            &PrinterTarget::Serial(SerialSettings::new_8n1("/dev/lotline-no-such-printer", 9600)),
            ZPL,
            Duration::from_millis(500),
        )
        .unwrap_err();
        assert_eq!(
            e,
            PrinterError::Missing {
                place: "/dev/lotline-no-such-printer".into()
            }
        );
    }

    #[test]
    fn messages_name_the_place_and_say_what_to_do_in_both_languages() {
        let e = PrinterError::NoAnswer {
            port: "/dev/ttyUSB0".into(),
            secs: 5,
        };
        assert_eq!(
            e.to_string(),
            "the label printer at /dev/ttyUSB0 did not take the label within 5 s: check the printer is on, loaded with labels, not paused, and connected to /dev/ttyUSB0; then print the label again"
        );
        assert!(
            e.message_zh()
                .starts_with("标签打印机 /dev/ttyUSB0 在 5 秒内没有接收标签")
        );
        for e in [
            PrinterError::Missing { place: "/dev/x".into() },
            PrinterError::MissingFolder {
                path: "/dev/x".into(),
                folder: "/dev".into(),
            },
            PrinterError::Permission { place: "/dev/x".into() },
            PrinterError::Failed {
                place: "/dev/x".into(),
                detail: "EIO".into(),
            },
        ] {
            assert!(e.to_string().contains("/dev/x"), "{e}");
            assert!(e.message_zh().contains("/dev/x"), "{e}");
            assert!(e.message_zh().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }
}
