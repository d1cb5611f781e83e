"""GATEHOUSE_CONFIG as the built binaries read it: a bad file stops both services with one line naming
the key (exit code 78); a good one gives each resource its own metadata; a file setting applies
and an environment variable wins over it.
"""
from __future__ import annotations

import os
import subprocess
import tempfile

import httpx

from gatehouse import BIN, Deployment, base_env, start

# G1's port range (18100-18199).
AS_PORT, RS_PORT = 18110, 18111

CONFIG = """\
allowed_origins: [https://from-file.example]
resources:
  - path: /mcp/notes
    builtin: notes
  - path: /mcp/crm
    name: CRM
    scopes: {crm:read: Read the CRM}
    tools: {"*": [crm:read]}
    upstream: {http: {url: "http://127.0.0.1:18199/mcp", timeout: 5}}
"""


def write(text: str) -> str:
    handle, path = tempfile.mkstemp(prefix="gatehouse-config-", suffix=".yaml")
    with os.fdopen(handle, "w") as f:
        f.write(text)
    return path


def deploy_with(path: str, logdir: str, **extra: str) -> Deployment:
    issuer = f"http://127.0.0.1:{AS_PORT}"
    env = base_env(GATEHOUSE_CONFIG=path, GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=f"http://127.0.0.1:{RS_PORT}/mcp",
                   GATEHOUSE_AUTH_PORT=str(AS_PORT), GATEHOUSE_RS_PORT=str(RS_PORT), **extra)
    env.pop("GATEHOUSE_ALLOWED_ORIGINS", None)
    env.update(extra)
    d = Deployment(issuer, f"http://127.0.0.1:{RS_PORT}/mcp/notes", env)
    d.services.append(start("auth-config", ["AuthServer", "serve"], env, AS_PORT, logdir))
    d.services.append(start("resource-config", ["ResourceServer", "serve"], env, RS_PORT, logdir))
    return d


def test_a_bad_file_stops_both_services_with_one_line_naming_the_key():
    path = write(CONFIG.replace("http://127.0.0.1:18199/mcp", "http://crm.example.com/mcp"))
    try:
        for program in ("AuthServer", "ResourceServer"):
            done = subprocess.run([os.path.join(BIN, program), "serve"], env=base_env(GATEHOUSE_CONFIG=path),
                                  capture_output=True, text=True, timeout=30)
            assert done.returncode == 78, (program, done.returncode, done.stderr)
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, (program, done.stderr)
            assert f"GATEHOUSE_CONFIG {path}: resources[1].upstream.http.url: plain http" in lines[0], lines[0]
    finally:
        os.unlink(path)


def test_each_resource_has_its_own_metadata_and_file_settings_apply_with_the_environment_winning(logdir):
    path = write(CONFIG)
    try:
        d = deploy_with(path, logdir)
        try:
            rs = f"http://127.0.0.1:{RS_PORT}"
            crm = httpx.get(f"{rs}/.well-known/oauth-protected-resource/mcp/crm").json()
            assert crm["resource"] == f"{rs}/mcp/crm" and crm["scopes_supported"] == ["crm:read"]
            assert crm["resource_name"] == "CRM"
            notes = httpx.get(f"{rs}/.well-known/oauth-protected-resource/mcp/notes").json()
            assert notes["scopes_supported"] == ["notes:read", "notes:write"]
            assert httpx.get(f"{rs}/.well-known/oauth-protected-resource").status_code == 404
            metadata = httpx.get(f"{d.issuer}/.well-known/oauth-authorization-server").json()
            assert metadata["scopes_supported"] == ["openid", "profile", "email", "notes:read", "notes:write", "crm:read"]
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            # allowed_origins from the file: its origin passes the Origin check (then 401), another does not.
            assert httpx.post(f"{rs}/mcp/crm", json=body, headers={"Origin": "https://from-file.example"}).status_code == 401
            assert httpx.post(f"{rs}/mcp/crm", json=body, headers={"Origin": "https://other.example"}).status_code == 403
        finally:
            assert d.stop() == {"auth-config": 0, "resource-config": 0}
        d = deploy_with(path, logdir, GATEHOUSE_ALLOWED_ORIGINS="https://other.example")
        try:
            rs = f"http://127.0.0.1:{RS_PORT}"
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            assert httpx.post(f"{rs}/mcp/crm", json=body, headers={"Origin": "https://other.example"}).status_code == 401
            assert httpx.post(f"{rs}/mcp/crm", json=body, headers={"Origin": "https://from-file.example"}).status_code == 403
        finally:
            assert d.stop() == {"auth-config": 0, "resource-config": 0}
    finally:
        os.unlink(path)
