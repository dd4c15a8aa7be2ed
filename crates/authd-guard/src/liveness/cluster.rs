//! Tracking on a Redis Cluster: one `NodeTracker` per master, and the slot
//! map (`CLUSTER SLOTS`, read again every `REFRESH`) saying which master
//! holds a key. A key is answered by the liveness of its slot's master.
//!
//! Why a map that is behind the cluster is still safe:
//! - Each node liveness is only trusted while its node answers `ROLE` as a
//!   master; a failed or demoted master (a failover) stops its trust at once
//!   or within the heartbeat's trust window, and its keys go to the fallback
//!   (the cluster client, which follows the cluster) until the map names the
//!   promoted replica and a liveness there has proven itself.
//! - A slot moved to another master (resharding) leaves the old master by
//!   deleting each key, which invalidates what its liveness held; reading a
//!   key there afterwards answers `MOVED`, which is never remembered.
//! - A node liveness starts untrusted, so a master new to the map answers
//!   nothing from memory before its first heartbeat.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use redis::{AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, Value};
use tokio::runtime::Handle;

use super::client_for;
use super::node::NodeTracker;

/// How often the slot map is read again.
const REFRESH: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Map {
    /// (first slot, last slot, master `host:port`), by first slot.
    ranges: Vec<(u16, u16, String)>,
    masters: HashMap<String, NodeTracker>,
}

pub struct ClusterTracker {
    seeds: Vec<ConnectionInfo>,
    /// PEM of a private CA, for `rediss://`.
    ca: Option<Vec<u8>>,
    budget: Duration,
    capacity: usize,
    io: Handle,
    map: Mutex<Map>,
}

impl ClusterTracker {
    pub fn start(
        seeds: Vec<ConnectionInfo>,
        ca: Option<Vec<u8>>,
        budget: Duration,
        capacity: usize,
        io: &Handle,
    ) -> Arc<Self> {
        let liveness = Arc::new(Self {
            seeds,
            ca,
            budget,
            capacity,
            io: io.clone(),
            map: Mutex::new(Map::default()),
        });
        io.spawn(maintain(Arc::downgrade(&liveness)));
        liveness
    }

    fn lock(&self) -> MutexGuard<'_, Map> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The liveness of the master that holds `key`'s slot, if known.
    pub fn node_for(&self, key: &str) -> Option<NodeTracker> {
        let slot = key_slot(key.as_bytes());
        let map = self.lock();
        let at = map.ranges.partition_point(|(first, _, _)| *first <= slot);
        let (_, last, addr) = map.ranges.get(at.checked_sub(1)?)?;
        (slot <= *last)
            .then(|| map.masters.get(addr).cloned())
            .flatten()
    }

    /// Syncs every master's liveness, all at once: a hung master costs the
    /// caller one budget, not one per master.
    pub async fn sync(&self) {
        let masters: Vec<NodeTracker> = self.lock().masters.values().cloned().collect();
        let mut syncs = tokio::task::JoinSet::new();
        for master in masters {
            syncs.spawn(async move { master.sync().await });
        }
        while syncs.join_next().await.is_some() {}
    }

    pub fn len(&self) -> usize {
        self.lock().masters.values().map(NodeTracker::len).sum()
    }

    /// Reads the slot map from a known master or a seed.
    async fn read_slots(&self) -> Option<Vec<(u16, u16, String)>> {
        let known: Vec<String> = self.lock().masters.keys().cloned().collect();
        let mut candidates: Vec<ConnectionInfo> = known
            .iter()
            .filter_map(|addr| self.info_for(addr))
            .collect();
        candidates.extend(self.seeds.iter().cloned());
        for info in candidates {
            let asked = host_of(&info);
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(self.budget))
                .set_response_timeout(Some(self.budget));
            let read = async {
                let client = client_for(info, self.ca.as_deref())?;
                let mut conn = client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async::<Value>(&mut conn)
                    .await
            };
            match tokio::time::timeout(self.budget, read).await {
                Ok(Ok(reply)) => {
                    if let Some(ranges) = parse_slots(&reply, &asked) {
                        return Some(ranges);
                    }
                }
                Ok(Err(e)) => log::debug!("session tracking: CLUSTER SLOTS failed ({e})"),
                Err(_) => log::debug!("session tracking: CLUSTER SLOTS timed out"),
            }
        }
        None
    }

    /// Installs a slot map: trackers for new masters, none for old ones.
    fn apply(&self, mut ranges: Vec<(u16, u16, String)>) {
        ranges.sort();
        let masters: HashSet<&String> = ranges.iter().map(|(_, _, addr)| addr).collect();
        let per_master = (self.capacity / masters.len().max(1)).max(1);
        let mut map = self.lock();
        let retired: Vec<NodeTracker> = {
            let gone: Vec<String> = map
                .masters
                .keys()
                .filter(|addr| !masters.contains(addr))
                .cloned()
                .collect();
            gone.iter()
                .filter_map(|addr| map.masters.remove(addr))
                .collect()
        };
        for addr in masters {
            if map.masters.contains_key(addr) {
                continue;
            }
            let client = self
                .info_for(addr)
                .and_then(|i| client_for(i, self.ca.as_deref()).ok());
            let Some(client) = client else {
                continue;
            };
            let liveness = NodeTracker::start(client, self.budget, per_master, true, &self.io);
            map.masters.insert(addr.clone(), liveness);
        }
        map.ranges = ranges;
        drop(map);
        drop(retired);
    }

    /// A node's connection info: the first seed's (credentials, TLS,
    /// protocol) with the node's address.
    fn info_for(&self, addr: &str) -> Option<ConnectionInfo> {
        let (host, port) = addr.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        let seed = self.seeds.first()?;
        let node = match seed.addr().clone() {
            ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => ConnectionAddr::TcpTls {
                host: host.to_string(),
                port,
                insecure,
                tls_params,
            },
            _ => ConnectionAddr::Tcp(host.to_string(), port),
        };
        Some(seed.clone().set_addr(node))
    }
}

/// Reads the slot map every `REFRESH` until the liveness is dropped.
async fn maintain(liveness: Weak<ClusterTracker>) {
    loop {
        let Some(strong) = liveness.upgrade() else {
            return;
        };
        if let Some(ranges) = strong.read_slots().await {
            strong.apply(ranges);
        }
        drop(strong);
        tokio::time::sleep(REFRESH).await;
    }
}

fn host_of(info: &ConnectionInfo) -> String {
    match info.addr() {
        ConnectionAddr::Tcp(host, _) => host.clone(),
        ConnectionAddr::TcpTls { host, .. } => host.clone(),
        _ => String::new(),
    }
}

/// `CLUSTER SLOTS`: `[[first, last, [host, port, id, ...], replicas...], ...]`.
/// An empty host means the node that was asked.
fn parse_slots(reply: &Value, asked: &str) -> Option<Vec<(u16, u16, String)>> {
    let Value::Array(entries) = reply else {
        return None;
    };
    let int = |v: &Value| match v {
        Value::Int(n) => u16::try_from(*n).ok(),
        _ => None,
    };
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let mut out = Vec::new();
    for entry in entries {
        let Value::Array(fields) = entry else {
            return None;
        };
        let (first, last) = (int(fields.first()?)?, int(fields.get(1)?)?);
        let Value::Array(master) = fields.get(2)? else {
            return None;
        };
        let mut host = text(master.first()?)?;
        if host.is_empty() || host == "?" {
            host = asked.to_string();
        }
        let port = int(master.get(1)?)?;
        out.push((first, last, format!("{host}:{port}")));
    }
    (!out.is_empty()).then_some(out)
}

/// The cluster slot of a key: CRC16 (XMODEM) of its hash tag (the part in
/// the first non-empty `{...}`) or of the whole key, modulo 16384.
fn key_slot(key: &[u8]) -> u16 {
    let tagged = key
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(key);
    crc16_xmodem(tagged) % 16384
}

fn crc16_xmodem(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // The CRC16 check value, and slots `CLUSTER KEYSLOT` gives.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }

    #[test]
    fn a_slot_map_parses() {
        let node = |host: &str, port: i64| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("10.0.0.1", 7000),
            ]),
            Value::Array(vec![
                Value::Int(5461),
                Value::Int(16383),
                node("", 7001),
                node("10.0.0.3", 7002),
            ]),
        ]);
        assert_eq!(
            parse_slots(&reply, "127.0.0.1"),
            Some(vec![
                (0, 5460, "10.0.0.1:7000".to_string()),
                (5461, 16383, "127.0.0.1:7001".to_string()),
            ])
        );
        assert_eq!(parse_slots(&Value::Nil, "x"), None);
    }
}
