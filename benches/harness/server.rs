//! The server under test (the real `hearth` binary) and what the bench reads about it and the
//! machine from /proc.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Server {
    child: Child,
    pub base: String,
    pub cold_start: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `hearth` binary measured: `HEARTH_BENCH_BIN` when set (a build kept aside, or another
/// commit's, since a shared target directory's binary is whichever was built last), else the
/// one built with this harness.
pub fn hearth_binary() -> PathBuf {
    std::env::var_os("HEARTH_BENCH_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_hearth")),
        PathBuf::from,
    )
}

impl Server {
    /// Spawns `hearth serve` on port 0 and waits until `/readyz` answers; cold start is spawn
    /// to ready (schema loading, migrations and the first request included).
    pub async fn start(database_url: &str, client: &reqwest::Client) -> anyhow::Result<Server> {
        let started = Instant::now();
        let mut child = Command::new(hearth_binary())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--database-url", database_url])
            .env("HEARTH_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the hearth binary")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        let base = first
            .trim()
            .strip_prefix("hearth listening on ")
            .context("the server did not print its address")?
            .to_owned();
        let mut server = Server {
            child,
            base,
            cold_start: Duration::ZERO,
        };
        loop {
            let ready = client.get(format!("{}/readyz", server.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the server was not ready after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.cold_start = started.elapsed();
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// (current, peak) resident set size in MiB.
    pub fn rss_mib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        (
            proc_field(&status, "VmRSS:") / 1024,
            proc_field(&status, "VmHWM:") / 1024,
        )
    }
}

/// The number after `name` in a /proc file (kB for memory fields).
fn proc_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|line| line.starts_with(name))
        .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

pub struct Machine {
    pub cores: usize,
    pub memory_gib: f64,
    pub cpu: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_gib: proc_field(&meminfo, "MemTotal:") as f64 / (1024.0 * 1024.0),
            cpu: cpuinfo
                .lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned()),
        }
    }
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg prints them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The database the server uses: a SQLite file in a temporary directory unless
/// `HEARTH_BENCH_DATABASE_URL` names a PostgreSQL database or a SQLite file (empty, or already
/// loaded when `HEARTH_BENCH_LOAD=none`).
pub enum Database {
    Sqlite {
        path: PathBuf,
        _dir: Option<tempfile::TempDir>,
    },
    Postgres {
        url: String,
    },
}

impl Database {
    pub fn from_env() -> anyhow::Result<Database> {
        match std::env::var("HEARTH_BENCH_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => Ok(Database::Postgres { url }),
            Ok(url) if url.starts_with("sqlite:") => Ok(Database::Sqlite {
                path: PathBuf::from(url.trim_start_matches("sqlite:").trim_start_matches("//")),
                _dir: None,
            }),
            Ok(url) if !url.is_empty() => {
                bail!("HEARTH_BENCH_DATABASE_URL must be postgres://… or sqlite:PATH")
            }
            _ => {
                let dir = tempfile::tempdir().context("temporary directory")?;
                Ok(Database::Sqlite {
                    path: dir.path().join("bench.db"),
                    _dir: Some(dir),
                })
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            Database::Sqlite { path, .. } => format!("sqlite:{}", path.display()),
            Database::Postgres { url } => url.clone(),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "SQLite",
            Database::Postgres { .. } => "PostgreSQL",
        }
    }

    /// Bytes on disk: the SQLite file with its WAL and shared memory, or `pg_database_size`.
    pub async fn size_bytes(&self) -> anyhow::Result<u64> {
        match self {
            Database::Sqlite { path, .. } => Ok(["", "-wal", "-shm"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
                .map(|m| m.len())
                .sum()),
            Database::Postgres { url } => {
                use sqlx::Connection;
                let mut connection = sqlx::PgConnection::connect(url).await?;
                let (size,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
                    .fetch_one(&mut connection)
                    .await?;
                Ok(u64::try_from(size).unwrap_or(0))
            }
        }
    }
}
