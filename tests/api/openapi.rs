//! `GET /openapi.json`: an OpenAPI 3.1 document of every route, with its
//! request and response schemas, the error body and the Bearer scheme.
//! (CI also runs schemathesis against a live authd with it:
//! `.ci/schemathesis.sh`.)

use serde_json::Value;

use crate::helpers::*;

/// Every route authd serves (the route table: `http::routes::configure`).
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/register"),
    ("post", "/api/login"),
    ("post", "/api/token"),
    ("post", "/api/logout"),
    ("post", "/api/logout-all"),
    ("get", "/api/me"),
    ("delete", "/api/account"),
    ("get", "/api/sessions"),
    ("delete", "/api/sessions/{id}"),
    ("post", "/api/password"),
    ("post", "/api/password/forgot"),
    ("post", "/api/password/reset"),
    ("post", "/api/email/verify"),
    ("post", "/api/email/verify/resend"),
    ("get", "/api/secure"),
    ("post", "/api/revoke"),
    ("post", "/api/introspect"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/openapi.json"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/"),
    ("get", "/readyz"),
    ("get", "/api/admin/users"),
    ("get", "/api/admin/users/{id}"),
    ("delete", "/api/admin/users/{id}"),
    ("post", "/api/admin/users/{id}/disable"),
    ("post", "/api/admin/users/{id}/enable"),
    ("post", "/api/admin/users/{id}/logout-all"),
    ("post", "/api/admin/users/{id}/verify-email"),
    ("delete", "/api/admin/users/{id}/factors"),
    ("delete", "/api/admin/users/{id}/identities/{identity}"),
    ("post", "/api/login/mfa"),
    ("post", "/api/login/id-token"),
    ("get", "/api/identities"),
    ("get", "/api/oauth/authorize"),
    ("get", "/api/oauth/callback"),
    ("post", "/api/oauth/callback"),
    ("post", "/api/identities"),
    ("delete", "/api/identities/{id}"),
    ("post", "/api/login/passkey/start"),
    ("post", "/api/login/passkey/finish"),
    ("post", "/api/mfa/totp"),
    ("delete", "/api/mfa/totp"),
    ("post", "/api/mfa/totp/confirm"),
    ("post", "/api/passkeys/register/start"),
    ("post", "/api/passkeys/register/finish"),
    ("get", "/api/passkeys"),
    ("delete", "/api/passkeys/{id}"),
];

#[tokio::test]
async fn the_document_covers_every_route_with_its_schemas() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for (method, path) in ROUTES {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        // Every documented status except 204 and the revocation's 200 has
        // a JSON schema or text; every error is the error body.
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                // A login's 403 may be `mfa_required`: the error body with
                // the second step's fields.
                let expected = match (*path, status.as_str()) {
                    ("/api/login" | "/api/login/id-token" | "/api/token", "403") => {
                        "#/components/schemas/MfaRequiredBody"
                    }
                    _ => "#/components/schemas/ErrorBody",
                };
                assert_eq!(schema, expected, "{method} {path} {status}");
            }
        }
    }
    let guarded = &doc["paths"]["/api/me"]["get"];
    assert_eq!(guarded["security"][0]["bearer"], serde_json::json!([]));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let token = &doc["components"]["schemas"]["TokenResponse"];
    for field in [
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "session_id",
    ] {
        assert!(
            token["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == field),
            "{field}"
        );
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert!(
        error["properties"]["error"].is_object()
            && error["properties"]["error_description"].is_object()
    );
    let second_step = &doc["components"]["schemas"]["MfaRequiredBody"];
    for field in [
        "error",
        "error_description",
        "mfa_token",
        "factors",
        "publicKey",
    ] {
        assert!(
            second_step["properties"][field].is_object(),
            "{field}: {second_step}"
        );
    }
    let form = &doc["paths"]["/api/token"]["post"]["requestBody"]["content"];
    assert!(form["application/x-www-form-urlencoded"].is_object());
    // The routes that take a DPoP proof say so (RFC 9449 §4.1 header).
    for path in ["/api/login", "/api/token", "/api/logout", "/api/revoke"] {
        let params = doc["paths"][path]["post"]["parameters"].as_array();
        assert!(
            params.is_some_and(|p| p.iter().any(|p| p["name"] == "DPoP" && p["in"] == "header")),
            "{path}: {params:?}"
        );
    }
}

/// What openapi-spec-validator (run by `.ci/schemathesis.sh`) checks first,
/// here too: operation ids are unique, and every path parameter is a
/// placeholder of its path (a query parameter declared in the path is not).
#[tokio::test]
async fn operation_ids_are_unique_and_path_parameters_name_placeholders() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/openapi.json").await;
    let mut ids = std::collections::BTreeMap::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            if let Some(id) = operation["operationId"].as_str() {
                let earlier = ids.insert(id.to_string(), format!("{method} {path}"));
                assert!(earlier.is_none(), "{id}: {earlier:?} and {method} {path}");
            }
            let in_path: Vec<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            for name in &in_path {
                assert!(
                    path.contains(&format!("{{{name}}}")),
                    "{method} {path}: path parameter {name} is not in the path"
                );
            }
            assert_eq!(
                path.matches('{').count(),
                in_path.len(),
                "{method} {path}: {in_path:?}"
            );
        }
    }
}
