//! Group commit for SQLite. SQLite has one writer and a commit costs an fsync, so writes that
//! arrive while one commits wait in a queue and the next commit carries all of them. Each write
//! runs inside its own SAVEPOINT: one that fails is rolled back alone and answered with its
//! error, the others commit together, and nobody is answered before the commit is durable.

use sqlx::{Acquire, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::sql::SqlTx;
use super::write::apply_all;
use super::{StoreError, WriteOp, WriteOutcome};
use crate::fhir::now_instant;

/// Writes waiting at once; callers beyond this wait to enqueue (backpressure).
const QUEUE: usize = 1024;
/// Operations one commit carries at most, so a commit stays short for the writes behind it.
const OPS_PER_COMMIT: usize = 5_000;

type Reply = oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>;

struct Job {
    ops: Vec<WriteOp>,
    reply: Reply,
}

pub(super) struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer on `pool` (a pool of one connection), on a thread of its own: the
    /// writer is the one serial path of every write, so it must never wait in a run queue
    /// behind request handlers.
    pub fn start(pool: SqlitePool) -> Result<GroupCommit, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        std::thread::Builder::new()
            .name("hearth-sqlite-writer".into())
            .spawn(move || runtime.block_on(run(pool, jobs)))
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        Ok(GroupCommit { queue })
    }

    pub async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { ops, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

async fn run(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        let mut ops = batch[0].ops.len();
        while ops < OPS_PER_COMMIT {
            match jobs.try_recv() {
                Ok(job) => {
                    ops += job.ops.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        commit(&pool, batch).await;
    }
}

/// One transaction for the whole batch, one savepoint per job.
async fn commit(pool: &SqlitePool, batch: Vec<Job>) {
    let mut outer = match pool.begin().await {
        Ok(tx) => tx,
        Err(error) => return fail_all(batch.into_iter().map(|job| job.reply), &error),
    };
    let mut done: Vec<(Reply, Vec<WriteOutcome>)> = Vec::with_capacity(batch.len());
    for job in batch {
        let savepoint = match outer.begin().await {
            Ok(savepoint) => savepoint,
            Err(error) => {
                let _ = job.reply.send(Err(StoreError::Database(error)));
                continue;
            }
        };
        let mut tx = SqlTx {
            tx: savepoint,
            lock: "",
            body_cast: "",
        };
        match apply_all(&mut tx, &job.ops, now_instant()).await {
            Ok(outcomes) => match tx.tx.commit().await {
                Ok(()) => done.push((job.reply, outcomes)),
                Err(error) => {
                    let _ = job.reply.send(Err(StoreError::Database(error)));
                }
            },
            Err(error) => {
                // Dropping the savepoint's transaction rolls back to it; say so explicitly.
                let _ = tx.tx.rollback().await;
                let _ = job.reply.send(Err(error));
            }
        }
    }
    match outer.commit().await {
        Ok(()) => {
            for (reply, outcomes) in done {
                let _ = reply.send(Ok(outcomes));
            }
        }
        Err(error) => fail_all(done.into_iter().map(|(reply, _)| reply), &error),
    }
}

fn fail_all(replies: impl Iterator<Item = Reply>, error: &sqlx::Error) {
    tracing::error!(error = %error, "a group commit failed");
    for reply in replies {
        let _ = reply.send(Err(StoreError::Commit(error.to_string())));
    }
}
