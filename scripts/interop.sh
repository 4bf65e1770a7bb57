#!/usr/bin/env bash
# Issues a vc+jwt and a dc+sd-jwt presentation with our library and verifies them with independent
# Python implementations (jwcrypto, and the OpenWallet SD-JWT reference library). Exits non-zero if
# the Python side rejects a good credential or accepts a tampered one.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CROSSAUTHZ_INTEROP_VENV:-target/interop-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r interop/requirements.txt
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo run --quiet --locked -p crossauthz-credentials --example interop_emit -- "$out"
"$venv/bin/python" interop/verify.py "$out"
