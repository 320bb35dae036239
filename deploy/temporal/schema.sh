#!/bin/sh
# The Temporal server's own schema in PostgreSQL (compose service temporal-schema, image
# temporalio/admin-tools): the `temporal` and `temporal_visibility` databases, created, set up
# and brought to the schema version of this admin-tools release. Safe on every start; after an
# upgrade of the Temporal images (server and admin-tools together) it applies the new versions.
set -eu

# The password comes from SQL_PASSWORD in the environment, never from the command line.
sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" \
    -u "$POSTGRES_USER" "$@"
}

# setup DATABASE SCHEMA: `create` fails once the database exists; a real failure shows in the
# step after it.
setup() {
  sql --db "$1" create >/dev/null 2>&1 || true
  sql --db "$1" setup-schema -v 0.0
  sql --db "$1" update-schema -d "/etc/temporal/schema/postgresql/v12/$2/versioned"
}

setup temporal temporal
setup temporal_visibility visibility
echo "Temporal schema is up to date"
