#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 for the test suite: start them if they
# are installed but stopped, install them (Debian/Ubuntu) if they are missing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "services: installing PostgreSQL" >&2
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  echo "services: starting PostgreSQL" >&2
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  pg_up || { echo "services: PostgreSQL did not start" >&2; exit 1; }
fi
# The suite connects as postgres:postgres over TCP (see TEST_DATABASE_URL in the Makefile). Machines with
# trust auth accept it as is; a fresh Debian install wants a password, which we set as the postgres OS user.
export PGPASSWORD=postgres
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  echo "services: setting a password for the postgres role" >&2
  as_root runuser -u postgres -- psql -q -c "ALTER ROLE postgres PASSWORD 'postgres'" >/dev/null
  psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null || {
    echo "services: cannot connect to PostgreSQL as postgres@127.0.0.1 (set TEST_DATABASE_URL)" >&2; exit 1; }
fi

if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "services: installing Redis" >&2
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  echo "services: starting Redis" >&2
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis_up && break; sleep 1; done
  redis_up || { echo "services: Redis did not start" >&2; exit 1; }
fi
echo "services: PostgreSQL and Redis are up" >&2
