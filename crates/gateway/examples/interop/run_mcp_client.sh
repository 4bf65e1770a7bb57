#!/usr/bin/env bash
# Runs the official MCP Python SDK's OAuth client (CIMD, authorization code + PKCE + resource,
# then a refresh as a public client) against crossauthz's Authorization Server and example
# resource server on localhost (examples/oauth_interop_world.rs). Needs the test PostgreSQL; the
# first run needs PyPI for `mcp` (interop/requirements-mcp.txt). Idempotent: the virtualenv is
# reused and only reinstalled when the requirements change.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
VENV="${MCP_INTEROP_VENV:-/tmp/crossauthz-mcp-venv}"
REQS=interop/requirements-mcp.txt
OUT="$(mktemp -d)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.crossauthz-requirements" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q -r "$REQS"
  echo "$want" > "$VENV/.crossauthz-requirements"
fi
cargo build -q --locked -p crossauthz-gateway --example oauth_interop_world
WORLD_BIN="${CARGO_TARGET_DIR:-target}/debug/examples/oauth_interop_world"
mkfifo "$OUT/ctl"
"$WORLD_BIN" "$OUT/world.json" < "$OUT/ctl" &
WORLD=$!
exec 3>"$OUT/ctl"
cleanup() { exec 3>&- || true; wait "$WORLD" || true; rm -rf "$OUT"; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  [ -f "$OUT/world.json" ] && break
  kill -0 "$WORLD" 2>/dev/null || { echo "the interop world exited early" >&2; exit 1; }
  sleep 1
done
[ -f "$OUT/world.json" ] || { echo "the interop world did not come up" >&2; exit 1; }
"$VENV/bin/python" crates/gateway/examples/interop/mcp_cimd_client.py "$OUT/world.json"
