#!/usr/bin/env bash
# Interop checks: emit credentials with the Rust crate, verify them with Python implementations;
# then run the official MCP Python SDK's OAuth client (CIMD code flow + refresh) against our
# Authorization Server (needs the test PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${INTEROP_VENV:-/tmp/crossauthz-interop-venv}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q -r interop/requirements.txt
cargo run -q --locked -p crossauthz-credentials --example interop_emit -- "$OUT"
"$VENV/bin/python" interop/verify.py "$OUT"
crates/gateway/examples/interop/run_mcp_client.sh
