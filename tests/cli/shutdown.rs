//! A graceful stop loses no rotation and answers no 5xx.

use crate::world::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_logins_and_refreshes_answers_no_5xx_and_loses_no_rotation() {
    let stores = Stores::private().await;
    // No grace: a rotation whose answer was lost would show up as reuse.
    let vars = stores.vars(&[("AUTHD_REFRESH_REUSE_GRACE", "0")]);
    let mut service = Service::start(authd_bin!(), stores.dir.path(), &vars);
    let http = reqwest::Client::new();
    let creds = serde_json::json!({"email": "term@example.com", "password": "graceful shutdown"});
    assert_eq!(
        http.post(service.url("/api/register"))
            .json(&creds)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

    let mut clients = Vec::new();
    for _ in 0..8 {
        let res = http
            .post(service.url("/api/login"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        clients.push(body["refresh_token"].as_str().unwrap().to_string());
    }
    let token_url = service.url("/api/token");
    let burst: Vec<_> = clients
        .into_iter()
        .map(|mut token| {
            let (http, url) = (http.clone(), token_url.clone());
            tokio::spawn(async move {
                let (mut answered, mut refused) = (0, 0);
                loop {
                    let sent = http
                        .post(&url)
                        .json(&serde_json::json!({"refresh_token": token}))
                        .send()
                        .await;
                    match sent {
                        Ok(res) => {
                            assert_eq!(res.status(), 200, "every answer is complete and right");
                            let body: serde_json::Value = res.json().await.expect("a whole body");
                            token = body["refresh_token"].as_str().unwrap().to_string();
                            answered += 1;
                        }
                        // Not accepted (or not read) any more: the server is going.
                        Err(_) => {
                            refused += 1;
                            if refused > 3 {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (token, answered)
            })
        })
        .collect();
    // Logins and registrations at the same time: they need the database
    // (Postgres in CI's second run) after waiting for a hashing slot, and
    // its connections must outlive the HTTP workers, which stop one by one.
    let login_url = service.url("/api/login");
    let register_url = service.url("/api/register");
    let logins: Vec<_> = (0..8)
        .map(|i| {
            let http = http.clone();
            let (login_url, register_url, creds) =
                (login_url.clone(), register_url.clone(), creds.clone());
            tokio::spawn(async move {
                let (mut answered, mut refused) = (0, 0);
                while refused <= 3 {
                    let sent = if i % 2 == 0 {
                        http.post(&login_url).json(&creds).send().await
                    } else {
                        let email = format!("term-{i}-{answered}@example.com");
                        let body =
                            serde_json::json!({"email": email, "password": "graceful shutdown"});
                        http.post(&register_url).json(&body).send().await
                    };
                    match sent {
                        Ok(res) => {
                            let status = res.status();
                            let body = res.text().await.unwrap_or_default();
                            assert!(status.is_success(), "during shutdown: {status} {body}");
                            answered += 1;
                        }
                        Err(_) => {
                            refused += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                answered
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let status = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = service.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "authd did not stop within its shutdown timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "authd exits 0 on SIGTERM: {exit:?}");

    for task in logins {
        assert!(task.await.unwrap() > 0, "logins ran before the signal");
    }
    let mut last_tokens = Vec::new();
    for task in burst {
        let (token, answered) = task.await.unwrap();
        assert!(answered > 0, "the burst ran before the signal");
        last_tokens.push(token);
    }
    // A new instance on the same stores: every client's latest token is the
    // live one, so no rotation happened whose answer was lost.
    let again = Service::start(authd_bin!(), stores.dir.path(), &vars);
    for token in last_tokens {
        let res = http
            .post(again.url("/api/token"))
            .json(&serde_json::json!({"refresh_token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
}
