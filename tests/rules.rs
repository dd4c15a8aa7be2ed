//! The rules of `auth::Auth`, called directly: no HTTP server, no request
//! parsing, the real stores (a private Redis, a fresh database).

use authd::auth::{Auth, AuthError, Client, FreshProof, LoginOutcome, TokenPair};
use authd::common::identity::Identity;
use authd::connections::Connections;
use authd_guard::{Presented, Refusal, TokenProblem};

use authd_test_support::servers::shared_redis_url;
use authd_test_support::stores::Stores;
use authd_test_support::values::{unique_email, PASSWORD};

struct Rules {
    auth: Auth,
    _connections: Connections,
    _stores: Stores,
}

async fn rules(extra: &[(&str, &str)]) -> Rules {
    let stores = Stores::fresh(shared_redis_url()).await;
    let settings = stores.settings(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let assembled = authd::app::startup::assemble(&settings, "http://localhost")
        .await
        .unwrap();
    let (auth, connections) = (assembled.auth, assembled.connections);
    Rules {
        auth,
        _connections: connections,
        _stores: stores,
    }
}

fn client() -> Client {
    Client {
        ip: Some("192.0.2.7".parse().unwrap()),
        user_agent: Some("rules test".into()),
    }
}

impl Rules {
    /// Registers a fresh account; its email.
    async fn account(&self) -> String {
        let email = unique_email();
        self.auth
            .register(&email, PASSWORD, &client())
            .await
            .unwrap();
        email
    }

    async fn login(&self, email: &str) -> TokenPair {
        match self
            .auth
            .login(email, PASSWORD, None, &client(), &Presented::bearer(None))
            .await
        {
            Ok(LoginOutcome::Session(pair)) => pair,
            Ok(LoginOutcome::SecondStep(_)) => panic!("a second step for a user with no factor"),
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn login_then_refresh_rotates_and_a_replay_is_reuse() {
    let r = rules(&[("AUTHD_REFRESH_REUSE_GRACE", "0")]).await;
    let email = r.account().await;
    let first = r.login(&email).await;
    let second = r
        .auth
        .refresh(&first.refresh_token, &Presented::bearer(None))
        .await
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.session_id, first.session_id);
    assert!(matches!(
        r.auth
            .refresh(&first.refresh_token, &Presented::bearer(None))
            .await,
        Err(AuthError::RefreshReused)
    ));
    // Reuse ended the session: the live token is refused too, and says why.
    assert!(matches!(
        r.auth
            .refresh(&second.refresh_token, &Presented::bearer(None))
            .await,
        Err(AuthError::RefreshReused)
    ));
}

#[tokio::test]
async fn wrong_passwords_and_bad_input_have_their_own_errors() {
    let r = rules(&[]).await;
    let email = r.account().await;
    assert!(matches!(
        r.auth
            .login(
                &email,
                "not the password",
                None,
                &client(),
                &Presented::bearer(None)
            )
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        r.auth
            .login(
                "not-an-email",
                PASSWORD,
                None,
                &client(),
                &Presented::bearer(None)
            )
            .await,
        Err(AuthError::InvalidRequest(_))
    ));
    assert!(matches!(
        r.auth.register(&email, PASSWORD, &client()).await,
        Err(AuthError::EmailTaken)
    ));
    assert!(matches!(
        r.auth
            .logout(Some("garbage"), &Presented::bearer(None))
            .await,
        Err(AuthError::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn a_password_change_ends_other_sessions_and_keeps_the_callers() {
    let r = rules(&[]).await;
    let email = r.account().await;
    let mine = r.login(&email).await;
    let other = r.login(&email).await;
    let guard = r.auth.guard();
    let me = guard.authenticate(Some(&mine.access_token)).await.unwrap();
    r.auth
        .change_password(
            me,
            FreshProof::Password(PASSWORD),
            "a new passphrase",
            &client(),
        )
        .await
        .unwrap();
    assert!(guard.authenticate(Some(&mine.access_token)).await.is_ok());
    assert!(matches!(
        guard.authenticate(Some(&other.access_token)).await,
        Err(Refusal::InvalidToken(TokenProblem::SessionEnded))
    ));
    assert!(r
        .auth
        .login(
            &email,
            "a new passphrase",
            None,
            &client(),
            &Presented::bearer(None)
        )
        .await
        .is_ok());
}

#[tokio::test]
async fn two_changes_from_the_same_password_cannot_both_land() {
    let r = rules(&[]).await;
    let email = r.account().await;
    let a = r.login(&email).await;
    let b = r.login(&email).await;
    let who = |session_id| Identity {
        key: None,
        amr: authd_guard::Amr::PASSWORD,
        user_id: r
            .auth
            .verify_signature(Some(&a.access_token))
            .unwrap()
            .user_id,
        session_id,
    };
    let here = client();
    let (first, second) = tokio::join!(
        r.auth.change_password(
            who(a.session_id),
            FreshProof::Password(PASSWORD),
            "first passphrase",
            &here
        ),
        r.auth.change_password(
            who(b.session_id),
            FreshProof::Password(PASSWORD),
            "second passphrase",
            &here
        ),
    );
    let wins = [&first, &second].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{first:?} {second:?}");
    assert!([first, second].into_iter().any(|r| matches!(
        r,
        Err(AuthError::CredentialsChanged | AuthError::WrongPassword)
    )));
}
