#!/bin/sh
# One-shot init of one compose domain (docker-compose.yml runs it as the `<domain>-init` service, as
# root, with no network, in the crossauthz image). Idempotent: what exists is kept, so the keys and
# secrets survive `docker compose down` (not `down -v`).
#
#   /init/ca           volume <domain>-ca, only this container mounts it: the internal CA and its key
#   /init/internal     volume <domain>-internal-tls -> /etc/crossauthz/internal in every service:
#                      ca.pem and, per service N, N.crt + N.key (no CA key)
#   /init/master-key   volume <domain>-master-key -> /run/secrets/crossauthz in the issuer only
#   /init/admin-token  volume <domain>-admin-token -> /run/secrets/crossauthz in the gateway only
set -eu
umask 077
SERVICES="registry issuer status-list verifier monitor gateway"
UID_GID=10001:10001

# Internal CA + one server/client certificate per service (DNS name = the service's alias on the
# domain network), as `crossauthz pki init` creates them.
crossauthz pki init --dir /init/ca --names "$(echo $SERVICES | tr ' ' ',')"
install -m 0444 /init/ca/ca.pem /init/internal/ca.pem
for name in $SERVICES; do
  install -m 0444 "/init/ca/$name.crt" "/init/internal/$name.crt"
  install -m 0400 -o 10001 -g 10001 "/init/ca/$name.key" "/init/internal/$name.key"
done

# 32 random bytes, base64url without padding.
random_secret() {
  head -c 32 /dev/urandom | basenc --base64url | tr -d '=\n'
}
if [ ! -s /init/master-key/master-key ]; then
  random_secret > /init/master-key/master-key
fi
if [ ! -s /init/admin-token/admin-token ]; then
  random_secret > /init/admin-token/admin-token
fi
chown "$UID_GID" /init/master-key/master-key /init/admin-token/admin-token
chmod 0400 /init/master-key/master-key /init/admin-token/admin-token
echo "domain initialised: internal CA, certificates for $SERVICES, master key, admin token"
