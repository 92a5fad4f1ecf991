-- Authentication hardening (issue 10, items 3, 4, 5 and 10).

-- ---------------------------------------------------------------- login throttling
-- Failed logins counted where every instance sees them: one row per account
-- (`account`, key `<role>:<lower(normalized username)>`) and per client address
-- (`address`, key the address as text), plus registrations per address (`register`).
-- `failures` counts within the current window: a row whose `last_at` is older than the
-- window starts again from 1. `locked_until` set: every attempt is refused until then.
CREATE TABLE auth_throttle (
    scope        text NOT NULL CHECK (scope IN ('account', 'address', 'register')),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    failures     integer NOT NULL CHECK (failures >= 0),
    first_at     timestamptz NOT NULL DEFAULT now(),
    last_at      timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    PRIMARY KEY (scope, key)
);
CREATE INDEX auth_throttle_last ON auth_throttle (last_at);

-- ---------------------------------------------------------------- audit trail
-- Every login attempt (and logout), never a password or token. `outcome`: success,
-- failure (wrong username or password), throttled (refused by the delay or lockout
-- before the password was checked), busy (password hashing saturated), invalid
-- (a username that can't exist: empty after trimming, control characters, too long).
CREATE TABLE auth_events (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    role           text NOT NULL CHECK (role IN ('admin', 'pile', 'driver')),
    event          text NOT NULL CHECK (event IN ('login', 'logout', 'register')),
    username       text NOT NULL,
    client_address text NOT NULL,
    outcome        text NOT NULL,
    instance       uuid
);
CREATE INDEX auth_events_at ON auth_events (at);
CREATE INDEX auth_events_username ON auth_events (role, lower(username), at);
CREATE INDEX auth_events_address ON auth_events (client_address, at);

-- For DBAs: newest first, with how many failures that account and address had in the hour before.
CREATE VIEW recent_auth_events AS
SELECT e.id, e.at, e.role, e.event, e.username, e.client_address, e.outcome, e.instance,
       (SELECT count(*) FROM auth_events f
         WHERE f.role = e.role AND lower(f.username) = lower(e.username) AND f.outcome <> 'success'
           AND f.at > e.at - interval '1 hour' AND f.at <= e.at) AS account_failures_last_hour,
       (SELECT count(*) FROM auth_events f
         WHERE f.client_address = e.client_address AND f.outcome <> 'success'
           AND f.at > e.at - interval '1 hour' AND f.at <= e.at) AS address_failures_last_hour
FROM auth_events e
ORDER BY e.at DESC, e.id DESC;

-- ---------------------------------------------------------------- sessions
-- A changed password ends the account's sessions, whoever changes it (chargepile admin add,
-- pile add, a DBA in psql). The pile's socket notices its token is gone and is closed.
CREATE FUNCTION revoke_tokens_on_password_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
        DELETE FROM auth_tokens WHERE role = TG_ARGV[0] AND subject = OLD.id::text;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER admins_password_revokes AFTER UPDATE OF password_hash ON admins
    FOR EACH ROW EXECUTE FUNCTION revoke_tokens_on_password_change('admin');
CREATE TRIGGER drivers_password_revokes AFTER UPDATE OF password_hash ON drivers
    FOR EACH ROW EXECUTE FUNCTION revoke_tokens_on_password_change('driver');
CREATE TRIGGER piles_password_revokes AFTER UPDATE OF password_hash ON piles
    FOR EACH ROW EXECUTE FUNCTION revoke_tokens_on_password_change('pile');
CREATE INDEX auth_tokens_subject ON auth_tokens (role, subject);

-- ---------------------------------------------------------------- usernames
-- New usernames are stored normalized (NFC, trimmed, no control characters) by the service.
-- Uniqueness is case-insensitive on the normalized form. Rows written before this migration
-- are left as they are (drivers are known by username in the station state, so renaming one
-- would orphan its requests); where two of them collide case-insensitively, the oldest keeps
-- the name and the others are marked `username_legacy_duplicate`: they still log in with
-- their exact spelling, and the unique index leaves them out. A DBA lists them with
--   SELECT id, username FROM drivers WHERE username_legacy_duplicate;
ALTER TABLE admins ADD COLUMN username_legacy_duplicate boolean NOT NULL DEFAULT false;
ALTER TABLE drivers ADD COLUMN username_legacy_duplicate boolean NOT NULL DEFAULT false;

UPDATE admins a SET username_legacy_duplicate = true
WHERE EXISTS (SELECT 1 FROM admins b
              WHERE lower(normalize(b.username, NFC)) = lower(normalize(a.username, NFC)) AND b.id < a.id);
UPDATE drivers a SET username_legacy_duplicate = true
WHERE EXISTS (SELECT 1 FROM drivers b
              WHERE lower(normalize(b.username, NFC)) = lower(normalize(a.username, NFC)) AND b.id < a.id);

CREATE UNIQUE INDEX admins_username_folded ON admins (lower(normalize(username, NFC))) WHERE NOT username_legacy_duplicate;
CREATE UNIQUE INDEX drivers_username_folded ON drivers (lower(normalize(username, NFC))) WHERE NOT username_legacy_duplicate;
