//! WAL checkpoints for SQLite, off the writer. By default SQLite checkpoints inside the commit
//! that crosses 1,000 WAL pages, so the one writer every write waits on also copies pages into
//! the database file. Here the writer never checkpoints; a connection of its own does, in the
//! background, and a page rewritten by many commits in between is copied once. Durability is
//! unchanged: a commit is durable once it is in the WAL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::task::JoinHandle;

/// How often the WAL is copied back. Longer means fewer copies of hot pages but a longer WAL
/// for readers to consult.
const INTERVAL: Duration = Duration::from_millis(500);
/// WAL length (pages) past which the writer is asked to restart the WAL between two commits. A
/// PASSIVE checkpoint never ends with the WAL reset while commits keep arriving, so without this
/// the file would grow for as long as writes do. Only the writer can do it without racing
/// itself for the write lock.
const RESTART_PAGES: i64 = 16_384;

/// Set by the checkpointer when the WAL is long; taken by the writer between commits.
#[derive(Clone, Default)]
pub(super) struct RestartWanted(Arc<AtomicBool>);

impl RestartWanted {
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

pub(super) struct Checkpointer {
    task: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing `pool` (one read-write connection) every [`INTERVAL`].
    pub fn start(pool: SqlitePool, restart: RestartWanted) -> Checkpointer {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // PASSIVE never waits for the writer or for readers; what it cannot copy now it
                // copies at a later tick. Failures are retried the same way.
                match checkpoint(&pool).await {
                    Ok(pages) if pages > RESTART_PAGES => restart.0.store(true, Ordering::Release),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(error = %error, "a WAL checkpoint failed; retrying later")
                    }
                }
            }
        });
        Checkpointer { task }
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Copies what it can of the WAL back; returns the WAL's length in pages.
async fn checkpoint(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    // (busy, pages in the WAL, pages copied back)
    let (_, pages, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    Ok(pages)
}

/// Run by the writer between commits: copies the rest of the WAL and lets the next commit start
/// it over (and cut it back to `journal_size_limit`). Waits for readers at most briefly; if one
/// holds an old snapshot the restart is left for a later request.
pub(super) async fn restart(writer: &SqlitePool) {
    let mut connection = match writer.acquire().await {
        Ok(connection) => connection,
        Err(_) => return,
    };
    let restore = format!(
        "PRAGMA busy_timeout = {}",
        super::sqlite::BUSY_TIMEOUT.as_millis()
    );
    for statement in [
        "PRAGMA busy_timeout = 200",
        "PRAGMA wal_checkpoint(RESTART)",
        restore.as_str(),
    ] {
        if let Err(error) = sqlx::query(statement).execute(&mut *connection).await {
            tracing::debug!(error = %error, "a WAL restart was deferred");
        }
    }
}
