#!/usr/bin/env bash
# The standby's entrypoint: on its first start, a base backup of the primary (which writes
# standby.signal and primary_conninfo); then PostgreSQL as a streaming standby named `standby`,
# the name the primary's synchronous_standby_names waits for.
set -euo pipefail
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until gosu postgres pg_basebackup -h postgres -U chargepile -D "$PGDATA" -X stream -R -d "application_name=standby"; do
        echo "postgres-standby: waiting for the primary" >&2
        sleep 2
    done
    # Promoted, it runs alone: waiting for a standby it does not have would stop every write.
    echo "synchronous_standby_names = ''" | gosu postgres tee -a "$PGDATA/postgresql.conf" >/dev/null
fi
exec gosu postgres postgres
