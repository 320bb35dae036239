#!/bin/sh
# Prepares a Temporal namespace for Blanco: the namespace itself (where it does not exist yet)
# and the search attributes of workflows/search_attributes.py. Safe to run again: `create`
# accepts an attribute that already exists with the same type and refuses a different one.
#
# Runs in the compose stack (service temporal-setup, image temporalio/admin-tools) and anywhere
# the `temporal` CLI is installed (`.venv/bin/temporal`), against any cluster:
#   TEMPORAL_ADDRESS=temporal-frontend:7233 TEMPORAL_NAMESPACE=blanco sh deploy/temporal/setup.sh
# The CLI takes its connection from the environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
# TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH / TEMPORAL_TLS_CLIENT_KEY_PATH, ...
set -eu

: "${TEMPORAL_ADDRESS:=localhost:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${TEMPORAL_RETENTION:=30d}"   # how long closed lead histories are kept (erasure deletes sooner)
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE  # the CLI's defaults (`namespace create` wants the flag)

# retry CMD...: the server comes up, and its namespace and search attribute caches refresh,
# a few seconds after a change; two minutes is a server that is not coming.
retry() {
  tries=0
  until "$@"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "gave up: $*" >&2
      return 1
    fi
    sleep 2
  done
}

echo "waiting for Temporal at $TEMPORAL_ADDRESS"
retry temporal operator cluster health >/dev/null 2>&1

if ! temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$TEMPORAL_RETENTION"
fi
retry temporal operator search-attribute list >/dev/null 2>&1

# docs/temporal-interface.md (search attributes) = workflows/search_attributes.py (tests/deploy compares them).
retry temporal operator search-attribute create --name DealerId --type Keyword
retry temporal operator search-attribute create --name LeadStatus --type Keyword
retry temporal operator search-attribute create --name LeadSource --type Keyword
retry temporal operator search-attribute create --name LeadKind --type Keyword
retry temporal operator search-attribute create --name TouchCount --type Int
retry temporal operator search-attribute create --name NextTouchAt --type Datetime
retry temporal operator search-attribute create --name AssignedTo --type Keyword
retry temporal operator search-attribute create --name TaskStatus --type Keyword
retry temporal operator search-attribute create --name TaskKind --type Keyword
retry temporal operator search-attribute create --name ContactKeys --type KeywordList

# Ready when the frontend accepts a query over them (the API looks leads up by ContactKeys).
retry temporal workflow count --query "DealerId = 'probe' AND ContactKeys = 'probe'" >/dev/null
echo "namespace $TEMPORAL_NAMESPACE is ready for Blanco"
