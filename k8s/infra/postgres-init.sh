#!/bin/bash
# Runs once, on an empty data directory: one role and one database per service (they
# never share a database, docs/architecture.md).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v producer_pw="$PRODUCER_DB_PASSWORD" -v consumer_pw="$CONSUMER_DB_PASSWORD" <<'SQL'
CREATE ROLE producer LOGIN PASSWORD :'producer_pw';
CREATE DATABASE producer OWNER producer;
CREATE ROLE consumer LOGIN PASSWORD :'consumer_pw';
CREATE DATABASE consumer OWNER consumer;
SQL
