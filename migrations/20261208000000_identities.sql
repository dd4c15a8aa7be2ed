-- Identities at OpenID providers (docs/api.md, "Sign in with Apple, Google
-- and other providers"): who the user is at an issuer, the pair (issuer,
-- sub), never the email. A pair belongs to one user. `issuer` is the
-- provider's configured issuer (Apple's second issuer maps to its first);
-- `email` is the address the provider gave when the identity was linked,
-- shown to the user and never used to find anybody.
--
-- An account made by a provider sign-in has no password: its password_hash
-- is empty (no Argon2 hash is). An account made without an address keeps
-- `email` empty and `email_normalized` as `!` and its id, which no address
-- normalizes to.
CREATE TABLE identities (
    id         TEXT   PRIMARY KEY,
    user_id    TEXT   NOT NULL,
    provider   TEXT   NOT NULL,
    issuer     TEXT   NOT NULL,
    subject    TEXT   NOT NULL,
    email      TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX identities_by_user ON identities (user_id);
