//! Session liveness from memory, kept current by Redis itself: the guard's
//! `EXISTS` answered without a round trip while Redis promises to say when
//! the answer changes (`node`: client-side tracking on one node; `cluster`:
//! one such liveness per master of a Redis Cluster, chosen by the key's
//! slot). Whenever a liveness is not sure its view is current, the caller's
//! fallback asks Redis.

mod cluster;
mod node;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::{
    Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion, RedisResult,
    TlsCertificates,
};
use tokio::runtime::Handle;

use cluster::ClusterTracker;
use node::NodeTracker;

#[derive(Clone)]
enum Inner {
    /// `AUTHD_GUARD_CACHE_ENTRIES=0`, or an unusable URL: always ask Redis.
    Off,
    Node(NodeTracker),
    Cluster(Arc<ClusterTracker>),
}

/// Key existence with Redis-driven invalidation, on one Redis or a cluster.
#[derive(Clone)]
pub struct Liveness(Inner);

impl Liveness {
    /// Tracks the Redis at `nodes` (one URL, or a cluster's seeds), keeping
    /// at most `capacity` answers in all; a capacity of 0 turns it off.
    pub fn start(
        nodes: &[&str],
        ca: Option<&[u8]>,
        budget: Duration,
        capacity: usize,
        io: &Handle,
    ) -> Self {
        if capacity == 0 {
            return Self(Inner::Off);
        }
        let infos: Result<Vec<ConnectionInfo>, String> =
            nodes.iter().map(|n| resp3_info(n)).collect();
        let infos = match infos {
            Ok(infos) if !infos.is_empty() => infos,
            Ok(_) => return Self(Inner::Off),
            Err(e) => {
                log::warn!("session tracking is off: {e}");
                return Self(Inner::Off);
            }
        };
        match infos.as_slice() {
            [one] => match client_for(one.clone(), ca) {
                Ok(client) => Self(Inner::Node(NodeTracker::start(
                    client, budget, capacity, false, io,
                ))),
                Err(e) => {
                    log::warn!("session tracking is off: {e}");
                    Self(Inner::Off)
                }
            },
            seeds => Self(Inner::Cluster(ClusterTracker::start(
                seeds.to_vec(),
                ca.map(<[u8]>::to_vec),
                budget,
                capacity,
                io,
            ))),
        }
    }

    /// Whether `key` exists: from memory when Redis has promised to tell of
    /// a change, else read on a tracking connection (and remembered), else
    /// `fallback` (the ordinary pooled read).
    pub async fn exists<F, E>(&self, key: &str, fallback: F) -> Result<bool, E>
    where
        F: Future<Output = Result<bool, E>>,
    {
        match &self.0 {
            Inner::Off => fallback.await,
            Inner::Node(node) => node.exists(key, fallback).await,
            Inner::Cluster(cluster) => match cluster.node_for(key) {
                Some(node) => node.exists(key, fallback).await,
                None => fallback.await,
            },
        }
    }

    /// Returns once every invalidation Redis produced before this call has
    /// been applied (on every node); a failure only stops trust.
    pub async fn sync(&self) {
        match &self.0 {
            Inner::Off => {}
            Inner::Node(node) => node.sync().await,
            Inner::Cluster(cluster) => cluster.sync().await,
        }
    }

    /// Answers held now (for tests of the bound).
    pub fn len(&self) -> usize {
        match &self.0 {
            Inner::Off => 0,
            Inner::Node(node) => node.len(),
            Inner::Cluster(cluster) => cluster.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn resp3_info(url: &str) -> Result<ConnectionInfo, String> {
    let info = url
        .into_connection_info()
        .map_err(|e| format!("invalid Redis URL ({e})"))?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Ok(info.set_redis_settings(settings))
}

/// A client for `info`, verifying a `rediss://` server against `ca` (PEM)
/// when given, else against the system's roots.
pub fn client_for(info: impl IntoConnectionInfo, ca: Option<&[u8]>) -> RedisResult<Client> {
    let info = info.into_connection_info()?;
    match (info.addr(), ca) {
        (ConnectionAddr::TcpTls { .. }, Some(ca)) => Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.to_vec()),
            },
        ),
        _ => Client::open(info),
    }
}
