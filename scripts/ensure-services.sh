#!/usr/bin/env bash
# Start PostgreSQL, RabbitMQ and Redis where they are installed but do not answer
# (the machine's own start commands). Exit 1 if one is still down afterwards.
set -u
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 60); do answers "$1" && return 0; sleep 1; done; return 1; }
status=0
if ! answers 5432 && command -v pg_ctlcluster >/dev/null; then
  echo "[services] starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  wait_for 5432 || status=1
fi
if ! answers 6379 && command -v redis-server >/dev/null; then
  echo "[services] starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_for 6379 || status=1
fi
if ! answers 5672 && command -v rabbitmq-server >/dev/null; then
  echo "[services] starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_for 5672 || status=1
fi
exit $status
