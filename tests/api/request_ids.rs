//! `X-Request-Id`: kept from the client when it is a short plain token,
//! generated otherwise, and always echoed.

use crate::helpers::*;

async fn echoed(app: &TestApp, sent: Option<&str>) -> String {
    let mut req = app.client.get(app.url("/api/me"));
    if let Some(id) = sent {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 401);
    res.headers()
        .get("x-request-id")
        .expect("every response carries a request id")
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_clients_request_id_is_echoed() {
    let app = spawn_app().await;
    assert_eq!(echoed(&app, Some("client-id.42")).await, "client-id.42");
}

#[tokio::test]
async fn a_missing_or_unfit_request_id_is_replaced_by_a_fresh_one() {
    let app = spawn_app().await;
    let a = echoed(&app, None).await;
    let b = echoed(&app, None).await;
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    let long = "x".repeat(65);
    for unfit in [long.as_str(), "has space", "semi;colon"] {
        let got = echoed(&app, Some(unfit)).await;
        assert_ne!(got, unfit);
        assert_eq!(got.len(), 32);
    }
}
