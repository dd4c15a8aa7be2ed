-- An operator's switch: a disabled account cannot log in (the same answer
-- as a wrong password) and its sessions end when it is disabled.
ALTER TABLE users ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
