-- A counter bumped by every password change, compare-and-swap: two changes
-- racing from the same version cannot both land, and Redis keeps the newest
-- version it has seen so that a login checked against an older password
-- makes no session (sessions/scripts/create.lua).
ALTER TABLE users ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 1;
