//! `neardup serve` as a process: signals, limits on a real socket, the
//! loopback rule, and SIGKILL during adds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use neardup_index::{Index, OpenOptions};
use neardup_testing::distinct_batch;
use serde_json::{json, Value};

const TOKEN: &str = "serve-test-token-0123456789";

fn body(records: &[(String, String)]) -> String {
    let recs: Vec<Value> = records.iter().map(|(id, t)| json!({"id": id, "text": t})).collect();
    json!({ "records": recs }).to_string()
}

struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_index(dir: &Path) -> PathBuf {
    let idx = dir.join("idx");
    let out = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .args(["index", "create"])
        .arg(&idx)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    fs_err::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    idx
}

/// Starts `neardup serve` on a free loopback port.
fn serve(dir: &Path, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .args(["serve", "--index"])
        .arg(dir.join("idx"))
        .args(["--listen", "127.0.0.1:0", "--token-file"])
        .arg(dir.join("token"))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines.next().expect("a line on stderr").unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .parse()
        .unwrap();
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    Served { child, addr }
}

/// Sends one request (`Connection: close`); returns status and body.
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    read_response(s)
}

fn read_response(mut s: TcpStream) -> (u16, Vec<u8>) {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a whole response");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, raw[end + 4..].to_vec())
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

fn wait_exit(child: &mut Child) -> i32 {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < until, "serve did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn issue_11_sigterm_finishes_the_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    create_index(dir.path());
    let mut s = serve(dir.path(), &[]);
    let recs = distinct_batch(1, 50, 30);
    let payload = body(&recs);
    let (first, rest) = payload.as_bytes().split_at(payload.len() / 2);
    // Headers and half the body, then SIGTERM, then the rest.
    let mut conn = TcpStream::connect(s.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        conn,
        "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    )
    .unwrap();
    conn.write_all(first).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    kill(&s.child, "-TERM");
    // It stops accepting (the signal may take a moment to land)...
    let until = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(s.addr).is_ok() {
        assert!(Instant::now() < until, "serve still accepts after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // ...but waits for the request in flight.
    assert!(s.child.try_wait().unwrap().is_none(), "serve exited with a request in flight");
    conn.write_all(rest).unwrap();
    let (status, out) = read_response(conn);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&out));
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["results"].as_array().unwrap().len(), 50);
    assert_eq!(wait_exit(&mut s.child), 0);
    let index = Index::open(dir.path().join("idx"), &OpenOptions::new()).unwrap();
    assert_eq!(index.records(), 50, "the add in flight was finished and kept");
    assert!(index.verify().unwrap().is_sound());
}

#[test]
fn issue_11_a_stop_waits_for_a_stalled_request_only_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    create_index(dir.path());
    let mut s = serve(dir.path(), &["--shutdown-grace", "1"]);
    // A client that announces a body and never sends it all.
    let mut conn = TcpStream::connect(s.addr).unwrap();
    write!(
        conn,
        "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 1000\r\n\r\n{{\"records\": ["
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    kill(&s.child, "-TERM");
    // Without a grace period the stop would wait for this client forever
    // (wait_exit gives up after 60 s).
    assert_eq!(wait_exit(&mut s.child), 0);
    drop(conn);
    let index = Index::open(dir.path().join("idx"), &OpenOptions::new()).unwrap();
    assert_eq!(index.records(), 0);
    assert!(index.verify().unwrap().is_sound());
}

#[test]
fn issue_11_limits_answer_413_on_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    create_index(dir.path());
    let s = serve(dir.path(), &["--max-body", "1K", "--max-records", "3"]);
    let (status, out) =
        request(s.addr, "POST", "/v1/add", body(&distinct_batch(1, 40, 30)).as_bytes());
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&out));
    let err: Value = serde_json::from_slice(&out).unwrap();
    assert!(err["error"].as_str().unwrap().contains("1024 bytes"), "{err}");
    // A client that writes all of a large body before reading still gets
    // the answer, announced length or chunked.
    let big = body(&[("a".to_owned(), "x".repeat(8 << 20))]);
    let (status, _) = request(s.addr, "POST", "/v1/add", big.as_bytes());
    assert_eq!(status, 413);
    let mut c = TcpStream::connect(s.addr).unwrap();
    write!(
        c,
        "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    )
    .unwrap();
    assert_eq!(read_response(c).0, 413);
    let recs: Vec<(String, String)> = (0..4).map(|i| (i.to_string(), "t".to_owned())).collect();
    let (status, out) = request(s.addr, "POST", "/v1/add", body(&recs).as_bytes());
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&out));
    let (status, out) = request(s.addr, "POST", "/v1/check", b"{\"records\": [{\"id\": 1}]}");
    assert_eq!(status, 400);
    let err: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(err["error"], "records[0].id is a number, expected a string");
    let (status, out) = request(s.addr, "GET", "/v1/stats", b"");
    assert_eq!(status, 200);
    let stats: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(stats["records"], 0, "{stats}");
}

#[test]
fn issue_11_no_auth_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let idx = create_index(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .args(["serve", "--insecure-no-auth", "--listen", "0.0.0.0:0", "--index"])
        .arg(&idx)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback") && err.contains("0.0.0.0"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_neardup"))
        .args(["serve", "--listen", "127.0.0.1:0", "--index"])
        .arg(&idx)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token-file"));
}

/// SIGKILL at varied moments during adds: the index opens, verifies, holds
/// each batch whole or not at all (and every acknowledged one), and
/// rerunning the batches completes the job.
#[test]
fn issue_11_sigkill_during_adds_leaves_whole_batches() {
    const PER: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    create_index(dir.path());
    let mut next = 0u64;
    for (round, delay_ms) in [40u64, 150, 330].into_iter().enumerate() {
        let mut s = serve(dir.path(), &[]);
        let addr = s.addr;
        let first = next;
        let sender = std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut b = first;
            loop {
                let payload = body(&distinct_batch(b, PER, 30));
                let Ok(mut c) = TcpStream::connect(addr) else { break };
                let sent = write!(
                    c,
                    "POST /v1/add HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                    payload.len()
                );
                let mut raw = Vec::new();
                if sent.is_err()
                    || c.read_to_end(&mut raw).is_err()
                    || !raw.starts_with(b"HTTP/1.1 200")
                {
                    break;
                }
                acked.push(b);
                b += 1;
            }
            (acked, b)
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        kill(&s.child, "-KILL");
        wait_exit(&mut s.child);
        let (acked, last) = sender.join().unwrap();
        next = last + 1;
        eprintln!("round {round}: {} batches acknowledged, killed during {last}", acked.len());

        let verify = Command::new(env!("CARGO_BIN_EXE_neardup"))
            .args(["index", "verify"])
            .arg(dir.path().join("idx"))
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "round {round}: `neardup index verify` failed: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
        let index = Index::open(dir.path().join("idx"), &OpenOptions::new()).unwrap();
        for b in 0..next {
            let recs = distinct_batch(b, PER, 30);
            let found = neardup_index::check(&index, &recs, false).unwrap();
            let dups =
                found.iter().filter(|o| o.status == neardup_index::CheckStatus::Duplicate).count();
            assert!(
                dups == 0 || dups == PER as usize,
                "round {round}: batch {b} is partly in ({dups})"
            );
            if acked.contains(&b) {
                assert_eq!(dups, PER as usize, "round {round}: acknowledged batch {b} is missing");
            }
        }
    }
    // Rerun every batch: all of them end up in, once.
    let s = serve(dir.path(), &[]);
    for b in 0..next {
        let (status, _) =
            request(s.addr, "POST", "/v1/add", body(&distinct_batch(b, PER, 30)).as_bytes());
        assert_eq!(status, 200);
    }
    let (_, out) = request(s.addr, "GET", "/v1/stats", b"");
    let stats: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(stats["records"], next * PER, "{stats}");
}
