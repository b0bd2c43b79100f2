#!/bin/bash
# Runs once, in the primary's first start (the postgis image runs /docker-entrypoint-initdb.d/*.sh):
# a role the standby streams as, and a pg_hba entry for it. wal_level=replica is PostgreSQL 15's default.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v pw="$CITYGRID_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE citygrid_replicator WITH REPLICATION LOGIN PASSWORD :'pw';
SQL
echo "host replication citygrid_replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
