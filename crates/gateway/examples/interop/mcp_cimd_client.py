"""An independent MCP client library against crossauthz's Authorization Server (issue 5).

Uses the official MCP Python SDK's OAuth client (`mcp.client.auth.OAuthClientProvider`) with its
Client ID Metadata Document support (`client_metadata_url`): on the resource server's 401 it
discovers the RFC 9728 metadata, then the AS's RFC 8414 metadata, sees
`client_id_metadata_document_supported`, uses the CIMD URL as client_id (no registration), runs
the authorization code flow with PKCE S256 and `resource`, exchanges the code, and retries the
call with the token. The "user" is played here: the redirect handler opens the consent page,
approves it (development login) and hands the redirect's code, state and iss back to the SDK.

Then the access token is made to look expired to the SDK, and the next call makes the SDK
refresh it on its own as a public client (`grant_type=refresh_token`, no client
authentication): the AS must answer with a rotated refresh token (M7) and no second consent.

usage: python mcp_cimd_client.py <world.json>   (written by the oauth_interop_world example)
"""

import asyncio
import json
import re
import ssl
import sys
import time
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

    def ipv4():
        # The world listens on 127.0.0.1; "localhost" may resolve to ::1 first, where another
        # process on a busy machine can hold the same port number. Bind the client to IPv4.
        return httpx.AsyncHTTPTransport(verify=ctx, local_address="0.0.0.0")
    redirect = {}
    consents = []
    refreshes = []

    async def on_request(request):
        # Every request the SDK sends, including those of its OAuth flow (logged without query:
        # a failure names the request it happened on).
        print(f"> {request.method} {str(request.url).split('?')[0]}", file=sys.stderr, flush=True)
        body = request.content if hasattr(request, "content") else b""
        if request.method == "POST" and b"grant_type=refresh_token" in body:
            refreshes.append({"client_auth": b"client_assertion" in body})

    async def on_response(response):
        request = response.request
        body = request.content if hasattr(request, "content") else b""
        if request.method == "POST" and b"grant_type=refresh_token" in body and refreshes:
            refreshes[-1]["status"] = response.status_code

    async def redirect_handler(authorization_url: str) -> None:
        # The browser: open the consent page, approve, follow nothing (the SDK gets the code).
        consents.append(authorization_url)
        async with httpx.AsyncClient(transport=ipv4(), follow_redirects=False) as browser:
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

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=world["resource"],
        client_metadata=OAuthClientMetadata(
            client_name="Example MCP client",
            redirect_uris=[world["redirect_uri"]],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=world["client_id"],
    )
    hooks = {"request": [on_request], "response": [on_response]}
    async with httpx.AsyncClient(
        auth=provider, transport=ipv4(), timeout=30, event_hooks=hooks
    ) as client:
        call = {"jsonrpc": "2.0", "id": 1, "method": "logs/read"}
        r = await client.post(world["resource"], json=call)
        first = storage.tokens
        # Make the SDK see its access token as expired: its next request refreshes first.
        provider.context.token_expiry_time = time.time() - 1
        r2 = await client.post(world["resource"], json=call)
        second = storage.tokens
    ok = r.status_code == 200
    body = r.json() if ok else r.text
    caller = body.get("result", {}).get("caller", {}) if ok else {}
    ok2 = r2.status_code == 200
    body2 = r2.json() if ok2 else r2.text
    caller2 = body2.get("result", {}).get("caller", {}) if ok2 else {}
    checks = {
        "resource call answered 200 with the token": ok,
        "client_id is the CIMD URL (no registration)": caller.get("client_id") == world["client_id"],
        "token issued by the AS": caller.get("iss") == world["issuer"],
        "authorization response carried iss (RFC 9207)": redirect.get("iss") == world["issuer"],
        "the SDK refreshed as a public client (refresh_token, no client authentication)": len(
            refreshes
        )
        == 1
        and not refreshes[0]["client_auth"],
        "the refresh was granted (200)": bool(refreshes) and refreshes[0].get("status") == 200,
        "the refresh token was rotated (M7)": first is not None
        and second is not None
        and bool(second.refresh_token)
        and second.refresh_token != first.refresh_token,
        "a new access token, not a second consent": first is not None
        and second is not None
        and second.access_token != first.access_token
        and len(consents) == 1,
        "resource call after the refresh answered 200": ok2
        and caller2.get("client_id") == world["client_id"],
    }
    for name, passed in checks.items():
        print(("ok   " if passed else "FAIL ") + name)
    failed = sum(1 for v in checks.values() if not v)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
