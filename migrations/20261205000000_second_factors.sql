-- Second factors (docs/api.md, "Second factors and passkeys").
--
-- TOTP (RFC 6238): one per user. The secret is sealed with AES-256-GCM under
-- AUTHD_ENCRYPTION_KEY_FILE (text `v1:<base64 nonce+ciphertext+tag>`, the
-- user id as associated data), or, in development without a key, kept as
-- `plain:<base32>`. A pending enrolment (confirmed = 0) is replaced by the
-- next one; confirming it turns TOTP on. Times: unix seconds.
CREATE TABLE totp_factors (
    user_id    TEXT    PRIMARY KEY,
    secret     TEXT    NOT NULL,
    confirmed  BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL
);
-- Ten single-use recovery codes per user, made when TOTP is confirmed: only
-- the SHA-256 of user id and code is kept. Using one deletes its row, so of
-- two concurrent uses exactly one succeeds.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
-- WebAuthn credentials (passkeys). `credential` is webauthn-rs's Passkey as
-- JSON (public key, algorithm, counter); `sign_count` is the authenticator's
-- signature counter, advanced by compare-and-swap so that a counter that
-- goes backwards (a cloned authenticator) is refused on every instance.
CREATE TABLE passkeys (
    id            TEXT    PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    credential_id TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    credential    TEXT    NOT NULL,
    sign_count    BIGINT  NOT NULL DEFAULT 0,
    backup_eligible BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);
