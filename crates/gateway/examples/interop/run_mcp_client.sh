#!/usr/bin/env bash
# Runs the official MCP Python SDK's OAuth client (CIMD, authorization code + PKCE + resource)
# against crossauthz's Authorization Server and example resource server on localhost
# (examples/oauth_interop_world.rs). Needs the test PostgreSQL and PyPI access for `mcp`.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
VENV="${INTEROP_VENV:-/tmp/crossauthz-interop-venv}"
OUT="$(mktemp -d)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q mcp
cargo build -q --locked -p crossauthz-gateway --example oauth_interop_world
mkfifo "$OUT/ctl"
target/debug/examples/oauth_interop_world "$OUT/world.json" < "$OUT/ctl" &
WORLD=$!
exec 3>"$OUT/ctl"
cleanup() { exec 3>&- || true; wait "$WORLD" || true; rm -rf "$OUT"; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  [ -f "$OUT/world.json" ] && break
  sleep 1
done
"$VENV/bin/python" crates/gateway/examples/interop/mcp_cimd_client.py "$OUT/world.json"
