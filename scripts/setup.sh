#!/usr/bin/env bash
# Install what is missing, idempotently: Debian packages, the .venv, a .env with fresh keys.
# Usage: scripts/setup.sh [--browser]   (--browser adds Debian's chromium, for the e2e tests)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(unixodbc libsqliteodbc)
# The tests also drive Chromium and check the PostgreSQL path against a throwaway server.
[[ "${1:-}" == "--browser" ]] && packages+=(chromium postgresql)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "==> apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "!! Not root on Debian: install these by hand, then run this again:"
    echo "   sudo apt-get install ${missing[*]}"
    echo "   (elsewhere: unixODBC, the SQLite3 ODBC driver and Chromium from your package manager)"
  fi
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.installed-pyproject
if [[ ! -f $stamp ]] || ! cmp -s pyproject.toml "$stamp"; then
  echo "==> pip install -e .[dev]"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[dev]"
  cp pyproject.toml "$stamp"
fi

if [[ ! -f .env ]]; then
  echo "==> writing .env with a new SECRET_KEY and encryption key"
  secret=$(.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))")
  fernet=$(.venv/bin/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")
  umask 077
  printf 'SECRET_KEY=%s\nCLARITY_ENCRYPTION_KEYS=%s\n' "$secret" "$fernet" > .env
fi
# The Salesforce Pub/Sub stubs are generated with the pinned grpcio-tools so they match the protobuf
# runtime; regenerated whenever the proto is newer than them.
proto=connectors/salesforce/pubsub/pubsub_api.proto
stub=connectors/salesforce/pubsub/pubsub_api_pb2_grpc.py
if [[ ! -f $stub || $proto -nt $stub || $stamp -nt $stub ]]; then
  echo "==> generating the Pub/Sub stubs from $proto"
  .venv/bin/python -m grpc_tools.protoc -I . --python_out=. --grpc_python_out=. "$proto"
fi
mkdir -p var/sandbox
