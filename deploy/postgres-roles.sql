-- The two PostgreSQL roles rootkey runs with (README, "Two PostgreSQL roles"):
--   rootkey_owner owns the tables and runs the migrations (python -m bot db upgrade) and
--                 python -m bot db grant --role rootkey_bot;
--   rootkey_bot   is what the bot connects as: it reads and writes its working tables but may
--                 only read and append to the remediation log, and, not owning it, cannot
--                 switch the log's append-only trigger off.
-- Run once by a superuser on a new database (compose.yaml mounts it into the postgres image's
-- /docker-entrypoint-initdb.d, which runs it with psql as POSTGRES_USER in POSTGRES_DB).
-- The passwords come from the environment (psql 15+: \getenv).
\getenv owner_password ROOTKEY_OWNER_PASSWORD
\getenv bot_password ROOTKEY_BOT_PASSWORD
CREATE ROLE rootkey_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE rootkey_bot LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'bot_password';
-- the database's owner owns its public schema (PostgreSQL 15+): the migrations create there
SELECT format('ALTER DATABASE %I OWNER TO rootkey_owner', current_database()) \gexec
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO rootkey_bot;
