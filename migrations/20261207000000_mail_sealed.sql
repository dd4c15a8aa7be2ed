-- Mail bodies sealed at rest: with AUTHD_ENCRYPTION_KEY_FILE set, the text
-- and HTML of every queued mail are AES-256-GCM sealed (`v1:`…, bound to the
-- recipient), so a backup or a read replica of the outbox holds no working
-- reset or verification link. 0: plain (no key, or queued before this).
ALTER TABLE mail_outbox ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0;
