"""An ordinary MCP server over Streamable HTTP, written with the official Python SDK, that Gatehouse
puts behind its gateway in the end-to-end tests.

It records the headers of every HTTP request it receives (one JSON line each, in UPSTREAM_RECORD)
so a test can prove what reached it, and it verifies the token the gateway sends it the way any
upstream would: against Gatehouse's JWKS, with its own URL as the audience.

    python http_upstream.py --port 18201 --record /tmp/headers.jsonl --issuer http://127.0.0.1:18200
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import anyio
import jwt
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--record", required=True)
parser.add_argument("--issuer", required=True)
parser.add_argument("--stateless", action="store_true")
# Issue 12: where the `connection` tool checks a connection token (the third-party API's userinfo).
parser.add_argument("--connection-userinfo", default=None)
args = parser.parse_args()

URL = f"http://127.0.0.1:{args.port}/mcp"
jwks = jwt.PyJWKClient(args.issuer + "/jwks.json", cache_keys=True)
mcp = MCPServer("gatehouse-e2e-http-upstream", version="1.0.0")


def verify(authorization: str | None) -> dict:
    """What the upstream can trust about the caller: the exchanged token's claims, or why not."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return {"verified": False, "reason": "no bearer token"}
    token = authorization[7:]
    try:
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=URL, issuer=args.issuer,
                            options={"require": ["exp", "iat", "sub", "aud", "iss"]})
    except Exception as error:  # noqa: BLE001 - the reason goes back to the test
        return {"verified": False, "reason": f"{type(error).__name__}: {error}"}
    return {"verified": True, "claims": claims, "typ": jwt.get_unverified_header(token).get("typ")}


def gatehouse_headers(ctx: Context) -> dict:
    headers = ctx.headers or {}
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-gatehouse-")}


@mcp.tool()
async def whoami(ctx: Context) -> str:
    """Who the gateway says is calling, and whether its token verifies."""
    headers = ctx.headers or {}
    return json.dumps({"headers": gatehouse_headers(ctx), "token": verify(headers.get("authorization"))})


@mcp.tool()
async def connection(id: str, ctx: Context) -> str:
    """What the gateway sent in X-Gatehouse-Connection-<id> (issue 12): whether it came, a SHA-256 of
    it (never the token), and what the third-party API's userinfo says about it."""
    import hashlib

    import httpx
    headers = {k.lower(): v for k, v in (ctx.headers or {}).items()}
    token = headers.get(f"x-gatehouse-connection-{id.lower()}")
    result = {"present": token is not None, "count": len((headers.get(f"x-gatehouse-connection-{id.lower()}") or "").split(", ")),
              "authorization": "authorization" in headers,
              "connection_headers": sorted(k for k in headers if k.startswith("x-gatehouse-connection-"))}
    if token:
        result["sha256"] = hashlib.sha256(token.encode()).hexdigest()
        if args.connection_userinfo:
            async with httpx.AsyncClient(timeout=10) as client:
                r = await client.get(args.connection_userinfo, headers={"Authorization": f"Bearer {token}"})
            result["userinfo_status"] = r.status_code
            result["userinfo_sub"] = r.json().get("sub") if r.status_code == 200 else None
    return json.dumps(result)


@mcp.tool()
async def echo(text: str) -> str:
    """Returns its argument."""
    return text


@mcp.tool()
async def slow(steps: int, delay: float, ctx: Context) -> str:
    """Reports progress `steps` times, `delay` seconds apart, then answers."""
    for step in range(1, steps + 1):
        await ctx.report_progress(step, steps, f"step {step}")
        await ctx.log("info", f"slow step {step}")
        await anyio.sleep(delay)
    return f"done after {steps} steps"


class Confirmation(BaseModel):
    confirm: bool


@mcp.tool()
async def confirm(question: str, ctx: Context) -> str:
    """Asks the client (a server-to-client request, elicitation/create) and answers with its reply."""
    answer = await ctx.elicit(question, schema=Confirmation)
    return f"{answer.action}:{getattr(answer, 'data', None) and answer.data.confirm}"


@mcp.tool()
async def write_note(text: str) -> str:
    """A tool a read-only token may not call."""
    return f"wrote {text}"


class Recorder:
    """ASGI middleware: one JSON line per HTTP request, written before the SDK sees it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {}
            for name, value in scope["headers"]:
                key = name.decode("latin-1").lower()
                headers[key] = headers[key] + ", " + value.decode("latin-1") if key in headers else value.decode("latin-1")
            with open(args.record, "a") as out:
                out.write(json.dumps({"method": scope["method"], "path": scope["path"], "headers": headers}) + "\n")
        await self.app(scope, receive, send)


async def main() -> None:
    import uvicorn

    app = mcp.streamable_http_app(stateless_http=args.stateless, host="127.0.0.1")
    config = uvicorn.Config(Recorder(app), host="127.0.0.1", port=args.port, log_level="warning")
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    anyio.run(main)
