"""An independent MCP client library against crossauthz's Authorization Server (issue 5).

Uses the official MCP Python SDK's OAuth client (`mcp.client.auth.OAuthClientProvider`) with its
Client ID Metadata Document support (`client_metadata_url`): on the resource server's 401 it
discovers the RFC 9728 metadata, then the AS's RFC 8414 metadata, sees
`client_id_metadata_document_supported`, uses the CIMD URL as client_id (no registration), runs
the authorization code flow with PKCE S256 and `resource`, exchanges the code, and retries the
call with the token. The "user" is played here: the redirect handler opens the consent page,
approves it (development login) and hands the redirect's code, state and iss back to the SDK.

usage: python mcp_cimd_client.py <world.json>   (written by the oauth_interop_world example)
"""

import asyncio
import json
import re
import ssl
import sys
from urllib.parse import parse_qs, urlparse

try:
    import httpx2 as httpx  # newer SDKs
except ImportError:  # pragma: no cover
    import httpx

from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

try:
    from mcp.shared.auth import AuthorizationCodeResult
except ImportError:  # pragma: no cover - older SDKs return a (code, state) tuple
    AuthorizationCodeResult = None


class MemoryStorage(TokenStorage):
    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


async def main(path: str) -> int:
    world = json.load(open(path))
    ctx = ssl.create_default_context(cafile=world["ca_file"])
    redirect = {}

    async def redirect_handler(authorization_url: str) -> None:
        # The browser: open the consent page, approve, follow nothing (the SDK gets the code).
        async with httpx.AsyncClient(verify=ctx, follow_redirects=False) as browser:
            page = await browser.get(authorization_url)
            assert page.status_code == 200, (page.status_code, page.text[:500])
            handle = re.search(r'name="request" value="([^"]+)"', page.text).group(1)
            cookie = page.headers["set-cookie"].split(";")[0]
            approved = await browser.post(
                authorization_url.split("?")[0],
                data={"request": handle, "decision": "approve"},
                headers={"cookie": cookie},
            )
            assert approved.status_code == 303, (approved.status_code, approved.text[:500])
            location = approved.headers["location"]
            assert location.startswith(world["redirect_uri"]), location
            redirect.update({k: v[0] for k, v in parse_qs(urlparse(location).query).items()})

    async def callback_handler():
        if AuthorizationCodeResult is not None:
            return AuthorizationCodeResult(
                code=redirect["code"], state=redirect.get("state"), iss=redirect.get("iss")
            )
        return redirect["code"], redirect.get("state")

    provider = OAuthClientProvider(
        server_url=world["resource"],
        client_metadata=OAuthClientMetadata(
            client_name="Example MCP client",
            redirect_uris=[world["redirect_uri"]],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=world["client_id"],
    )
    async with httpx.AsyncClient(auth=provider, verify=ctx, timeout=30) as client:
        r = await client.post(
            world["resource"], json={"jsonrpc": "2.0", "id": 1, "method": "logs/read"}
        )
    ok = r.status_code == 200
    body = r.json() if ok else r.text
    caller = body.get("result", {}).get("caller", {}) if ok else {}
    checks = {
        "resource call answered 200 with the token": ok,
        "client_id is the CIMD URL (no registration)": caller.get("client_id") == world["client_id"],
        "token issued by the AS": caller.get("iss") == world["issuer"],
        "authorization response carried iss (RFC 9207)": redirect.get("iss") == world["issuer"],
    }
    for name, passed in checks.items():
        print(("ok   " if passed else "FAIL ") + name)
    failed = sum(1 for v in checks.values() if not v)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
