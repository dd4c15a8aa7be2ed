-- Mail that must not be lost: a request that causes a mail writes it here,
-- in the transaction of the change that caused it where there is one, and
-- each instance's sender delivers it (mail::sender). A sender claims a row
-- by writing its own id and a lease; a row whose lease ran out (its sender
-- died) is claimed again by another. A delivered row is deleted, so a
-- link with a token lives here only until its mail is sent, and no longer
-- than the token itself (`expires_at`: past it, the mail is deleted unsent).
-- Times: unix ms.
CREATE TABLE mail_outbox (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    text_body       TEXT    NOT NULL,
    html_body       TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    claimed_by      TEXT,
    claimed_until   BIGINT  NOT NULL DEFAULT 0,
    expires_at      BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at);

-- Single-use tokens sent by mail (password reset, email verification):
-- only their SHA-256 is kept, one per user and kind, so a newer token
-- replaces the older. Consumed by deleting the row: of two concurrent uses
-- exactly one deletes it. Times: unix seconds.
CREATE TABLE account_tokens (
    user_id    TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    token_hash TEXT    NOT NULL UNIQUE,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, kind)
);
