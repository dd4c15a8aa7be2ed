//! authd's Redis as a resource server uses it (`AuthdRedis`): session
//! liveness, and the DPoP proofs seen. Liveness reads the key
//! authd keeps for each live session, answered from memory while Redis
//! tracks it for this process ([`Liveness`]), else one `EXISTS` on a
//! connection of this check's own, within the time budget.
//!
//! It also keeps the `jti`s of DPoP proofs it accepted (`SET NX` with a
//! TTL, the keys authd uses for its own), so a proof is used once across
//! every resource server and authd sharing the Redis. A Redis ACL user such
//! as `user guard on >… ~authd:* +exists +pttl +ping +role +client|tracking
//! +hello +cluster|slots +cluster|info +set` is enough.

use std::sync::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Client, RedisError};
use uuid::Uuid;

use crate::dpop::{replay_key, BoxFuture, Proof, ProofReplay};
use crate::identity::Identity;
use crate::liveness::{client_for, Liveness};
use crate::session_check::SessionCheck;
use crate::unavailable::Unavailable;

/// The key authd keeps while a session lives: `<prefix>{u:<user>}:s:<session>`
/// (the hash tag keeps every key of a user in one Redis Cluster slot).
pub fn session_key(prefix: &str, user: Uuid, session: Uuid) -> String {
    format!(
        "{prefix}{{u:{}}}:s:{}",
        user.as_simple(),
        session.as_simple()
    )
}

pub struct AuthdRedis {
    prefix: String,
    liveness: Liveness,
    reads: Reads,
    budget: Duration,
}

enum Reads {
    Node(Client, Mutex<Option<MultiplexedConnection>>),
    Cluster(ClusterClient, Mutex<Option<ClusterConnection>>),
}

impl AuthdRedis {
    /// `nodes`: authd's `AUTHD_REDIS_URL` (one URL, or a cluster's seeds);
    /// `prefix`: its `AUTHD_REDIS_PREFIX`; `ca`: a PEM CA for `rediss://`;
    /// `budget`: how long a read may take before the guard answers 503;
    /// `capacity`: answers kept in memory (0: always read). Must be called
    /// inside a Tokio runtime (the tracking task starts on it).
    pub fn connect(
        nodes: &[&str],
        prefix: &str,
        ca: Option<&[u8]>,
        budget: Duration,
        capacity: usize,
    ) -> Result<Self, RedisError> {
        let reads = match nodes {
            [one] => Reads::Node(client_for(*one, ca)?, Mutex::new(None)),
            seeds => {
                let mut builder = ClusterClient::builder(seeds.iter().copied());
                if let Some(ca) = ca {
                    builder = builder.certs(redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(ca.to_vec()),
                    });
                }
                Reads::Cluster(builder.build()?, Mutex::new(None))
            }
        };
        let liveness = Liveness::start(
            nodes,
            ca,
            budget,
            capacity,
            &tokio::runtime::Handle::current(),
        );
        Ok(Self {
            prefix: prefix.to_string(),
            liveness,
            reads,
            budget,
        })
    }

    /// The in-memory side, for tests of the bound.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    async fn exists(&self, key: &str) -> Result<bool, Unavailable> {
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(key);
        self.query(&cmd).await
    }

    /// `cmd` within the budget, on this check's own connection.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Unavailable> {
        let run = async {
            match &self.reads {
                Reads::Node(client, held) => {
                    query_on(held, cmd, client.get_multiplexed_async_connection()).await
                }
                Reads::Cluster(client, held) => {
                    query_on(held, cmd, client.get_async_connection()).await
                }
            }
        };
        match tokio::time::timeout(self.budget, run).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(Unavailable::new(e)),
            Err(_) => Err(Unavailable::new("redis did not answer within its budget")),
        }
    }
}

impl ProofReplay for AuthdRedis {
    fn first_use<'a>(
        &'a self,
        proof: &'a Proof,
        window: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            let set: Option<String> = self.query(&first_use(&self.prefix, proof, window)).await?;
            Ok(set.is_some())
        })
    }
}

/// The command that records a DPoP proof's `jti` for `window` unless it is
/// recorded already (`SET NX PX`; a nil reply means a replay). authd sends
/// the same, so authd and resource servers on one Redis share the record.
pub fn first_use(prefix: &str, proof: &Proof, window: Duration) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(replay_key(prefix, proof))
        .arg(1)
        .arg("PX")
        .arg(window.as_millis().max(1) as u64)
        .arg("NX");
    cmd
}

/// `cmd` on the held connection, or on a new one from `connect`.
async fn query_on<C: redis::aio::ConnectionLike + Clone, T: redis::FromRedisValue>(
    held: &Mutex<Option<C>>,
    cmd: &redis::Cmd,
    connect: impl std::future::Future<Output = Result<C, RedisError>>,
) -> Result<T, RedisError> {
    let mut conn = match take(held) {
        Some(conn) => conn,
        None => connect.await?,
    };
    let answer = cmd.query_async::<T>(&mut conn).await;
    keep(held, conn, answer.is_ok());
    answer
}

/// A connection that answered is kept for the next read (a clone: the
/// multiplexed connection serves concurrent reads); one that failed is not.
fn take<T: Clone>(held: &Mutex<Option<T>>) -> Option<T> {
    held.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn keep<T>(held: &Mutex<Option<T>>, conn: T, answered: bool) {
    *held.lock().unwrap_or_else(|p| p.into_inner()) = answered.then_some(conn);
}

impl SessionCheck for AuthdRedis {
    async fn is_live(&self, identity: Identity, _token: &str) -> Result<bool, Unavailable> {
        let key = session_key(&self.prefix, identity.user_id, identity.session_id);
        self.liveness.exists(&key, self.exists(&key)).await
    }
}
