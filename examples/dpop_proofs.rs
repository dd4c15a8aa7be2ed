//! DPoP proofs for the benchmark, made ahead of a run so the load
//! generator only sends them (each proof is accepted once, so a run needs
//! one per request): logs in with a proof by a new Ed25519 key, which
//! binds the session, then writes, into `OUT_DIR`:
//!
//! - `access_token`, `refresh_token`: the bound session's tokens;
//! - `guard_proofs`: `N_GUARD` proofs for `GET <AUTHD_URL>/api/secure`, with `ath`;
//! - `refresh_proofs`: `N_REFRESH` proofs for `POST <AUTHD_URL>/api/token`.
//!
//!     cargo run --example dpop_proofs -- AUTHD_URL EMAIL PASSWORD N_GUARD N_REFRESH OUT_DIR
//!
//! Proofs are valid for `AUTHD_DPOP_MAX_AGE` (300 s by default) from now.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use authd::jwt::{generate_private_key_pem, JwtAlgorithm};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Signer {
    key: EncodingKey,
    header: Header,
    iat: u64,
}

impl Signer {
    fn proof(&self, method: &str, url: &str, jti: u64, access_token: Option<&str>) -> String {
        let mut claims = json!({
            "jti": format!("bench-{jti}"),
            "htm": method,
            "htu": url,
            "iat": self.iat,
        });
        if let Some(token) = access_token {
            claims["ath"] = B64.encode(Sha256::digest(token.as_bytes())).into();
        }
        match encode(&self.header, &claims, &self.key) {
            Ok(proof) => proof,
            Err(e) => fail(&format!("signing a proof: {e}")),
        }
    }
}

fn fail(why: &str) -> ! {
    eprintln!("dpop_proofs: {why}");
    std::process::exit(1)
}

fn write(dir: &Path, name: &str, text: &str) {
    if let Err(e) = std::fs::write(dir.join(name), text) {
        fail(&format!("writing {name}: {e}"));
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, email, password, n_guard, n_refresh, out] = args.as_slice() else {
        fail("usage: dpop_proofs AUTHD_URL EMAIL PASSWORD N_GUARD N_REFRESH OUT_DIR");
    };
    let n_guard: u64 = n_guard
        .parse()
        .unwrap_or_else(|_| fail("N_GUARD is a number"));
    let n_refresh: u64 = n_refresh
        .parse()
        .unwrap_or_else(|_| fail("N_REFRESH is a number"));
    let url = url.trim_end_matches('/');
    let pem = generate_private_key_pem(JwtAlgorithm::EdDSA).unwrap_or_else(|e| fail(&e));
    let key = EncodingKey::from_ed_pem(pem.as_bytes()).unwrap_or_else(|e| fail(&e.to_string()));
    let jwk =
        Jwk::from_encoding_key(&key, Algorithm::EdDSA).unwrap_or_else(|e| fail(&e.to_string()));
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(jwk);
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let signer = Signer { key, header, iat };

    let login_url = format!("{url}/api/login");
    let res = reqwest::Client::new()
        .post(&login_url)
        .header("DPoP", signer.proof("POST", &login_url, u64::MAX, None))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap_or_else(|e| fail(&format!("login: {e}")));
    let tokens: Value = res
        .json()
        .await
        .unwrap_or_else(|e| fail(&format!("login answer: {e}")));
    if tokens["token_type"] != "DPoP" {
        fail(&format!("login did not bind the session: {tokens}"));
    }
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let refresh = tokens["refresh_token"].as_str().unwrap_or_default();
    let out = Path::new(out);
    write(out, "access_token", access);
    write(out, "refresh_token", refresh);
    let guarded = format!("{url}/api/secure");
    let token_url = format!("{url}/api/token");
    let mut guard_proofs = String::new();
    let mut refresh_proofs = String::new();
    for i in 0..n_guard {
        guard_proofs.push_str(&signer.proof("GET", &guarded, i, Some(access)));
        guard_proofs.push('\n');
    }
    for i in 0..n_refresh {
        refresh_proofs.push_str(&signer.proof("POST", &token_url, n_guard + i, None));
        refresh_proofs.push('\n');
    }
    write(out, "guard_proofs", &guard_proofs);
    write(out, "refresh_proofs", &refresh_proofs);
}
