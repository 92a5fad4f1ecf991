-- OCPP 1.6 security profiles 2 and 3 (issue 16): a pile set to profile 2 connects only over TLS, one set
-- to profile 3 only with a client certificate verified by the proxy whose subject CN is its chargePointId.
ALTER TABLE piles ADD COLUMN security_profile smallint NOT NULL DEFAULT 1 CHECK (security_profile IN (1, 2, 3));

-- A SignCertificate request that was signed keeps the certificate it got (PEM), and why one was refused.
ALTER TABLE ocpp_certificate_requests ADD COLUMN certificate text;
ALTER TABLE ocpp_certificate_requests ADD COLUMN refusal text;
