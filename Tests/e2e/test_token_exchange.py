"""Token exchange (RFC 8693) at the AuthServer on its own, through the built binaries.

The ResourceServer's client is created with `AuthServer clients create-resource-server`, a person
signs in through our pages, and the exchanged token is verified with PyJWT against the JWKS, as
an upstream would. Every refusal is checked with its status and `error`. (An expired subject token
is covered by the Swift suite, TokenExchangeTests.expiredSubject, with a test clock.)
"""
from __future__ import annotations

import os
import secrets
import stat
import tempfile

import httpx
import jwt
import pytest

from gatehouse import BIN, Deployment, base_env, start, tokens_for

# G4's port range (18400-18499). The upstream never runs: the AuthServer only names it.
AS_PORT, RS_PORT = 18410, 18411
UPSTREAM = "http://127.0.0.1:18412/mcp"
REDIRECT = "http://127.0.0.1:18499/callback"
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"

CONFIG = f"""\
resources:
  - path: /mcp/crm
    name: CRM
    scopes: {{crm:read: Read the CRM, crm:write: Change the CRM}}
    tools: {{"*": [crm:read]}}
    upstream: {{http: {{url: "{UPSTREAM}"}}}}
    identity: {{token: true}}
  - path: /mcp/notes
    builtin: notes
"""


@pytest.fixture(scope="module")
def server(logdir):
    tmp = tempfile.mkdtemp(prefix="gatehouse-exchange-")
    config = os.path.join(tmp, "gatehouse.yaml")
    with open(config, "w") as f:
        f.write(CONFIG)
    issuer, origin = f"http://127.0.0.1:{AS_PORT}", f"http://127.0.0.1:{RS_PORT}"
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=origin + "/mcp/notes",
                   GATEHOUSE_AUTH_PORT=str(AS_PORT), GATEHOUSE_CONFIG=config)
    d = Deployment(issuer, origin + "/mcp/crm", env)
    d.tmp = tmp
    try:
        d.services.append(start("exchange-auth", ["AuthServer", "serve"], env, AS_PORT, logdir))
        yield d
    finally:
        codes = d.stop()
    assert codes == {"exchange-auth": 0}, codes


@pytest.fixture(scope="module")
def resource_server(server):
    """(client_id, secret) as `clients create-resource-server` made them."""
    client_id = "e2e-rs-" + secrets.token_hex(4)
    path = os.path.join(server.tmp, "rs-secret")
    r = server.admin("clients", "create-resource-server", "--id", client_id, "--secret-file", path)
    assert r.returncode == 0, r.stderr
    assert f"created resource-server client {client_id}" in r.stdout
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        return client_id, f.read().strip()


@pytest.fixture(scope="module")
def person_tokens(server):
    username, password = server.create_user()
    return tokens_for(server.issuer, server.mcp_url, username, password, REDIRECT, "crm:read crm:write",
                      client_name="Exchange e2e")


def exchange(server, auth, subject: str, **changes) -> httpx.Response:
    data = {"grant_type": GRANT, "subject_token": subject, "subject_token_type": ACCESS_TOKEN, "audience": UPSTREAM}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return httpx.post(server.issuer + "/token", data=data, auth=auth, timeout=15)


def refused(r: httpx.Response, error: str, status: int = 400) -> None:
    assert (r.status_code, r.json().get("error")) == (status, error), r.text
    assert "access_token" not in r.json()
    assert r.headers["cache-control"] == "no-store"


def test_exchanged_token_verifies_with_pyjwt_against_the_jwks(server, resource_server, person_tokens):
    r = exchange(server, resource_server, person_tokens["access_token"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["issued_token_type"] == ACCESS_TOKEN and body["token_type"] == "Bearer"
    assert body["expires_in"] == 300 and body["scope"] == "crm:read crm:write" and "refresh_token" not in body
    assert r.headers["cache-control"] == "no-store"

    token = body["access_token"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    key = jwt.PyJWKClient(server.issuer + "/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=UPSTREAM, issuer=server.issuer,
                        options={"require": ["exp", "iat", "sub", "jti", "act"]})
    subject = jwt.decode(person_tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == subject["sub"] and claims["client_id"] == person_tokens["client_id"]
    assert claims["act"] == {"sub": resource_server[0]}
    assert claims["scope"] == "crm:read crm:write" and claims["jti"] != subject["jti"]
    assert claims["exp"] - claims["iat"] == 300 and claims["exp"] <= subject["exp"]
    # The same token is no good for the MCP resource itself.
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key.key, algorithms=["RS256"], audience=server.mcp_url, issuer=server.issuer)


def test_every_refusal(server, resource_server, person_tokens):
    subject = person_tokens["access_token"]
    client_id, secret = resource_server
    refused(exchange(server, resource_server, subject, audience="https://evil.example/mcp"), "invalid_target")
    refused(exchange(server, resource_server, subject, audience=server.mcp_url), "invalid_target")
    refused(exchange(server, ("no-such-client", secret), subject), "invalid_client", 401)
    refused(exchange(server, (client_id, "wrong-" + secret), subject), "invalid_client", 401)
    reg = httpx.post(server.issuer + "/register", json={
        "client_name": "Confidential", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"})
    assert reg.status_code == 201, reg.text
    other = (reg.json()["client_id"], reg.json()["client_secret"])
    refused(exchange(server, other, subject), "unauthorized_client")
    refused(exchange(server, resource_server, subject, subject_token_type="urn:ietf:params:oauth:token-type:jwt"),
            "invalid_request")
    refused(exchange(server, resource_server, subject, actor_token=subject, actor_token_type=ACCESS_TOKEN),
            "invalid_request")
    refused(exchange(server, resource_server, subject, audience=None), "invalid_request")
    refused(exchange(server, resource_server, subject, scope="crm:read notes:read"), "invalid_scope")
    refused(exchange(server, resource_server, person_tokens["refresh_token"]), "invalid_request")
    exchanged = exchange(server, resource_server, subject).json()["access_token"]
    refused(exchange(server, resource_server, exchanged), "invalid_request")

    # Revoked: the person's client revokes its access token; the exchange is refused from then on.
    r = httpx.post(server.issuer + "/revoke", data={"token": subject, "client_id": person_tokens["client_id"]})
    assert r.status_code == 200, r.text
    refused(exchange(server, resource_server, subject), "invalid_request")

    audit = server.admin("audit", "list", "--kind", "token_exchange_refused", "--json", "--limit", "100")
    assert audit.returncode == 0 and client_id in audit.stdout, audit.stderr
