#!/usr/bin/env bash
# The primary's first start (docker-entrypoint-initdb.d): the standby may stream WAL as chargepile.
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
