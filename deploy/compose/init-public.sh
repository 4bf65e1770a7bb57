#!/bin/sh
# One-shot init of the compose stack's public TLS (docker-compose.yml runs it as the `public-pki`
# service, as root, with no network). Both domains' gateways serve HTTPS with certificates of one
# development CA, as two `crossauthz start-dev` instances sharing a `--dev-ca` do. Idempotent.
#
#   /init/ca      volume public-ca, only this container mounts it: the development CA and its key
#   /init/alpha   volume alpha-public-tls -> /etc/crossauthz/public in alpha's gateway: tls.crt, tls.key
#   /init/beta    volume beta-public-tls  -> /etc/crossauthz/public in beta's gateway
#   /init/roots   volume public-roots     -> /etc/crossauthz/roots in both verifiers: ca.pem only
set -eu
umask 077
DOMAINS="alpha beta"

names=""
for domain in $DOMAINS; do names="${names:+$names,}$domain.localhost"; done
crossauthz pki init --dir /init/ca --names "$names"

install -m 0444 /init/ca/ca.pem /init/roots/ca.pem
for domain in $DOMAINS; do
  install -m 0444 "/init/ca/$domain.localhost.crt" "/init/$domain/tls.crt"
  install -m 0400 -o 10001 -g 10001 "/init/ca/$domain.localhost.key" "/init/$domain/tls.key"
done
echo "public TLS initialised: development CA, certificates for $names"
