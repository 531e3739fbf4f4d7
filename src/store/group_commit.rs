//! Group commit for SQLite. SQLite has one writer and a commit costs an fsync, so writes that
//! arrive while one commits wait in a queue and the next commit carries all of them. A write
//! that fails is answered with its error and the others commit without it; nobody is answered
//! before the commit is durable.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::RestartWanted;
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
    pub fn start(pool: SqlitePool, restart: RestartWanted) -> Result<GroupCommit, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        std::thread::Builder::new()
            .name("hearth-sqlite-writer".into())
            .spawn(move || runtime.block_on(run(pool, jobs, restart)))
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

async fn run(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>, restart: RestartWanted) {
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
        if restart.take() {
            super::checkpoint::restart(&pool).await;
        }
    }
}

/// One transaction for the whole batch. A job that fails rolls the transaction back; it is
/// answered with its error and the others run again without it. Failures are rare (version
/// conflicts, duplicate creates), so this costs less than a SAVEPOINT per job, whose
/// statement journal copies every page a job touches.
async fn commit(pool: &SqlitePool, mut batch: Vec<Job>) {
    loop {
        match attempt(pool, &batch).await {
            Attempt::Committed(outcomes) => {
                for (job, outcomes) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcomes));
                }
                return;
            }
            Attempt::JobFailed(index, error) => {
                let job = batch.remove(index);
                let _ = job.reply.send(Err(error));
                if batch.is_empty() {
                    return;
                }
            }
            Attempt::Failed(error) => {
                return fail_all(batch.into_iter().map(|job| job.reply), &error);
            }
        }
    }
}

enum Attempt {
    Committed(Vec<Vec<WriteOutcome>>),
    /// The job at this position failed; nothing was committed.
    JobFailed(usize, StoreError),
    /// The transaction itself failed; nothing was committed.
    Failed(sqlx::Error),
}

async fn attempt(pool: &SqlitePool, batch: &[Job]) -> Attempt {
    // IMMEDIATE takes the write lock up front, waiting (busy timeout) while a checkpoint holds
    // it; a deferred BEGIN would read first and then fail to upgrade with SQLITE_BUSY.
    let tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(error) => return Attempt::Failed(error),
    };
    let mut tx = SqlTx {
        tx,
        lock: "",
        body_cast: "",
    };
    let mut done = Vec::with_capacity(batch.len());
    for (index, job) in batch.iter().enumerate() {
        match apply_all(&mut tx, &job.ops, now_instant()).await {
            Ok(outcomes) => done.push(outcomes),
            Err(error) => {
                let _ = tx.tx.rollback().await;
                return Attempt::JobFailed(index, error);
            }
        }
    }
    match tx.tx.commit().await {
        Ok(()) => Attempt::Committed(done),
        Err(error) => Attempt::Failed(error),
    }
}

fn fail_all(replies: impl Iterator<Item = Reply>, error: &sqlx::Error) {
    tracing::error!(error = %error, "a group commit failed");
    for reply in replies {
        let _ = reply.send(Err(StoreError::Commit(error.to_string())));
    }
}
