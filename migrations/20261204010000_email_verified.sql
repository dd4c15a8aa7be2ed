-- Whether the address has been proven by a mailed token (1) or not (0).
-- Accounts from before verification existed start unverified.
ALTER TABLE users ADD COLUMN email_verified BIGINT NOT NULL DEFAULT 0;
