-- SM2-signed deliveries (spec §9, issue 17): a subscriber asks for `v1sm2` and its deliveries then
-- carry the gateway's SM2 signature (key served at GET /v1/keys) besides the HMAC of its secret.
ALTER TABLE subscribers ADD COLUMN signature text NOT NULL DEFAULT 'v1' CHECK (signature IN ('v1','v1sm2'));
