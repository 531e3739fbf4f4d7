//! WAL checkpoints for SQLite, off the writer. By default SQLite checkpoints inside the commit
//! that crosses 1,000 WAL pages, so the one writer every write waits on also copies pages into
//! the database file. Here the writer never checkpoints; a connection of its own does, in the
//! background, and a page rewritten by many commits in between is copied once. Durability is
//! unchanged: a commit is durable once it is in the WAL.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::task::JoinHandle;

/// How often the WAL is copied back. Longer means fewer copies of hot pages but a longer WAL
/// for readers to consult.
const INTERVAL: Duration = Duration::from_millis(500);
/// WAL length (pages) past which the checkpointer briefly holds off writers so the WAL can start
/// over. A PASSIVE checkpoint never ends with the WAL reset while commits keep arriving, so
/// without this the file would grow for as long as writes do.
const RESTART_PAGES: i64 = 16_384;

pub(super) struct Checkpointer {
    task: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing `pool` (one read-write connection) every [`INTERVAL`].
    pub fn start(pool: SqlitePool) -> Checkpointer {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // PASSIVE never waits for the writer or for readers; what it cannot copy now it
                // copies at a later tick. Failures are retried the same way.
                if let Err(error) = checkpoint(&pool).await {
                    tracing::warn!(error = %error, "a WAL checkpoint failed; retrying later");
                }
            }
        });
        Checkpointer { task }
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn checkpoint(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    // (busy, pages in the WAL, pages copied back)
    let (_, pages, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    if pages > RESTART_PAGES {
        // Most pages were copied by the PASSIVE pass, so writers wait only for the rest.
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(pool)
            .await?;
    }
    Ok(())
}
