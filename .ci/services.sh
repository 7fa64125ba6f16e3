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
# An S3-compatible server for the object-store tests (MinIO cannot be installed here): moto's standalone
# server on 127.0.0.1:9000, in the background, until it answers. Tests read S3_ENDPOINT (default that port).
S3_PORT="${S3_TEST_PORT:-9000}"
if ! curl -s -o /dev/null "http://127.0.0.1:${S3_PORT}/" 2>/dev/null && [ -x .venv/bin/moto_server ]; then
  mkdir -p var
  nohup .venv/bin/moto_server -H 127.0.0.1 -p "${S3_PORT}" >var/moto_server.log 2>&1 &
  for _ in $(seq 30); do curl -s -o /dev/null "http://127.0.0.1:${S3_PORT}/" && break; sleep 0.5; done
fi
# The browser tests drive Debian's chromium through Playwright (never a downloaded browser).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "could not install chromium: the browser tests will be skipped" >&2
fi
# The deployment checks (tests/infra): Debian's docker-compose validates the compose files with no engine, and
# nginx runs the edge proxy's config in front of stand-in backends.
if { ! command -v docker-compose >/dev/null || ! command -v nginx >/dev/null; } && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose nginx-light) \
    >/dev/null 2>&1 || echo "could not install docker-compose and nginx: those infra tests will be skipped" >&2
fi
# The observability checks (tests/infra/test_infra_observability.py): promtool, from Debian's prometheus package,
# checks the alert rules, the Prometheus config and the dashboard's queries.
if ! command -v promtool >/dev/null && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) \
    >/dev/null 2>&1 || echo "could not install prometheus (promtool): the promtool checks will be skipped" >&2
fi
exit 0
