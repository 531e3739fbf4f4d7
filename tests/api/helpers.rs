//! Starts the real server on port 0 over a fresh database: a SQLite file in a temporary
//! directory, or, when HEARTH_TEST_DATABASE_URL is set, a fresh schema in that PostgreSQL database.

use hearth::config::Config;
use reqwest::{Response, StatusCode};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("loopback address"),
        ..Config::default()
    };
    match std::env::var("HEARTH_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            config.database_url = url;
            config.store.pg_schema = Some(format!("test_{}", uuid::Uuid::new_v4().simple()));
            config.store.pool_size = 4;
        }
        _ => config.database_url = format!("sqlite:{}", dir.path().join("hearth.db").display()),
    }
    adjust(&mut config);
    let app = hearth::Application::build(&config)
        .await
        .expect("server starts");
    let addr = app.local_addr().expect("bound address");
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.client
            .request(method, self.url(path))
            .header("content-type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a resource and returns its id.
    pub async fn create(&self, resource: &Value) -> String {
        let resource_type = resource["resourceType"].as_str().expect("resourceType");
        let response = self.post(resource_type, resource).await;
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, StatusCode::CREATED, "create failed: {body}");
        body["id"].as_str().expect("assigned id").to_owned()
    }
}

pub async fn status_and_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"))
    };
    (status, body)
}

/// Asserts an OperationOutcome with the given status whose diagnostics mention `needle`.
pub async fn assert_outcome(response: Response, status: StatusCode, needle: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (actual, body) = status_and_json(response).await;
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert!(
        content_type.starts_with("application/fhir+json"),
        "content type {content_type}"
    );
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    let diagnostics = body["issue"]
        .as_array()
        .map(|issues| {
            issues
                .iter()
                .filter_map(|i| i["diagnostics"].as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default();
    assert!(
        diagnostics.contains(needle),
        "diagnostics {diagnostics:?} do not mention {needle:?}"
    );
    body
}
