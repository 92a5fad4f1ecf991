-- A fast check of a pile's secret, beside its bcrypt hash: SHA-256 of a random salt and the secret.
-- Chargers reconnect by the thousand after an instance dies; a bcrypt each (tens of ms of CPU) would
-- make the survivors spend minutes on handshakes. Generated pile secrets are high-entropy (16 random
-- characters of 56, about 93 bits), so a fast hash of one is as safe as bcrypt; a weak secret an
-- operator chose is only as strong as its SHA-256 (README, Security).
ALTER TABLE piles
    ADD COLUMN secret_salt bytea CHECK (length(secret_salt) = 16),
    ADD COLUMN secret_digest bytea CHECK (length(secret_digest) = 32),
    ADD CONSTRAINT piles_secret_digest_salted CHECK ((secret_salt IS NULL) = (secret_digest IS NULL));

-- A new password makes the old digest wrong: it goes with the old hash unless the same statement set a new one.
CREATE FUNCTION piles_forget_secret_digest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.password_hash IS DISTINCT FROM OLD.password_hash AND NEW.secret_digest IS NOT DISTINCT FROM OLD.secret_digest THEN
        NEW.secret_salt := NULL;
        NEW.secret_digest := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER piles_forget_secret_digest BEFORE UPDATE OF password_hash ON piles
    FOR EACH ROW EXECUTE FUNCTION piles_forget_secret_digest();
