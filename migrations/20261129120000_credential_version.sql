-- A counter bumped by every password change, compare-and-swap: two changes
-- racing from the same version cannot both land. Redis keeps the newest
-- version whose sessions it has settled (sessions/scripts/create.lua,
-- revoke_all.lua): a login checked against an older password makes no
-- session, and a marker behind this column means a change whose Redis
-- step has not run yet (auth::account), which keeps the session that made
-- the change, named here.
ALTER TABLE users ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN credential_changed_by TEXT;
