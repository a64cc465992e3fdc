//! A fake browser: a raw HTTP/1.1 GET over loopback, and a running `claude --login` whose
//! stderr is watched for the authorization URL, so tests can play the user's part.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// GETs an `http://host:port/path?query` URL without following redirects.
pub fn get(url: &str) -> Page {
    let rest = url.strip_prefix("http://").expect("loopback http URL");
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let address = authority.replace("localhost", "127.0.0.1");
    let mut stream = TcpStream::connect(&address).expect("connect to loopback");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Page {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A running `claude --login`.
pub struct LoginRun {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl LoginRun {
    /// Starts `cmd` (a `claude --login …` command) with piped stdin/stdout/stderr.
    pub fn start(mut cmd: std::process::Command) -> LoginRun {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn claude");
        let stderr = child.stderr.take().unwrap();
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        let all = Arc::new(Mutex::new(String::new()));
        let sink = all.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        LoginRun {
            child,
            stdin,
            lines,
            stderr: all,
        }
    }

    /// The authorization URL printed on stderr.
    pub fn authorize_url(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains("/authorize?") => return line.trim().to_string(),
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        panic!(
            "no authorization URL on stderr:\n{}",
            self.stderr.lock().unwrap()
        );
    }

    /// Types a line on claude's stdin.
    pub fn type_line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin (nothing will be pasted).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits (at most 60 s) for claude to exit.
    pub fn finish(mut self) -> std::process::Output {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stdout = Vec::new();
                if let Some(mut out) = self.child.stdout.take() {
                    let _ = out.read_to_end(&mut stdout);
                }
                std::thread::sleep(Duration::from_millis(50));
                let stderr = self.stderr.lock().unwrap().clone().into_bytes();
                return std::process::Output {
                    status,
                    stdout,
                    stderr,
                };
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "claude --login did not finish:\n{}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LoginRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user approves at the authorization server: the 302's `Location` (the callback URL).
pub fn approve(authorize_url: &str) -> String {
    let page = get(authorize_url);
    assert_eq!(
        page.status, 302,
        "authorization server refused: {}",
        page.body
    );
    page.header("Location").expect("a Location").to_string()
}

/// Replaces (or adds) one query parameter of `url`.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with(&format!("{name}=")))
        .map(str::to_string)
        .collect();
    pairs.push(format!("{name}={value}"));
    format!("{base}?{}", pairs.join("&"))
}

/// Removes one query parameter of `url`.
pub fn without_param(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with(&format!("{name}=")))
        .collect();
    format!("{base}?{}", pairs.join("&"))
}
