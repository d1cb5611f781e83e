"""A stdio MCP server written with the official MCP Python SDK (MCPServer, formerly FastMCP),
for the gateway's stdio tests: Gatehouse spawns it and speaks MCP to it on stdin/stdout.

Its tools show what the gateway promises the process: who the caller is (from the environment
Gatehouse gives it, and nothing else of Gatehouse's), progress during a slow call, a server request
(elicitation) routed back to the calling session, a crash, and a flood of garbage on stdout.
"""

import asyncio
import os
import signal
import sys
import time

from pydantic import BaseModel

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("stdio-upstream")


@server.tool()
def whoami() -> dict:
    """The caller's identity as this process sees it."""
    return {
        "subject": os.environ.get("GATEHOUSE_SUBJECT"),
        "username": os.environ.get("GATEHOUSE_USERNAME"),
        "pid": os.getpid(),
        "environment": sorted(os.environ.keys()),
        "greeting": os.environ.get("GREETING"),
    }


@server.tool()
def echo(text: str) -> str:
    """Returns the text."""
    return text


@server.tool()
async def slow(steps: int = 3, delay: float = 0.3, ctx: Context = None) -> str:
    """Reports progress `steps` times, `delay` seconds apart, then answers."""
    for step in range(1, steps + 1):
        await asyncio.sleep(delay)
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
    return f"done after {steps} steps"


@server.tool()
def crash() -> str:
    """Exits the process in the middle of the call."""
    print("crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def flood(megabytes: int = 64) -> str:
    """Writes `megabytes` MiB of garbage to stdout, as one line, in the middle of the call, then answers."""
    chunk = b"x" * (1 << 20)
    for _ in range(megabytes):
        os.write(1, chunk)
    os.write(1, b"\n")
    return f"flooded {megabytes} MiB"


class Confirmation(BaseModel):
    confirmed: bool


@server.tool()
async def confirm(question: str, ctx: Context = None) -> str:
    """Asks the client (elicitation, a server request) and reports its answer."""
    result = await ctx.elicit(question, Confirmation)
    if result.action == "accept" and result.data is not None:
        return f"confirmed={result.data.confirmed}"
    return f"action={result.action}"


if __name__ == "__main__":
    print(f"stdio upstream started for {os.environ.get('GATEHOUSE_SUBJECT')}", file=sys.stderr, flush=True)
    if os.environ.get("IGNORE_SHUTDOWN"):
        # A badly behaved server, for the test that Gatehouse still stops it: SIGTERM is ignored
        # and end-of-file on stdin does not end the process.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server.run("stdio")
    if os.environ.get("IGNORE_SHUTDOWN"):
        time.sleep(3600)
