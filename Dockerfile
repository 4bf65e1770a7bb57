# syntax=docker/dockerfile:1
# The one crossauthz image: every service runs from it (`crossauthz serve <service> --config FILE`),
# and so do the one-shot `crossauthz pki init` jobs. See deploy/README.md.
#
#   docker build -t crossauthz:dev .

# --- build -----------------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# protoc comes from the protoc-bin-vendored crate, so the builder needs nothing beyond the rust image.
# The cache mounts keep the crates.io downloads and the target dir between builds (BuildKit); the
# binary is copied out of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p crossauthz \
 && install -D -m 0755 target/release/crossauthz /out/crossauthz

# --- runtime ---------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: the verifier fetches other domains' documents over HTTPS with the system roots.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed non-root uid/gid (10001): the Kubernetes manifests and the compose file rely on it
# (runAsUser, fsGroup, ownership of the generated keys).
RUN groupadd --system --gid 10001 crossauthz \
 && useradd --system --uid 10001 --gid crossauthz --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin crossauthz
COPY --from=build /out/crossauthz /usr/local/bin/crossauthz
USER 10001:10001
# 7000 internal gRPC (mutual TLS), 9090 ops (/healthz, /readyz, /metrics), 8443 gateway public port.
EXPOSE 7000 9090 8443
ENTRYPOINT ["crossauthz"]
