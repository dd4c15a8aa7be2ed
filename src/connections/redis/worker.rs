//! Each HTTP worker's own connection to a single Redis: made on and used
//! only by that worker, so a request's Redis I/O runs on the thread that
//! serves it (see `connections::redis`). It ends with its worker, after the
//! worker's last request; a transport failure drops it and the next call
//! makes a new one.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{AsyncConnectionConfig, Client};

use super::pool::IDLE_BEFORE_PING;
use crate::connections::StoreError;

thread_local! {
    /// Set on HTTP worker threads (`serve_from_this_thread`).
    static HTTP_WORKER: Cell<bool> = const { Cell::new(false) };
    /// Each `Redis` (by id) this worker thread has a connection to. Made and
    /// driven on this thread's runtime; it dies with the worker, after the
    /// worker's last request.
    static WORKER_CONNECTIONS: RefCell<HashMap<u64, WorkerConnection>> =
        RefCell::new(HashMap::new());
}

/// A worker's connection, which one it is (each new one counts up, so a
/// request failing on an old one does not drop a newer one), and when it
/// was last handed out.
struct WorkerConnection {
    conn: MultiplexedConnection,
    generation: u64,
    last_used: std::time::Instant,
}

static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);
/// Marks the calling thread as an HTTP worker: from now on, its Redis calls
/// use a connection of its own (see the module's documentation).
pub fn serve_from_this_thread() {
    HTTP_WORKER.with(|w| w.set(true));
}

/// On an HTTP worker: this worker's connection to the Redis `id` (and its
/// generation), made now if it has none or if the one it has sat idle
/// long enough for a firewall to have dropped it silently. `None`
/// elsewhere: use the pool.
pub(super) async fn connection(
    id: &u64,
    client: &Client,
    config: &AsyncConnectionConfig,
    deadline: tokio::time::Instant,
) -> Option<Result<(MultiplexedConnection, u64), StoreError>> {
    if !HTTP_WORKER.with(Cell::get) {
        return None;
    }
    let now = std::time::Instant::now();
    let held = WORKER_CONNECTIONS.with(|c| {
        let mut held = c.borrow_mut();
        match held.get_mut(id) {
            Some(w) if now.duration_since(w.last_used) < IDLE_BEFORE_PING => {
                w.last_used = now;
                Some((w.conn.clone(), w.generation))
            }
            Some(_) => {
                held.remove(id);
                None
            }
            None => None,
        }
    });
    if let Some(held) = held {
        return Some(Ok(held));
    }
    let connect = client.get_multiplexed_async_connection_with_config(config);
    Some(match tokio::time::timeout_at(deadline, connect).await {
        Ok(Ok(conn)) => {
            let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
            WORKER_CONNECTIONS.with(|c| {
                c.borrow_mut().insert(
                    *id,
                    WorkerConnection {
                        conn: conn.clone(),
                        generation,
                        last_used: now,
                    },
                )
            });
            Ok((conn, generation))
        }
        Ok(Err(e)) => Err(StoreError::Redis(e)),
        Err(_) => Err(StoreError::Timeout("redis")),
    })
}

/// Drops this worker's connection `generation` after a transport
/// failure (not a newer one); the next call makes a new one.
pub(super) fn forget(id: u64, generation: u64) {
    WORKER_CONNECTIONS.with(|c| {
        let mut held = c.borrow_mut();
        if held.get(&id).is_some_and(|w| w.generation == generation) {
            held.remove(&id);
        }
    });
}
