//! The `hearth` binary as an operator runs it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn hearth() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
}

#[test]
fn validate_reports_each_file_and_fails_on_invalid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &good,
        r#"{"resourceType": "Patient", "birthDate": "1970-01-01"}"#,
    )
    .unwrap();
    std::fs::write(
        &bad,
        r#"{"resourceType": "Patient", "birthDate": "1970-13-01"}"#,
    )
    .unwrap();

    let ok = hearth().arg("validate").arg(&good).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let failed = hearth()
        .arg("validate")
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(stdout.contains("Patient.birthDate"), "{stdout}");
    assert!(String::from_utf8_lossy(&failed.stderr).contains("1 of 2 files"));
}

#[test]
fn serve_prints_its_address_first_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("cli.db").display());
    let migrated = hearth()
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(migrated.status.success());

    let mut child = hearth()
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first
        .trim()
        .strip_prefix("hearth listening on ")
        .expect("address on the first line")
        .to_owned();

    let response =
        std::net::TcpStream::connect(address.trim_start_matches("http://")).map(|mut stream| {
            use std::io::{Read, Write};
            stream
                .write_all(b"GET /metadata HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            stream.read_to_string(&mut text).unwrap();
            text
        });
    assert!(response.unwrap().starts_with("HTTP/1.1 200"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
