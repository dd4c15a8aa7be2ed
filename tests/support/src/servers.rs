//! Private servers for tests: `redis-server` (single or a 3-master cluster)
//! and PostgreSQL. Each runs under a small shell watchdog that kills it when
//! our end of its stdin closes, so no server outlives the test binary, even
//! on a panic or a `kill -9` of the tests.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use deadpool_redis::redis;

/// A server process and its watchdog.
struct Watched {
    pid: u32,
    watchdog: Child,
    _stdin: Option<ChildStdin>,
}

impl Watched {
    /// Runs `command` (a shell line that must not daemonize) under a
    /// watchdog; `kill_with` is how the watchdog ends it.
    fn spawn(command: &str, kill_with: &str) -> Self {
        let script =
            format!("{command} >/dev/null 2>&1 & echo $!; read _; {kill_with} 2>/dev/null");
        let mut watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh");
        let stdin = watchdog.stdin.take().expect("watchdog stdin");
        let mut line = String::new();
        BufReader::new(watchdog.stdout.take().expect("watchdog stdout"))
            .read_line(&mut line)
            .expect("server pid");
        let pid = line.trim().parse().expect("server pid is a number");
        Watched {
            pid,
            watchdog,
            _stdin: Some(stdin),
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

/// A port free now and never handed out before in this process: the
/// server it is for binds it a moment later, and without the record two
/// tests starting at once could be given the same port (or one's port be
/// another's cluster-bus port, see `claim`).
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if claim(port) {
            return port;
        }
    }
}

/// Records `port` as taken by this process; false when it was already.
fn claim(port: u16) -> bool {
    static CLAIMED: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut claimed = CLAIMED.lock().unwrap_or_else(|p| p.into_inner());
    if claimed.contains(&port) {
        return false;
    }
    claimed.push(port);
    true
}

pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not become ready");
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

/// A private `redis-server`.
pub struct TestRedis {
    pub port: u16,
    // Before `dir`: fields drop in order, and the server goes first.
    process: Mutex<Option<Watched>>,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl TestRedis {
    pub fn start() -> Self {
        Self::start_with_args(&[])
    }

    /// With more `redis-server` arguments, on a free port; a port something
    /// else took before the server bound it is replaced by another.
    pub fn start_with_args(extra: &[&str]) -> Self {
        let mut last = String::new();
        for _ in 0..5 {
            match Self::try_start_on(free_port(), extra) {
                Ok(redis) => return redis,
                Err(why) => last = why,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    /// On `port`, which the caller chose.
    pub fn start_on(port: u16, extra: &[&str]) -> Self {
        Self::try_start_on(port, extra).unwrap_or_else(|why| panic!("{why}"))
    }

    fn try_start_on(port: u16, extra: &[&str]) -> Result<Self, String> {
        let redis = TestRedis {
            port,
            process: Mutex::new(None),
            dir: tempfile::tempdir().expect("temp dir for redis"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        redis.launch()?;
        Ok(redis)
    }

    /// Starts the server and waits until it answers; an error when it exits
    /// first (its port was taken). Ready means this very process answers
    /// (`process_id`), not whatever else listens on the port.
    fn launch(&self) -> Result<(), String> {
        let command = format!(
            "redis-server --port {} --bind 127.0.0.1 --save '' --appendonly no --dir '{}' \
             --maxmemory-policy noeviction --loglevel warning {}",
            self.port,
            self.dir.path().display(),
            self.extra.join(" ")
        );
        let watched = Watched::spawn(&command, "kill -9 $!");
        let pid = watched.pid;
        *self.process.lock().unwrap() = Some(watched);
        let deadline = Instant::now() + Duration::from_secs(20);
        let ours = format!("process_id:{pid}\r");
        while Instant::now() < deadline {
            if redis_cli(self.port, &["info", "server"]).contains(&ours) {
                return Ok(());
            }
            let alive = Command::new("kill")
                .args(["-0", &pid.to_string()])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !alive {
                return Err(format!(
                    "redis-server on port {} exited at start",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "redis-server on port {} did not become ready",
            self.port
        ))
    }

    /// A replica of `master`, returned once their link is up.
    pub fn start_replica_of(master: &TestRedis) -> Self {
        let replica = Self::start_with_args(&[&format!("--replicaof 127.0.0.1 {}", master.port)]);
        wait_for("the replica's link", || {
            replica
                .cli(&["info", "replication"])
                .contains("master_link_status:up")
        });
        replica
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let pid = self
            .process
            .lock()
            .unwrap()
            .as_ref()
            .map(|p| p.pid)
            .expect("redis is running");
        let ok = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill {signal} {pid}");
    }

    /// SIGSTOP: the server keeps its sockets but answers nothing.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    /// Kills the server for good (its data is gone).
    pub fn kill(&self) {
        self.process.lock().unwrap().take();
    }

    /// Starts a new, empty server on the same port.
    pub fn restart(&self) {
        self.kill();
        self.launch().unwrap_or_else(|why| panic!("{why}"));
    }

    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }
}

/// A Redis Cluster of three masters (no replicas) on free ports whose
/// cluster-bus ports (+10000) are free too.
pub struct TestCluster {
    pub nodes: Vec<TestRedis>,
}

impl TestCluster {
    pub fn start() -> Self {
        Self::start_with(|_| Vec::new())
    }

    /// With more `redis-server` arguments for each node, given its port.
    pub fn start_with(extra: impl Fn(u16) -> Vec<String>) -> Self {
        Self::start_shaped(3, 0, 5000, extra)
    }

    /// Three masters with a replica each, failing over after
    /// `node_timeout_ms`.
    pub fn start_replicated(node_timeout_ms: u64) -> Self {
        Self::start_shaped(6, 1, node_timeout_ms, |_| Vec::new())
    }

    fn start_shaped(
        count: usize,
        replicas: usize,
        node_timeout_ms: u64,
        extra: impl Fn(u16) -> Vec<String>,
    ) -> Self {
        let mut attempts = 0;
        let (ports, nodes) = loop {
            attempts += 1;
            match Self::start_nodes(count, node_timeout_ms, &extra) {
                Ok(started) => break started,
                Err(why) if attempts >= 3 => panic!("cluster nodes did not start: {why}"),
                Err(_) => {}
            }
        };
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(
            out.status.success(),
            "cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        for node in &nodes {
            wait_for("cluster state ok", || {
                node.cli(&["cluster", "info"]).contains("cluster_state:ok")
            });
            if replicas > 0 {
                wait_for("replicas in sync", || {
                    let info = node.cli(&["info", "replication"]);
                    info.contains("connected_slaves:1") || info.contains("master_link_status:up")
                });
            }
        }
        TestCluster { nodes }
    }

    /// `count` cluster-enabled nodes on free ports whose bus ports (+10000)
    /// are free and claimed too; an error when one could not take its port.
    fn start_nodes(
        count: usize,
        node_timeout_ms: u64,
        extra: &impl Fn(u16) -> Vec<String>,
    ) -> Result<(Vec<u16>, Vec<TestRedis>), String> {
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < count {
            let port = free_port();
            let bus_free = port < 55_535
                && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok()
                && claim(port + 10_000);
            if bus_free {
                ports.push(port);
            }
        }
        let mut nodes = Vec::new();
        for port in &ports {
            let mut args: Vec<String> =
                ["--cluster-enabled yes", "--cluster-config-file nodes.conf"]
                    .map(String::from)
                    .to_vec();
            args.push(format!("--cluster-node-timeout {node_timeout_ms}"));
            args.extend(extra(*port));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            nodes.push(TestRedis::try_start_on(*port, &args)?);
        }
        Ok((ports, nodes))
    }

    /// Each master's node with its replica's, as `CLUSTER NODES` says now
    /// (asked of `asked`).
    pub fn pairs(&self, asked: &TestRedis) -> Vec<(&TestRedis, Option<&TestRedis>)> {
        let listing = asked.cli(&["cluster", "nodes"]);
        let rows: Vec<Vec<&str>> = listing
            .lines()
            .map(|l| l.split_whitespace().collect())
            .filter(|r: &Vec<&str>| r.len() >= 4)
            .collect();
        let by_port = |field: &str| {
            let port: u16 = field.split(['@', ':']).nth(1)?.parse().ok()?;
            self.nodes.iter().find(|n| n.port == port)
        };
        rows.iter()
            .filter(|r| r[2].contains("master") && !r[2].contains("fail"))
            .filter_map(|master| {
                let node = by_port(master[1])?;
                let replica = rows
                    .iter()
                    .find(|r| r[3] == master[0] && !r[2].contains("fail"))
                    .and_then(|r| by_port(r[1]));
                Some((node, replica))
            })
            .collect()
    }

    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(TestRedis::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One server for every test of this binary that does not break it: a
/// single Redis, or a cluster when `AUTHD_TEST_REDIS_CLUSTER=1`.
pub fn shared_redis_url() -> String {
    static SINGLE: OnceLock<TestRedis> = OnceLock::new();
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    if std::env::var("AUTHD_TEST_REDIS_CLUSTER").is_ok_and(|v| v == "1") {
        CLUSTER.get_or_init(TestCluster::start).url()
    } else {
        SINGLE.get_or_init(TestRedis::start).url()
    }
}

/// The shared cluster, for tests that are about Redis Cluster whatever
/// the suite runs on.
pub fn shared_cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER.get_or_init(TestCluster::start)
}

/// Node URLs of a (comma-separated) Redis URL.
pub fn redis_nodes(url: &str) -> Vec<String> {
    url.split(',').map(str::to_string).collect()
}

pub async fn redis_connection(node_url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(node_url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

/// A private PostgreSQL cluster (initdb in a temp dir, its own port), for
/// tests that stop and start the database. As root, it runs as `postgres`.
pub struct TestPostgres {
    pub port: u16,
    process: Mutex<Option<Watched>>,
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// TLS on: the server's certificate and key, in `dir`.
    tls: bool,
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        // A clean stop ends the backends too; SIGKILL would orphan them.
        self.stop();
    }
}

fn postgres_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("AUTHD_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect(
        "PostgreSQL server binaries (initdb) are needed: apt-get install postgresql (see README)",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// A command run as the `postgres` user when we are root (PostgreSQL
/// refuses to run as root). `setpriv` execs in place, so the pid the
/// watchdog holds is the server's own.
fn as_postgres(command: &str) -> String {
    if is_root() {
        format!("setpriv --reuid=postgres --regid=postgres --init-groups {command}")
    } else {
        command.to_string()
    }
}

impl TestPostgres {
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// With `ssl=on`, serving `cert` (its key: `key`).
    pub fn start_with_tls(cert: &Path, key: &Path) -> Self {
        Self::start_inner(Some((cert, key)))
    }

    fn start_inner(tls: Option<(&Path, &Path)>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for postgres");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres", &dir.path().display().to_string()])
                .status();
            assert!(ok.is_ok_and(|s| s.success()), "chown the postgres dir");
        }
        let bin = postgres_bin();
        let data = dir.path().join("data");
        let init = format!(
            "{}/initdb -D '{}' -A trust -U postgres --no-sync -E UTF8 --no-locale",
            bin.display(),
            data.display()
        );
        let out = Command::new("sh")
            .args(["-c", &as_postgres(&init)])
            .output()
            .expect("initdb");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some((cert, key)) = tls {
            // The key must belong to the server's user, readable by it only.
            for (from, to) in [(cert, "server.pem"), (key, "server.key")] {
                std::fs::copy(from, dir.path().join(to)).expect("copy the certificate");
            }
            let key = dir.path().join("server.key").display().to_string();
            let owner = if is_root() { "postgres" } else { "" };
            let script =
                format!("chmod 600 '{key}' && {{ [ -z '{owner}' ] || chown {owner} '{key}'; }}");
            let ok = Command::new("sh").args(["-c", &script]).status();
            assert!(ok.is_ok_and(|s| s.success()), "the key's owner and mode");
        }
        let pg = TestPostgres {
            port: free_port(),
            dir,
            bin,
            process: Mutex::new(None),
            tls: tls.is_some(),
        };
        pg.launch();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn launch(&self) {
        let mut line = format!(
            "{}/postgres -D '{}' -p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off",
            self.bin.display(),
            self.data().display(),
            self.port,
            self.dir.path().display()
        );
        if self.tls {
            let dir = self.dir.path().display();
            line.push_str(&format!(
                " -c ssl=on -c ssl_cert_file='{dir}/server.pem' -c ssl_key_file='{dir}/server.key'"
            ));
        }
        // postgres must get SIGINT (fast shutdown) or SIGKILL, never orphaned.
        *self.process.lock().unwrap() = Some(Watched::spawn(&as_postgres(&line), "kill -9 $!"));
        let (bin, port) = (self.bin.clone(), self.port);
        wait_for("postgres", || pg_isready(&bin, port));
    }

    /// Fast shutdown (SIGINT): sessions are cut, new connections refused.
    pub fn stop(&self) {
        let Some(server) = self.process.lock().unwrap().take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &server.pid.to_string()])
            .status();
        // A clean shutdown ends by removing the pid file.
        let pid_file = self.data().join("postmaster.pid");
        wait_for("postgres to stop", || !pid_file.exists());
        drop(server);
    }

    pub fn start_again(&self) {
        self.launch();
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Client connections now open over TLS (other than the asker's).
    pub fn tls_connections(&self) -> u64 {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", "postgres", "-Atc"])
            .arg("SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid <> pg_backend_pid()")
            .env("PGSSLMODE", "disable")
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }
}

fn pg_isready(bin: &Path, port: u16) -> bool {
    Command::new(bin.join("pg_isready"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A fresh database for one test: a SQLite file, or a new database on the
/// PostgreSQL server named by `AUTHD_TEST_DATABASE_URL` (an admin URL).
pub async fn fresh_database(dir: &Path) -> String {
    match std::env::var("AUTHD_TEST_DATABASE_URL") {
        Ok(admin) => {
            assert!(
                !admin.is_empty(),
                "AUTHD_TEST_DATABASE_URL is set but empty: unset it for SQLite"
            );
            create_postgres_database(&admin).await
        }
        Err(_) => format!("sqlite://{}", dir.join("authd.db").display()),
    }
}

pub async fn create_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("authd_{}", uuid::Uuid::new_v4().as_simple());
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("AUTHD_TEST_DATABASE_URL is set but PostgreSQL does not answer: {e}")
        });
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let (server, _) = base
        .rsplit_once('/')
        .expect("an admin URL ends in /database");
    format!("{server}/{name}{query}")
}

pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres")
}
