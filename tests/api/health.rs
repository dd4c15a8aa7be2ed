use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_200() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn readyz_answers_200_when_redis_and_the_database_answer() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// The 503 of `/readyz`, and the stores it names.
async fn not_ready(app: &TestApp) -> (String, Vec<String>) {
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    let body = assert_error(res, 503, "temporarily_unavailable").await;
    let stores = body["unavailable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    (
        body["error_description"].as_str().unwrap().to_string(),
        stores,
    )
}

/// Issue 31: the operator learns which store to look at.
#[tokio::test]
async fn readyz_names_redis_when_redis_does_not_answer() {
    let redis = TestRedis::start();
    let app = app()
        .redis(&redis)
        .var("AUTHD_REDIS_TIMEOUT_MS", 300)
        .spawn()
        .await;
    assert_eq!(app.get_status("/readyz").await, 200);
    redis.kill();
    let (said, stores) = not_ready(&app).await;
    assert_eq!(said, "redis does not answer");
    assert_eq!(stores, ["redis"]);
    redis.restart();
    let ready = std::time::Instant::now();
    while app.get_status("/readyz").await != 200 {
        assert!(ready.elapsed().as_secs() < 5, "not ready again");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readyz_names_the_database_when_it_does_not_answer() {
    let pg = TestPostgres::start();
    let database = create_postgres_database(&pg.admin_url()).await;
    let app = app()
        .var("AUTHD_DATABASE_URL", &database)
        .var("AUTHD_DATABASE_TIMEOUT_MS", 500)
        .spawn()
        .await;
    assert_eq!(app.get_status("/readyz").await, 200);
    pg.stop();
    let (said, stores) = not_ready(&app).await;
    assert_eq!(said, "database does not answer");
    assert_eq!(stores, ["database"]);
}
