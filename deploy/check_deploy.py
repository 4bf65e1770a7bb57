#!/usr/bin/env python3
"""Checks of crossauthz's deployment artifacts, run by deploy/check.sh (which installs the tools).

Without a Docker engine, a cluster or any network:

* docker-compose.yml: `docker compose config` validates it against the compose-spec schema and
  resolves every reference (services, networks, volumes, depends_on); the normalised JSON it prints
  is then checked field by field (six services per domain, healthchecks on /readyz, depends_on
  conditions, per-domain networks, which secrets each service mounts, published ports, hardening).
* deploy/k8s: `kubectl kustomize` renders the base and every overlay; every object is validated
  against the strict Kubernetes JSON schemas bundled in kubernetes-validate (an unknown or misspelt
  field is an error), for the oldest and the newest Kubernetes version in K8S_VERSIONS; then field
  checks (probes, resources, securityContext, secret mounts, Services, NetworkPolicy, Ingress, no
  Secret with a value).
* every crossauthz.toml against the `serve` configuration contract, and each against the manifests
  that use it (ports, certificate paths, secret file paths, upstream names, public host).
* --self-test: copies the files to a temporary directory, breaks them in known ways, and requires
  that each breakage is caught by the check meant to catch it.

Prints one line per check and ends with `deploy: N passed, M failed`; exits non-zero on a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable
from urllib.parse import urlsplit

import kubernetes_validate
import yaml

# The Kubernetes versions the manifests must be valid for (the schemas are bundled).
K8S_VERSIONS = ("1.31.0", "1.37.0")

DOMAINS = ("alpha", "beta")
# The six services of a domain; the gateway has no gRPC server.
SERVICES = ("registry", "issuer", "status-list", "verifier", "monitor", "gateway")
GRPC_SERVICES = ("registry", "issuer", "status-list", "verifier", "monitor")
# [upstreams] key -> service (and DNS) name.
UPSTREAMS = {
    "registry": "registry",
    "issuer": "issuer",
    "status_list": "status-list",
    "verifier": "verifier",
    "monitor": "monitor",
}
# Whom each service calls over gRPC (crates/domain/src/config.rs, ServiceKind::upstreams; the
# gateway also calls the monitor when [upstreams] monitor is set, as every config here does).
UPSTREAMS_OF = {
    "registry": ("issuer",),
    "issuer": ("status-list",),
    "status-list": ("issuer",),
    "verifier": (),
    "monitor": ("issuer", "verifier"),
    "gateway": ("registry", "issuer", "status-list", "verifier", "monitor"),
}
# The gateway's optional upstream: not part of its readiness, so compose waits only for it to start.
GATEWAY_OPTIONAL = ("monitor",)
# Which service mounts which secret (compose volume <domain>-<vol> / Kubernetes Secret, and the
# [secrets] key naming the file); every other service mounts none (the monitor included).
SECRET_OWNERS = {
    "issuer": ("master-key", "master_key_file"),
    "gateway": ("admin-token", "admin_token_file"),
}
CONFIG_PATH = "/etc/crossauthz/crossauthz.toml"
INTERNAL_TLS_DIR = "/etc/crossauthz/internal"
SERVICE_UID = 10001

# The configuration contract (README "Configuration"): section -> known keys; None = free tunables.
CONFIG_SECTIONS: dict[str, set[str] | None] = {
    "database": {"url", "max_connections"},
    "secrets": {"master_key_file", "admin_token_file"},
    "serve": {"grpc_listen", "ops_listen"},
    "internal_tls": {"ca", "cert", "key", "bearer_tokens_file"},
    "upstreams": set(UPSTREAMS),
    "gateway": {"listen", "tls_cert", "tls_key"},
    "telemetry": {"otlp_endpoint", "log_format"},
    "issuer": None,
    "registry": None,
    "status_list": None,
    "verifier": None,
    "oauth": None,
    "monitor": None,
}
CONFIG_TOP_LEVEL = {"public_url"}

# Names of environment variables that carry secrets: never a literal value in a manifest.
SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|MASTER_KEY|PRIVATE_KEY|DATABASE_URL)", re.I)


class CheckFailed(Exception):
    """A check's reason for failing."""


@dataclass
class Report:
    """The outcome of every check, in order."""

    results: list[tuple[str, str | None]] = field(default_factory=list)

    def check(self, name: str, fn: Callable[[], Any]) -> Any:
        """Runs `fn`; a CheckFailed (or any error) is this check's failure. Returns fn's value."""
        try:
            value = fn()
        except CheckFailed as e:
            self.results.append((name, str(e)))
            return None
        except Exception as e:  # a crash in a check is a failure of that check, not of the run
            self.results.append((name, f"{type(e).__name__}: {e}"))
            return None
        self.results.append((name, None))
        return value

    def failed(self) -> list[tuple[str, str]]:
        """The failed checks with their reasons."""
        return [(n, why) for n, why in self.results if why is not None]


def require(condition: bool, why: str) -> None:
    """Fails the running check with `why` unless `condition` holds."""
    if not condition:
        raise CheckFailed(why)


def port_of(listen: str) -> int:
    """The port of a `host:port` listen address."""
    host, sep, port = listen.rpartition(":")
    require(bool(sep) and bool(host) and port.isdigit(), f"{listen!r} is not host:port")
    return int(port)


# ------------------------------------------------------------------------------------------------
# crossauthz.toml against the contract
# ------------------------------------------------------------------------------------------------


def check_config(path: Path) -> dict[str, Any]:
    """Parses a crossauthz.toml and checks it against the configuration contract."""
    require(path.is_file(), f"{path} does not exist")
    with path.open("rb") as f:
        cfg = tomllib.load(f)
    for key, value in cfg.items():
        if isinstance(value, dict):
            require(key in CONFIG_SECTIONS, f"unknown section [{key}]")
            known = CONFIG_SECTIONS[key]
            if known is not None:
                unknown = set(value) - known
                require(not unknown, f"unknown key(s) in [{key}]: {sorted(unknown)}")
        else:
            require(key in CONFIG_TOP_LEVEL, f"unknown top-level key {key!r}")
    url = urlsplit(cfg.get("public_url", ""))
    require(url.scheme == "https" and bool(url.hostname), "public_url must be an https URL")
    require(not url.query and not url.fragment, "public_url has a query or fragment")
    serve = cfg.get("serve", {})
    for key in ("grpc_listen", "ops_listen"):
        require(key in serve, f"[serve] {key} missing")
        port_of(serve[key])
    tls = cfg.get("internal_tls", {})
    for key in ("ca", "cert", "key"):
        require(PurePosixPath(tls.get(key, "")).is_absolute(), f"[internal_tls] {key} not absolute")
    upstreams = cfg.get("upstreams", {})
    for key, name in UPSTREAMS.items():
        u = urlsplit(upstreams.get(key, ""))
        require(
            u.scheme == "https" and u.hostname == name and u.port == port_of(serve["grpc_listen"]),
            f"[upstreams] {key} must be https://{name}:<grpc port> (the certificate's DNS name)",
        )
    gateway = cfg.get("gateway", {})
    port_of(gateway.get("listen", ""))
    require(
        ("tls_cert" in gateway) == ("tls_key" in gateway),
        "[gateway] tls_cert and tls_key go together",
    )
    secrets = cfg.get("secrets", {})
    for key in ("master_key_file", "admin_token_file"):
        require(PurePosixPath(secrets.get(key, "")).is_absolute(), f"[secrets] {key} not absolute")
    require(urlsplit(cfg.get("database", {}).get("url", "")).password is None,
            "[database] url carries a password: pass it as DATABASE_URL from a secret")
    log_format = cfg.get("telemetry", {}).get("log_format", "json")
    require(log_format in ("json", "text"), f"[telemetry] log_format {log_format!r}")
    return cfg


# ------------------------------------------------------------------------------------------------
# docker-compose.yml
# ------------------------------------------------------------------------------------------------


def run(cmd: list[str], cwd: Path) -> str:
    """Runs a tool; its stderr is the failure reason."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise CheckFailed(f"{' '.join(cmd[:3])} …: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def compose_config(root: Path, compose: str) -> dict[str, Any]:
    """`docker compose config`: schema and references; returns the normalised model."""
    base = [compose, "--project-directory", str(root), "-f", str(root / "docker-compose.yml")]
    run(base + ["config", "--quiet"], root)
    return json.loads(run(base + ["--profile", "test", "config", "--format", "json"], root))


def mounts(svc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A compose service's mounts by target path."""
    return {v["target"]: v for v in svc.get("volumes") or []}


def check_compose(report: Report, root: Path, compose: str) -> None:
    """All compose checks."""
    model = report.check("compose: `docker compose config` (schema, references)",
                         lambda: compose_config(root, compose))
    if model is None:
        return
    services: dict[str, Any] = model["services"]
    networks: dict[str, Any] = model.get("networks") or {}

    def domains() -> None:
        found = {n.removesuffix("-gateway") for n in services if n.endswith("-gateway")}
        require(found == set(DOMAINS), f"domains {sorted(found)}, expected {list(DOMAINS)}")
        for d in DOMAINS:
            for s in SERVICES + ("init", "postgres"):
                require(f"{d}-{s}" in services, f"service {d}-{s} missing")

    report.check(f"compose: two domains, each with its {len(SERVICES)} services, init and Postgres",
                 domains)

    for d in DOMAINS:
        cfg_path = root / "deploy" / "compose" / d / "crossauthz.toml"
        cfg = report.check(f"compose: {d}: deploy/compose/{d}/crossauthz.toml follows the contract",
                           lambda p=cfg_path: check_config(p))
        if cfg is None:
            continue
        ops_port = port_of(cfg["serve"]["ops_listen"])
        public = urlsplit(cfg["public_url"])

        for s in SERVICES:
            name = f"{d}-{s}"
            svc = services.get(name)
            if svc is None:
                continue

            def service_shape(svc=svc, s=s) -> None:
                require(svc.get("command") == ["serve", s, "--config", CONFIG_PATH],
                        f"command {svc.get('command')}")
                m = mounts(svc).get(CONFIG_PATH)
                require(m is not None and m["type"] == "bind" and m.get("read_only"),
                        f"{CONFIG_PATH} not bind-mounted read-only")
                require(Path(m["source"]).resolve() == cfg_path.resolve(),
                        f"mounts {m['source']}, not deploy/compose/{d}/crossauthz.toml")
                require(svc.get("read_only") is True, "root filesystem not read_only")
                require("ALL" in (svc.get("cap_drop") or []), "cap_drop ALL missing")
                require("no-new-privileges:true" in (svc.get("security_opt") or []),
                        "no-new-privileges missing")
                require(svc.get("user") in (None, f"{SERVICE_UID}", f"{SERVICE_UID}:{SERVICE_UID}"),
                        f"runs as user {svc.get('user')}")

            report.check(f"compose: {name}: serves {s} with the domain's config, hardened",
                         service_shape)

            def healthcheck(svc=svc) -> None:
                test = " ".join((svc.get("healthcheck") or {}).get("test") or [])
                require(f"/{ops_port}" in test or f":{ops_port}" in test,
                        f"healthcheck does not reach the ops port {ops_port}: {test!r}")
                require("/readyz" in test, "healthcheck does not ask /readyz")

            report.check(f"compose: {name}: healthcheck on /readyz at the ops port", healthcheck)

            def depends(svc=svc, s=s) -> None:
                dep = svc.get("depends_on") or {}
                want = {f"{d}-postgres": "service_healthy"} if s != "gateway" else {}
                want[f"{d}-init"] = "service_completed_successfully"
                if s == "gateway":
                    want.pop(f"{d}-init")
                    want.update({f"{d}-{u}": "service_healthy" for u in UPSTREAMS_OF[s]
                                 if u not in GATEWAY_OPTIONAL})
                if s == "monitor":
                    want.update({f"{d}-{u}": "service_healthy" for u in UPSTREAMS_OF[s]})
                for other, cond in want.items():
                    got = (dep.get(other) or {}).get("condition")
                    require(got == cond, f"depends_on {other}: {got}, expected {cond}")
                if s == "gateway":
                    for u in GATEWAY_OPTIONAL:
                        got = (dep.get(f"{d}-{u}") or {}).get("condition")
                        require(got in ("service_started", "service_healthy"),
                                f"depends_on {d}-{u}: {got}, expected service_started")
                for other in dep:
                    require(other.startswith(f"{d}-") or other in ("public-pki", "otel-collector"),
                            f"depends on {other} of another domain")

            report.check(f"compose: {name}: depends_on with conditions", depends)

            def internal_tls(svc=svc, s=s) -> None:
                env = svc.get("environment") or {}
                for key, ext in (("CERT", "crt"), ("KEY", "key")):
                    want = f"{INTERNAL_TLS_DIR}/{s}.{ext}"
                    got = env.get(f"CROSSAUTHZ_INTERNAL_TLS__{key}")
                    require(got == want, f"CROSSAUTHZ_INTERNAL_TLS__{key}={got}, expected {want}")
                require(PurePosixPath(cfg["internal_tls"]["ca"]).parent == PurePosixPath(INTERNAL_TLS_DIR),
                        f"[internal_tls] ca is not in {INTERNAL_TLS_DIR}")
                m = mounts(svc).get(INTERNAL_TLS_DIR)
                require(m is not None and m["source"] == f"{d}-internal-tls" and m.get("read_only"),
                        f"volume {d}-internal-tls not mounted read-only at {INTERNAL_TLS_DIR}")
                for k in env:
                    require(not SECRET_ENV.search(k), f"secret in the environment: {k}")

            report.check(f"compose: {name}: its own certificate from {d}'s internal CA", internal_tls)

            def secret_mounts(svc=svc, s=s) -> None:
                by_source = {v["source"]: v for v in svc.get("volumes") or []}
                for s2, (vol, key) in SECRET_OWNERS.items():
                    source = f"{d}-{vol}"
                    if s2 == s:
                        m = by_source.get(source)
                        want = str(PurePosixPath(cfg["secrets"][key]).parent)
                        require(m is not None and m["target"] == want and m.get("read_only"),
                                f"{source} not mounted read-only at {want}")
                    else:
                        require(source not in by_source, f"mounts {source}, which is the {s2}'s")
                for source in by_source:
                    require(not source.endswith("-ca"), f"mounts a CA key volume {source}")
                if s not in SECRET_OWNERS:
                    for target in mounts(svc):
                        require(not target.startswith("/run/secrets"),
                                f"mounts {target}, but {s} needs no secret")

            report.check(f"compose: {name}: mounts only the secrets it needs", secret_mounts)

            def service_networks(svc=svc, s=s) -> None:
                nets = svc.get("networks") or {}
                require(s in ((nets.get(d) or {}).get("aliases") or []),
                        f"not on network {d} with alias {s}")
                allowed = {d, "federation"} if s in ("gateway", "verifier") else {d}
                require(set(nets) <= allowed, f"networks {sorted(nets)}, allowed {sorted(allowed)}")
                if s == "gateway":
                    fed = (nets.get("federation") or {}).get("aliases") or []
                    require(public.hostname in fed,
                            f"public_url host {public.hostname} is not its alias on federation")
                    listen = port_of(cfg["gateway"]["listen"])
                    require(public.port == listen,
                            f"public_url port {public.port} != gateway.listen port {listen}")
                    ports = svc.get("ports") or []
                    require([(p["target"], str(p.get("published")), p.get("host_ip")) for p in ports]
                            == [(listen, str(listen), "127.0.0.1")],
                            f"publishes {ports}, expected 127.0.0.1:{listen}:{listen} only")
                    for key in ("tls_cert", "tls_key"):
                        parent = str(PurePosixPath(cfg["gateway"][key]).parent)
                        m = mounts(svc).get(parent)
                        require(m is not None and m["source"] == f"{d}-public-tls",
                                f"{d}-public-tls not mounted at {parent}")
                else:
                    require(not svc.get("ports"), f"publishes {svc.get('ports')}")

            report.check(f"compose: {name}: networks, aliases and published ports", service_networks)

        def postgres() -> None:
            pg = services[f"{d}-postgres"]
            nets = pg.get("networks") or {}
            require(set(nets) == {d}, f"{d}-postgres on {sorted(nets)}, expected [{d}] only")
            require("postgres" in ((nets[d] or {}).get("aliases") or []), "alias postgres missing")
            require(not pg.get("ports"), "publishes a port")
            require((pg.get("healthcheck") or {}).get("test"), "no healthcheck")
            require((networks.get(d) or {}).get("internal") is True, f"network {d} is not internal")
            db = urlsplit(cfg.get("database", {}).get("url", "postgres://x@postgres:5432/x"))
            require(db.hostname == "postgres", f"database.url host {db.hostname} is not postgres")
            for other in DOMAINS:
                if other != d:
                    for s in SERVICES:
                        on = (services.get(f"{other}-{s}") or {}).get("networks") or {}
                        require(d not in on, f"{other}-{s} is on {d}'s network")

        report.check(f"compose: {d}: its own Postgres on its own internal network", postgres)

        def init() -> None:
            svc = services[f"{d}-init"]
            require(svc.get("network_mode") == "none", "init has network access")
            require(svc.get("entrypoint") == ["/bin/sh", "/init-domain.sh"], "entrypoint")
            m = mounts(svc)
            script = m.get("/init-domain.sh")
            require(script is not None and Path(script["source"]).is_file(), "init script missing")
            text = Path(script["source"]).read_text()
            require("crossauthz pki init" in text, "the init does not run `crossauthz pki init`")
            names = re.search(r'^SERVICES="([^"]*)"', text, re.M)
            require(names is not None and set(names.group(1).split()) == set(SERVICES),
                    f"init-domain.sh SERVICES must name the {len(SERVICES)} services")
            for target, vol in (("/init/ca", "ca"), ("/init/internal", "internal-tls"),
                                ("/init/master-key", "master-key"),
                                ("/init/admin-token", "admin-token")):
                require(target in m and m[target]["source"] == f"{d}-{vol}",
                        f"{d}-{vol} not mounted at {target}")

        report.check(f"compose: {d}: one-shot init writes the internal PKI and secrets", init)

        def telemetry() -> None:
            endpoint = urlsplit(cfg.get("telemetry", {}).get("otlp_endpoint", ""))
            col = services.get("otel-collector") or {}
            aliases = ((col.get("networks") or {}).get(d) or {}).get("aliases") or []
            require(endpoint.hostname in aliases,
                    f"otlp_endpoint host {endpoint.hostname} is not the collector's alias on {d}")

        report.check(f"compose: {d}: traces go to the collector", telemetry)

    def observability() -> None:
        col = services["otel-collector"]
        m = mounts(col)
        conf = next((v for v in m.values() if v["type"] == "bind"), None)
        require(conf is not None and Path(conf["source"]).is_file(), "collector config missing")
        require(Path(conf["source"]).resolve().is_relative_to((root / "deploy/compose").resolve()),
                "collector config not under deploy/compose/")
        otel = yaml.safe_load(Path(conf["source"]).read_text())
        exporters = otel["service"]["pipelines"]["traces"]["exporters"]
        endpoints = [urlsplit("//" + otel["exporters"][e]["endpoint"]).hostname for e in exporters]
        require("jaeger" in endpoints and "jaeger" in services, "traces not exported to jaeger")
        require(any(w in str(conf["target"]) for w in (".yaml", ".yml")), "collector config target")
        require(any(c.endswith(conf["target"]) for c in col.get("command") or []),
                "collector not started with its config file")
        j = services["jaeger"]
        require(any(p["target"] == 16686 and p.get("host_ip") == "127.0.0.1"
                    for p in j.get("ports") or []), "Jaeger UI 16686 not published on 127.0.0.1")

    report.check("compose: OpenTelemetry collector exporting to Jaeger, UI published", observability)

    def published() -> None:
        allowed = {f"{d}-gateway" for d in DOMAINS} | {"jaeger", "test-postgres"}
        for name, svc in services.items():
            for p in svc.get("ports") or []:
                require(name in allowed, f"{name} publishes {p}")
                require(p.get("host_ip") == "127.0.0.1", f"{name} publishes on {p.get('host_ip')}")
        require(services["test-postgres"].get("profiles") == ["test"],
                "test-postgres must stay in profile test")

    report.check("compose: only gateways, Jaeger and the test database publish, on 127.0.0.1",
                 published)

    def init_public() -> None:
        svc = services["public-pki"]
        require(svc.get("network_mode") == "none", "public-pki has network access")
        require((svc.get("build") or {}).get("dockerfile") == "Dockerfile", "builds no image")
        images = {s.get("image") for n, s in services.items() if n.split("-")[0] in DOMAINS
                  and not n.endswith("-postgres")}
        require(images == {svc.get("image")}, f"crossauthz services run images {images}")
        script = mounts(svc).get("/init-public.sh")
        require(script is not None and Path(script["source"]).is_file(), "init script missing")
        text = Path(script["source"]).read_text()
        for d in DOMAINS:
            require(f"{d}.localhost" in text or "$domain.localhost" in text,
                    f"no certificate for {d}.localhost")

    report.check("compose: public-pki builds the image and the public development CA", init_public)

    def no_env_secrets() -> None:
        gitignore = (root / ".gitignore").read_text().split()
        require(".env" in gitignore or "/.env" in gitignore, ".env is not in .gitignore")
        for name, svc in services.items():
            for k, v in (svc.get("environment") or {}).items():
                if SECRET_ENV.search(k):
                    require(False, f"{name} sets {k} in the compose file")

    report.check("compose: no secret in the file; .env ignored by git", no_env_secrets)


# ------------------------------------------------------------------------------------------------
# Kubernetes
# ------------------------------------------------------------------------------------------------


def render(kubectl: str, path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize path` as a list of objects."""
    out = run([kubectl, "kustomize", str(path)], path)
    docs = [d for d in yaml.safe_load_all(out) if d is not None]
    require(bool(docs), "renders nothing")
    return docs


def schema_check(docs: list[dict[str, Any]]) -> None:
    """Every object against the strict schema of every version in K8S_VERSIONS."""
    problems = []
    for version in K8S_VERSIONS:
        for doc in docs:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                where = ".".join(str(p) for p in e.path)
                problems.append(f"{doc['kind']}/{doc['metadata'].get('name')} (k8s {version}) "
                                f"at {where or '(root)'}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError as e:
                problems.append(e.message)
    require(not problems, "; ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind by name."""
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector selects `labels`."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def config_of(docs: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The rendered crossauthz-config ConfigMap's name and its parsed crossauthz.toml."""
    maps = [d for d in docs if d["kind"] == "ConfigMap"
            and d["metadata"]["name"].startswith("crossauthz-config")]
    require(len(maps) == 1, f"{len(maps)} crossauthz-config ConfigMaps")
    text = (maps[0].get("data") or {}).get("crossauthz.toml")
    require(text is not None, "ConfigMap has no crossauthz.toml")
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(text)
    try:
        return maps[0]["metadata"]["name"], check_config(Path(f.name))
    finally:
        os.unlink(f.name)


def check_kustomization(report: Report, label: str, docs: list[dict[str, Any]],
                        overlay: str | None) -> None:
    """Field checks of one rendered kustomization (`overlay` is the domain, or None for base)."""
    deployments = by_kind(docs, "Deployment")
    services = by_kind(docs, "Service")
    policies = list(by_kind(docs, "NetworkPolicy").values())
    conf = report.check(f"k8s {label}: ConfigMap crossauthz.toml follows the contract",
                        lambda: config_of(docs))
    if conf is None:
        return
    cm_name, cfg = conf
    grpc_port = port_of(cfg["serve"]["grpc_listen"])
    ops_port = port_of(cfg["serve"]["ops_listen"])
    public_port = port_of(cfg["gateway"]["listen"])

    def inventory() -> None:
        require(set(deployments) == set(SERVICES),
                f"Deployments {sorted(deployments)}, expected {sorted(SERVICES)}")
        require(set(services) == set(SERVICES),
                f"Services {sorted(services)}, expected {sorted(SERVICES)}")
        require("crossauthz" in by_kind(docs, "ServiceAccount"), "ServiceAccount missing")
        require(policies, "no NetworkPolicy")
        require("gateway" in by_kind(docs, "Ingress"), "Ingress gateway missing")

    report.check(f"k8s {label}: a Deployment and a Service per service, SA, NetworkPolicy, Ingress",
                 inventory)

    if overlay is not None:
        def namespace() -> None:
            ns = f"crossauthz-{overlay}"
            namespaces = by_kind(docs, "Namespace")
            require(list(namespaces) == [ns], f"Namespace objects {list(namespaces)}")
            pss = namespaces[ns]["metadata"].get("labels", {})
            require(pss.get("pod-security.kubernetes.io/enforce") == "restricted",
                    "Pod Security Standard restricted not enforced")
            for d in docs:
                if d["kind"] != "Namespace":
                    require(d["metadata"].get("namespace") == ns,
                            f"{d['kind']}/{d['metadata']['name']} not in {ns}")
            host = urlsplit(cfg["public_url"]).hostname
            require(overlay in host, f"public_url {cfg['public_url']} is not {overlay}'s")

        report.check(f"k8s {label}: everything in namespace crossauthz-{overlay} (restricted PSS)",
                     namespace)

    for s in SERVICES:
        dep = deployments.get(s)
        if dep is None:
            continue
        pod = dep["spec"]["template"]["spec"]
        pod_labels = dep["spec"]["template"]["metadata"].get("labels") or {}

        def container_shape(dep=dep, pod=pod, s=s) -> None:
            require(len(pod["containers"]) == 1, "one container expected")
            c = pod["containers"][0]
            require(c.get("args") == ["serve", s, "--config", CONFIG_PATH], f"args {c.get('args')}")
            image = c.get("image", "")
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            require(tag and tag != "latest" or "@sha256:" in image, f"image {image!r} not pinned")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports") or []}
            want = {"ops": ops_port}
            want.update({"public": public_port} if s == "gateway" else {"grpc": grpc_port})
            require(ports == want, f"container ports {ports}, config says {want}")
            require(dep["spec"].get("replicas", 1) >= 1, "no replica")
            if s == "monitor":
                # One audit tail per domain: never two monitors, not even during a rollout.
                require(dep["spec"].get("replicas", 1) == 1, "the monitor runs more than one replica")
                require((dep["spec"].get("strategy") or {}).get("type") == "Recreate",
                        "the monitor's rollout strategy is not Recreate")
            require(pod.get("serviceAccountName") == "crossauthz", "serviceAccountName")
            require(pod.get("automountServiceAccountToken") is False, "SA token mounted")
            env = {e["name"]: e for e in c.get("env") or []}
            db = env.get("DATABASE_URL", {})
            require("secretKeyRef" in (db.get("valueFrom") or {}), "DATABASE_URL not from a Secret")
            for name, e in env.items():
                require(not (SECRET_ENV.search(name) and "value" in e), f"literal secret env {name}")

        report.check(f"k8s {label}: {s}: container args, pinned image, ports match the config",
                     container_shape)

        def probes(pod=pod) -> None:
            c = pod["containers"][0]
            ports = {p["name"]: p["containerPort"] for p in c.get("ports") or []}
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get = (c.get(probe) or {}).get("httpGet") or {}
                require(get.get("path") == path, f"{probe} path {get.get('path')}, expected {path}")
                port = get.get("port")
                port = ports.get(port, port)
                require(port == ops_port, f"{probe} on port {port}, ops port is {ops_port}")

        report.check(f"k8s {label}: {s}: readiness /readyz and liveness /healthz on the ops port",
                     probes)

        def resources(pod=pod) -> None:
            r = pod["containers"][0].get("resources") or {}
            for kind in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    require(res in (r.get(kind) or {}), f"resources.{kind}.{res} missing")

        report.check(f"k8s {label}: {s}: resource requests and limits", resources)

        def security(pod=pod) -> None:
            psc = pod.get("securityContext") or {}
            c = pod["containers"][0]
            csc = c.get("securityContext") or {}
            require(psc.get("runAsNonRoot") is True or csc.get("runAsNonRoot") is True,
                    "runAsNonRoot not set")
            require(psc.get("runAsUser", csc.get("runAsUser")) == SERVICE_UID,
                    f"runAsUser is not {SERVICE_UID}")
            require(csc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem not true")
            require(csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation")
            require("ALL" in ((csc.get("capabilities") or {}).get("drop") or []), "drop ALL")
            require(not (csc.get("capabilities") or {}).get("add"), "adds capabilities")
            require(not csc.get("privileged"), "privileged")
            require((psc.get("seccompProfile") or csc.get("seccompProfile") or {}).get("type")
                    == "RuntimeDefault", "seccompProfile RuntimeDefault")

        report.check(f"k8s {label}: {s}: non-root, read-only root fs, no capabilities", security)

        def volumes(pod=pod, s=s) -> None:
            c = pod["containers"][0]
            vols = {v["name"]: v for v in pod.get("volumes") or []}
            by_path = {m["mountPath"]: m for m in c.get("volumeMounts") or []}
            cfg_mount = by_path.get(CONFIG_PATH)
            require(cfg_mount is not None and cfg_mount.get("subPath") == "crossauthz.toml",
                    f"{CONFIG_PATH} not mounted from the ConfigMap")
            require((vols[cfg_mount["name"]].get("configMap") or {}).get("name") == cm_name,
                    f"config volume is not ConfigMap {cm_name}")
            tls_paths = {k: PurePosixPath(cfg["internal_tls"][k]) for k in ("ca", "cert", "key")}
            parents = {p.parent for p in tls_paths.values()}
            require(len(parents) == 1, "internal_tls files in different directories")
            tls_mount = by_path.get(str(parents.pop()))
            require(tls_mount is not None and tls_mount.get("readOnly"), "internal TLS not mounted")
            secret = vols[tls_mount["name"]].get("secret") or {}
            require(secret.get("secretName") == "crossauthz-internal-tls",
                    f"internal TLS from {secret.get('secretName')}")
            items = {i["key"]: i["path"] for i in secret.get("items") or []}
            want = {"ca.pem": tls_paths["ca"].name, f"{s}.crt": tls_paths["cert"].name,
                    f"{s}.key": tls_paths["key"].name}
            require(items == want, f"internal TLS items {items}, expected {want}")
            secret_files = {s2: (f"crossauthz-{vol}", vol, cfg_key)
                            for s2, (vol, cfg_key) in SECRET_OWNERS.items()}
            mounted = {(vols[m["name"]].get("secret") or {}).get("secretName"): m
                       for m in c.get("volumeMounts") or []}
            for s2, (name, key, cfg_key) in secret_files.items():
                if s2 == s:
                    path = PurePosixPath(cfg["secrets"][cfg_key])
                    m = mounted.get(name)
                    require(m is not None and m["mountPath"] == str(path.parent) and m.get("readOnly"),
                            f"Secret {name} not mounted at {path.parent}")
                    sec = next(v["secret"] for v in vols.values()
                               if (v.get("secret") or {}).get("secretName") == name)
                    require([(i["key"], i["path"]) for i in sec.get("items") or []]
                            == [(key, path.name)], f"Secret {name} items")
                else:
                    require(name not in mounted, f"mounts {name}, which is the {s2}'s")
            for v in vols.values():
                require("hostPath" not in v, "hostPath volume")
            if s not in SECRET_OWNERS:
                for m in c.get("volumeMounts") or []:
                    require(not m["mountPath"].startswith("/run/secrets"),
                            f"mounts {m['mountPath']}, but {s} needs no secret")

        report.check(f"k8s {label}: {s}: config, its own certificate, only its own secrets",
                     volumes)

        def service(s=s, pod_labels=pod_labels) -> None:
            svc = services.get(s)
            require(svc is not None, "no Service")
            require(labels_match({"matchLabels": svc["spec"]["selector"]}, pod_labels),
                    "Service selector does not select the pods")
            ports = {p["name"]: (p["port"], p.get("targetPort")) for p in svc["spec"]["ports"]}
            want = {"ops": (ops_port, "ops")}
            want.update({"public": (public_port, "public")} if s == "gateway"
                        else {"grpc": (grpc_port, "grpc")})
            require(ports == want, f"Service ports {ports}, expected {want}")
            require(svc["spec"].get("type", "ClusterIP") == "ClusterIP", "Service not ClusterIP")

        report.check(f"k8s {label}: {s}: Service (ClusterIP) with the config's ports", service)

    def network_policy() -> None:
        # What reaches each pod: the union of the ingress rules of the policies selecting it.
        for s, dep in deployments.items():
            labels = dep["spec"]["template"]["metadata"].get("labels") or {}
            selecting = [p for p in policies if labels_match(p["spec"]["podSelector"], labels)
                         and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])]
            require(selecting, f"{s} is selected by no Ingress policy: every port is open")
            open_ports: dict[int, list[Any]] = {}
            for p in selecting:
                for rule in p["spec"].get("ingress") or []:
                    require(rule.get("ports"), f"{p['metadata']['name']} opens every port of {s}")
                    for port in rule["ports"]:
                        open_ports.setdefault(port["port"], []).append(rule.get("from"))
            want = {ops_port, public_port} if s == "gateway" else {ops_port, grpc_port}
            require(set(open_ports) == want, f"{s} accepts ports {sorted(open_ports)}, want {want}")
            for peers in open_ports.get(grpc_port, []) if s != "gateway" else []:
                require(peers, f"gRPC of {s} open to everyone")
                for peer in peers:
                    require(set(peer) == {"podSelector"},
                            f"gRPC of {s} open beyond this namespace: {peer}")
                    require(peer["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
                            == "crossauthz", f"gRPC of {s} open to non-crossauthz pods: {peer}")
            for peers in open_ports.get(ops_port, []):
                require(peers, f"ops port of {s} open to everyone")
                for peer in peers:
                    require("ipBlock" not in peer, f"ops port of {s} open to an ipBlock")

    report.check(f"k8s {label}: NetworkPolicy: gRPC only from this domain's pods, "
                 f"only the gateway's public port exposed", network_policy)

    def grpc_callers(s: str) -> set[str]:
        """The Deployments whose pods the policies admit to the gRPC port of `s`."""
        labels = deployments[s]["spec"]["template"]["metadata"].get("labels") or {}
        callers = set()
        for p in policies:
            if not labels_match(p["spec"]["podSelector"], labels):
                continue
            for rule in p["spec"].get("ingress") or []:
                if not any(port.get("port") == grpc_port for port in rule.get("ports") or []):
                    continue
                for peer in rule.get("from") or []:
                    for name, other in deployments.items():
                        pod = other["spec"]["template"]["metadata"].get("labels") or {}
                        if "podSelector" in peer and labels_match(peer["podSelector"], pod):
                            callers.add(name)
        return callers

    def grpc_paths() -> None:
        callers = {s: grpc_callers(s) for s in GRPC_SERVICES if s in deployments}
        for s, ups in UPSTREAMS_OF.items():
            for u in ups:
                require(s in callers.get(u, set()), f"{s} cannot reach the gRPC port of {u}")
        require(callers.get("monitor") == {"gateway"},
                f"the monitor's gRPC is open to {sorted(callers.get('monitor') or [])}, "
                f"expected the gateway only")
        reaches = {u for u, c in callers.items() if "monitor" in c}
        require(reaches == set(UPSTREAMS_OF["monitor"]),
                f"the monitor reaches the gRPC of {sorted(reaches)}, "
                f"expected {sorted(UPSTREAMS_OF['monitor'])}")

    report.check(f"k8s {label}: NetworkPolicy: every service reaches its upstreams; the monitor "
                 f"only the issuer and verifier, and only the gateway reaches it", grpc_paths)

    def ingress() -> None:
        ing = by_kind(docs, "Ingress")["gateway"]["spec"]
        host = urlsplit(cfg["public_url"]).hostname
        rules = ing.get("rules") or []
        require([r.get("host") for r in rules] == [host], f"Ingress hosts, public_url host {host}")
        require(any(host in (t.get("hosts") or []) and t.get("secretName")
                    for t in ing.get("tls") or []), f"no TLS for {host}")
        for r in rules:
            for p in r["http"]["paths"]:
                b = p["backend"]["service"]
                require(b["name"] == "gateway" and b["port"] in ({"name": "public"},
                                                                  {"number": public_port}),
                        f"Ingress backend {b}")

    report.check(f"k8s {label}: Ingress serves public_url's host to the gateway", ingress)

    def no_secret_values() -> None:
        for d in docs:
            if d["kind"] != "Secret":
                continue
            for section in ("data", "stringData"):
                for k, v in (d.get(section) or {}).items():
                    require(v in ("", None) or "REPLACE" in str(v).upper(),
                            f"Secret {d['metadata']['name']} carries a value in {section}.{k}")

    report.check(f"k8s {label}: no Secret carries a value", no_secret_values)


def check_kubernetes(report: Report, root: Path, kubectl: str) -> None:
    """Renders and checks the base and every overlay."""
    k8s = root / "deploy" / "k8s"
    overlays = sorted(p.parent for p in (k8s / "overlays").glob("*/kustomization.yaml"))
    report.check("k8s: one overlay per domain",
                 lambda: require([p.name for p in overlays] == sorted(DOMAINS),
                                 f"overlays {[p.name for p in overlays]}"))
    for path, overlay in [(k8s / "base", None)] + [(p, p.name) for p in overlays]:
        label = "base" if overlay is None else f"overlays/{overlay}"
        docs = report.check(f"k8s {label}: kubectl kustomize renders",
                            lambda path=path: render(kubectl, path))
        if docs is None:
            continue
        report.check(f"k8s {label}: strict schemas of Kubernetes {' and '.join(K8S_VERSIONS)} "
                     f"({len(docs)} objects)", lambda docs=docs: schema_check(docs))
        check_kustomization(report, label, docs, overlay)

    def no_generated_secrets() -> None:
        for kfile in k8s.rglob("kustomization.yaml"):
            k = yaml.safe_load(kfile.read_text()) or {}
            require(not k.get("secretGenerator"), f"{kfile} generates a Secret")

    report.check("k8s: no secretGenerator (Secrets are created in the cluster)", no_generated_secrets)


def check_scripts(report: Report, root: Path) -> None:
    """Syntax of the shell scripts of the deployment."""
    for script in sorted((root / "deploy").rglob("*.sh")):
        shell = "bash" if script.read_text().startswith("#!/usr/bin/env bash") else "sh"
        report.check(f"scripts: {script.relative_to(root)} parses ({shell} -n)",
                     lambda script=script, shell=shell: run([shell, "-n", str(script)], root))


def check_all(root: Path, compose: str, kubectl: str) -> Report:
    """Every check on the tree at `root`."""
    report = Report()
    check_compose(report, root, compose)
    check_kubernetes(report, root, kubectl)
    check_scripts(report, root)
    return report


# ------------------------------------------------------------------------------------------------
# Self-test: each breakage must be caught, by the check meant to catch it.
# ------------------------------------------------------------------------------------------------

# (what, file, text to replace, replacement, prefix of the check that must fail)
BREAKAGES = [
    ("a misspelt Deployment field", "deploy/k8s/base/verifier.yaml",
     "          readinessProbe:", "          readinesProbe:", "k8s overlays/alpha: strict schemas"),
    ("a missing readiness probe path", "deploy/k8s/base/issuer.yaml",
     "              path: /readyz", "              path: /healthz",
     "k8s overlays/beta: issuer: readiness"),
    ("gRPC opened to other namespaces", "deploy/k8s/base/networkpolicy.yaml",
     "                values: [monitor]\n      ports:\n",
     "                values: [monitor]\n        - namespaceSelector: {}\n      ports:\n",
     "k8s base: NetworkPolicy: gRPC only from this domain's pods"),
    ("the monitor's gRPC opened to every crossauthz pod", "deploy/k8s/base/networkpolicy.yaml",
     "              app.kubernetes.io/name: crossauthz\n"
     "              app.kubernetes.io/component: gateway\n",
     "              app.kubernetes.io/name: crossauthz\n",
     "k8s overlays/alpha: NetworkPolicy: every service reaches its upstreams"),
    ("the monitor let through to the registry", "deploy/k8s/base/networkpolicy.yaml",
     "        values: [issuer, verifier]", "        values: [registry, issuer, verifier]",
     "k8s base: NetworkPolicy: every service reaches its upstreams"),
    ("the monitor scaled to two replicas", "deploy/k8s/overlays/beta/kustomization.yaml",
     "replicas:\n", "replicas:\n  - name: monitor\n    count: 2\n",
     "k8s overlays/beta: monitor: container args"),
    ("a Secret with a value", "deploy/k8s/base/serviceaccount.yaml",
     "automountServiceAccountToken: false\n",
     "automountServiceAccountToken: false\n---\napiVersion: v1\nkind: Secret\nmetadata:\n"
     "  name: crossauthz-admin-token\nstringData:\n  admin-token: s3cr3t-t0ken\n",
     "k8s base: no Secret carries a value"),
    ("the master key mounted into the gateway", "deploy/k8s/base/gateway.yaml",
     "secretName: crossauthz-admin-token", "secretName: crossauthz-master-key",
     "k8s base: gateway: config, its own certificate"),
    ("no memory limit", "deploy/k8s/base/registry.yaml",
     "              cpu: \"1\"\n              memory: 512Mi", "              cpu: \"1\"",
     "k8s base: registry: resource requests and limits"),
    ("a writable root filesystem", "deploy/k8s/base/status-list.yaml",
     "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false",
     "k8s base: status-list: non-root"),
    ("an unknown config section", "deploy/k8s/overlays/beta/crossauthz.toml",
     "[upstreams]", "[upstream]", "k8s overlays/beta: ConfigMap crossauthz.toml"),
    ("an Ingress host that is not public_url's", "deploy/k8s/overlays/alpha/kustomization.yaml",
     "value: alpha.example", "value: alpha.example.org", "k8s overlays/alpha: Ingress"),
    ("a misspelt compose key", "docker-compose.yml",
     "  read_only: true", "  read_onyl: true", "compose: `docker compose config`"),
    ("a depends_on on a service that does not exist", "docker-compose.yml",
     "alpha-issuer: {condition: service_healthy}", "alpha-isuer: {condition: service_healthy}",
     "compose: `docker compose config`"),
    ("a healthcheck on the wrong path", "docker-compose.yml",
     "GET /readyz", "GET /healthz", "compose: alpha-registry: healthcheck"),
    ("beta's Postgres published", "docker-compose.yml",
     "      - beta-pgdata:/var/lib/postgresql/data\n",
     "      - beta-pgdata:/var/lib/postgresql/data\n    ports: [\"5433:5432\"]\n",
     "compose: beta: its own Postgres"),
    ("the admin token given to the issuer", "docker-compose.yml",
     "      - alpha-master-key:/run/secrets/crossauthz:ro",
     "      - alpha-admin-token:/run/secrets/crossauthz:ro",
     "compose: alpha-issuer: mounts only the secrets"),
    ("the master key given to the monitor", "docker-compose.yml",
     "      - beta-internal-tls:/etc/crossauthz/internal:ro\n"
     "    # No secret: the monitor",
     "      - beta-internal-tls:/etc/crossauthz/internal:ro\n"
     "      - beta-master-key:/run/secrets/crossauthz:ro\n    # No secret: the monitor",
     "compose: beta-monitor: mounts only the secrets"),
    ("the monitor on the federation network", "docker-compose.yml",
     "        aliases: [monitor]\n", "        aliases: [monitor]\n      federation: {}\n",
     "compose: alpha-monitor: networks"),
    ("no monitor certificate from the init", "deploy/compose/init-domain.sh",
     " verifier monitor gateway", " verifier gateway", "compose: alpha: one-shot init"),
    ("no monitor upstream in the k8s config", "deploy/k8s/base/crossauthz.toml",
     'monitor = "https://monitor:7000"', '# monitor = "https://monitor:7000"',
     "k8s base: ConfigMap crossauthz.toml"),
    ("a gateway port that is not public_url's", "deploy/compose/beta/crossauthz.toml",
     'listen = "0.0.0.0:9443"', 'listen = "0.0.0.0:9444"',
     "compose: beta-gateway: networks, aliases and published ports"),
]


def self_test(report: Report, root: Path, compose: str, kubectl: str) -> None:
    """Applies each breakage, alone, to a copy of the files; the check named for it must fail."""
    files = ["docker-compose.yml", ".gitignore", "deploy"]
    for what, rel, old, new, must_fail in BREAKAGES:
        def one(rel=rel, old=old, new=new, must_fail=must_fail) -> None:
            with tempfile.TemporaryDirectory(prefix="crossauthz-deploy-selftest-") as tmp:
                copy = Path(tmp)
                for f in files:
                    src = root / f
                    if src.is_dir():
                        shutil.copytree(src, copy / f)
                    else:
                        shutil.copy2(src, copy / f)
                target = copy / rel
                text = target.read_text()
                require(text.count(old) >= 1, f"the breakage does not apply: {old!r} not in {rel}")
                target.write_text(text.replace(old, new, 1))
                failed = check_all(copy, compose, kubectl).failed()
                require(any(n.startswith(must_fail) for n, _ in failed),
                        f"not caught by {must_fail!r}; failed: {[n for n, _ in failed]}")

        report.check(f"self-test: {what} is caught", one)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--compose", required=True, help="the docker-compose (v2) binary")
    parser.add_argument("--kubectl", required=True, help="the kubectl binary")
    parser.add_argument("--self-test", action="store_true", help="also run the breakage self-test")
    args = parser.parse_args()
    root = args.root.resolve()
    report = check_all(root, args.compose, args.kubectl)
    if args.self_test and not report.failed():
        self_test(report, root, args.compose, args.kubectl)
    for name, why in report.results:
        print(f"ok    {name}" if why is None else f"FAIL  {name}\n      {why}")
    failed = len(report.failed())
    print(f"deploy: {len(report.results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
