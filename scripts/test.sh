#!/usr/bin/env bash
# Install everything the whole test suite needs on a fresh Debian machine, then check and run it.
# System packages: chromium (end-to-end tests), fonts-noto-cjk (Chinese in screenshots), postgresql (the same
# storage tests on PostgreSQL as on SQLite). Python packages: this project with its test extras, in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
. scripts/venv.sh "[test]"
echo "== ruff, import contracts, mypy"
python -m ruff check .
lint-imports --no-cache >/dev/null || lint-imports --no-cache
python -m mypy
export HUIFANG_TEST_PG_URL="${HUIFANG_TEST_PG_URL:-$(bash scripts/pg_test_server.sh)}"
python -m pytest -q -n 2 "$@"
