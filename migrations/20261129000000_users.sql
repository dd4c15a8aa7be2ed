-- One portable schema for SQLite and Postgres (through sqlx's Any driver,
-- which carries only text, integers, floats, booleans and blobs): ids are
-- UUID text, times are unix seconds.
CREATE TABLE users (
    id               TEXT    PRIMARY KEY,
    email            TEXT    NOT NULL,
    -- trimmed, NFC, lower case: what "one account per email" is enforced on
    email_normalized TEXT    NOT NULL UNIQUE,
    password_hash    TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
