//! `AUTHD_REDIS_MIN_REPLICAS`: no change of session state is answered
//! before a replica has it, so a failover to that replica loses no rotation
//! a client was given and undoes no logout that answered 204. One master
//! with one replica, outside Cluster; the replica is frozen (SIGSTOP) to
//! cut replication, the master killed, the replica promoted.

use std::time::Duration;

use crate::helpers::*;

struct Replicated {
    master: TestRedis,
    replica: TestRedis,
}

impl Replicated {
    fn start() -> Self {
        let master = TestRedis::start();
        let replica = TestRedis::start_replica_of(&master);
        Replicated { master, replica }
    }

    /// Replication stops: the replica is frozen and the master drops its
    /// link (what the frozen replica had received it keeps; nothing after).
    fn cut(&self) {
        self.replica.freeze();
        let killed = self.master.cli(&["client", "kill", "type", "replica"]);
        assert_eq!(killed.trim(), "1", "the replication link: {killed}");
    }

    /// Another instance of `app`'s deployment, on the promoted replica.
    async fn promoted(&self, app: &TestApp) -> TestApp {
        crate::helpers::app()
            .sharing(app)
            .redis_url(&self.replica.url())
            .spawn()
            .await
    }

    /// The master dies; the replica, resumed, becomes the master.
    fn fail_over(&self) {
        self.master.kill();
        self.replica.thaw();
        assert!(self.replica.cli(&["replicaof", "no", "one"]).contains("OK"));
    }
}

async fn durable_app(redis_url: &str) -> TestApp {
    app()
        .redis_url(redis_url)
        .var("AUTHD_REDIS_MIN_REPLICAS", 1)
        .var("AUTHD_REDIS_TIMEOUT_MS", 600)
        .spawn()
        .await
}

#[tokio::test]
async fn with_a_replica_required_a_failover_loses_no_rotation_and_undoes_no_logout() {
    let redis = Replicated::start();
    let app = durable_app(&redis.master.url()).await;
    // A chain that refreshes, a session logged out, one to log out later.
    let (email, chain) = app.signed_in_user().await;
    let mut token = app.refreshed(&chain.refresh_token).await;
    let (_, gone) = app.signed_in_user().await;
    assert_eq!(
        app.post_with("/api/logout", &gone.access_token)
            .await
            .status(),
        204
    );
    let (_, later) = app.signed_in_user().await;

    // Replication stops: nothing that changes sessions is acknowledged.
    redis.cut();
    let res = app.refresh(&token.refresh_token).await;
    assert_eq!(res.status(), 503, "a rotation no replica has");
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        app.post_with("/api/logout", &later.access_token)
            .await
            .status(),
        503
    );
    assert_eq!(app.login(&email, PASSWORD).await.status(), 503);

    // The master dies; the replica takes over, with what it had.
    redis.fail_over();
    let promoted = redis.promoted(&app).await;
    // The client retries with the token it holds: its chain goes on.
    token = promoted.refreshed(&token.refresh_token).await;
    promoted.refreshed(&token.refresh_token).await;
    // The logout that answered 204 is still done; the one that answered
    // 503 can be retried.
    assert_eq!(promoted.refresh(&gone.refresh_token).await.status(), 400);
    assert_eq!(
        promoted
            .post_with("/api/logout", &later.access_token)
            .await
            .status(),
        204
    );
    assert_eq!(promoted.refresh(&later.refresh_token).await.status(), 400);
}

#[tokio::test]
async fn a_grace_retry_answers_only_once_the_rotation_reached_a_replica() {
    let redis = Replicated::start();
    let app = durable_app(&redis.master.url()).await;
    let (_, t0) = app.signed_in_user().await;
    redis.replica.freeze();
    // The rotation runs on the master but no replica acknowledges it.
    assert_eq!(app.refresh(&t0.refresh_token).await.status(), 503);
    // Retrying within the grace window: the successor is re-derived, but
    // it is only handed out once a replica has the rotation.
    assert_eq!(app.refresh(&t0.refresh_token).await.status(), 503);
    redis.replica.thaw();
    let t1 = app.refreshed(&t0.refresh_token).await;
    assert_eq!(
        app.refreshed(&t0.refresh_token).await.refresh_token,
        t1.refresh_token
    );
    app.refreshed(&t1.refresh_token).await;
}

#[tokio::test]
async fn without_a_replica_required_the_same_failover_breaks_the_chain() {
    // What AUTHD_REDIS_MIN_REPLICAS=1 prevents: a rotation answered 200 by
    // a master whose replica never got it.
    let redis = Replicated::start();
    let app = app().redis_url(&redis.master.url()).spawn().await;
    let (_, t0) = app.signed_in_user().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    redis.cut();
    let t1 = app.refreshed(&t0.refresh_token).await;
    redis.fail_over();
    let promoted = redis.promoted(&app).await;
    assert_eq!(promoted.refresh(&t1.refresh_token).await.status(), 400);
}

#[tokio::test]
async fn the_session_functions_are_loaded_again_on_the_replicated_path() {
    // The WAIT pipeline's first reply is `Function not found`: load, retry.
    let redis = Replicated::start();
    let app = durable_app(&redis.master.url()).await;
    let (_, t0) = app.signed_in_user().await;
    assert!(redis.master.cli(&["function", "flush"]).contains("OK"));
    let t1 = app.refreshed(&t0.refresh_token).await;
    app.refreshed(&t1.refresh_token).await;
}
