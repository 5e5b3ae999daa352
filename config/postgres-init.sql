-- docker compose's PostgreSQL: the gateway's database is created by POSTGRES_DB; the test suite
-- connects to `test` (TEST_DATABASE_URL's default) to create one database per test file.
CREATE DATABASE test;
