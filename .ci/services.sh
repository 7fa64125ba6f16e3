#!/usr/bin/env bash
# Start what the tests need and this machine may not have running yet. Idempotent.
set -uo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! (echo > /dev/tcp/127.0.0.1/5672) >/dev/null 2>&1 && command -v rabbitmq-server >/dev/null; then
  rabbitmq-server -detached || true
  for _ in $(seq 30); do (echo > /dev/tcp/127.0.0.1/5672) >/dev/null 2>&1 && break; sleep 1; done
fi
exit 0
