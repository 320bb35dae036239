#!/bin/sh
# The results store's database in the stack's PostgreSQL (compose service results-db, image
# postgres): a `blanco` role that logs in with BLANCO_RESULTS_PASSWORD and a `blanco` database
# it owns, where the worker and the API run their Alembic migrations. Connects as the server's
# superuser through the libpq environment (PGHOST, PGUSER, PGPASSWORD).
#
# A one-shot job rather than a script in /docker-entrypoint-initdb.d: those run only on an empty
# data volume, and a stack that already ran Temporal has one full of data. Safe on every start;
# a changed BLANCO_RESULTS_PASSWORD is applied.
set -eu
: "${BLANCO_RESULTS_PASSWORD:?BLANCO_RESULTS_PASSWORD is not set}"

# \getenv keeps the password off every command line; :'password' quotes it as an SQL literal.
psql --no-psqlrc --set ON_ERROR_STOP=1 --dbname "${PGDATABASE:-postgres}" <<'SQL'
\getenv password BLANCO_RESULTS_PASSWORD
SELECT 'CREATE ROLE blanco' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'blanco')
\gexec
ALTER ROLE blanco WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
SELECT 'CREATE DATABASE blanco OWNER blanco'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'blanco')
\gexec
-- Its owner connects, nobody else (but the superuser): Temporal's role has no business there.
REVOKE ALL ON DATABASE blanco FROM PUBLIC;
SQL
echo "The results store's database is ready"
