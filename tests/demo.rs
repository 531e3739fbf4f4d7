//! `hearth demo` and `hearth serve --demo` as a user runs them: they load a population and the
//! printed URLs answer.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `hearth ARGS`, reads its output up to the `/metadata` line, and checks that the
/// printed URLs answer.
async fn printed_urls_answer(args: &[&str], persons: u64) {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut lines = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let done = line.contains("/metadata");
        lines.push(line);
        if done {
            break;
        }
    }
    let text = lines.join("\n");
    assert!(text.starts_with("hearth listening on http://"), "{text}");
    assert!(
        text.contains(&format!("loaded {persons} persons")),
        "{text}"
    );
    let url_of = |label: &str| {
        lines
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("no {label:?} line in:\n{text}"))
            .to_owned()
    };

    let client = reqwest::Client::new();
    let patient: serde_json::Value = client
        .get(url_of("a Patient"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patient["resourceType"], "Patient");
    let history: serde_json::Value = client
        .get(url_of("its history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["type"], "history");
    assert_eq!(history["entry"][0]["resource"]["id"], patient["id"]);
    let observation = client.get(url_of("an Observation")).send().await.unwrap();
    assert_eq!(observation.status(), reqwest::StatusCode::OK);
}

#[tokio::test]
async fn demo_loads_a_population_and_its_printed_urls_answer() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("demo.db").display());
    printed_urls_answer(
        &[
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--patients",
            "3",
            "--database-url",
            &url,
        ],
        3,
    )
    .await;
}

#[tokio::test]
async fn serve_with_demo_loads_a_population_with_the_serve_flags() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("served.db").display());
    printed_urls_answer(
        &[
            "serve",
            "--demo",
            "--demo-patients",
            "2",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--sqlite-synchronous",
            "normal",
        ],
        2,
    )
    .await;
    assert!(dir.path().join("served.db").exists());
}
