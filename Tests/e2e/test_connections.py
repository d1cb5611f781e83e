"""Per-user connections to a third-party API (issue 12, "Connections"), end to end.

The third-party API's authorization server is a second Gatehouse AuthServer (upstream_gatehouse.py)
with a pre-registered confidential client for us and a 60 s access-token lifetime (its minimum;
so every call is inside the gateway's 60 s refresh window and refreshes, and the upstream rotates
the refresh token each time). Our AuthServer and ResourceServer read a config file with one
connection, `acme`, and one gateway resource naming it, in front of the SDK upstream
(upstreams/http_upstream.py), whose `connection` tool reports whether X-Gatehouse-Connection-acme
came and checks the token at the third-party's `/userinfo`.

A person signs in at our AuthServer, presses "Connect Acme" on the consent page, signs in and
consents at the third party, comes back to our consent page and allows; the tool sees a working
token, refreshed on the next call; the third party revokes (`users revoke-grants`), and the next
call returns the connect link; reconnecting from the account page and disconnecting there remove
it again. Nothing of any connection token appears in a log file or an audit row.

Our services use `localhost`, the third party another loopback host (upstream_gatehouse.py): browsers
(and httpx) keep cookies per host, not per port, so two Gatehouses on one host would overwrite each
other's session cookie.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import subprocess
import tempfile
from urllib.parse import parse_qs, urljoin, urlparse

import anyio
import httpx
import pytest

from gatehouse import Deployment, _Forms, base_env, free_port, sdk_session_with_token, start, text_of
from test_gateway_http import Upstream
from upstream_gatehouse import upstream_gatehouse

REDIRECT = "http://127.0.0.1:18398/callback"
CLIENT_ID = "downstream-gatehouse"

CONFIG = """\
connections:
  - id: acme
    name: Acme
    authorization_endpoint: {up}/authorize
    token_endpoint: {up}/token
    revocation_endpoint: {up}/revoke
    client_id: {client_id}
    client_secret_env: ACME_SECRET
    scopes: [openid, profile]
    pkce: true
    allow_insecure_loopback: true
resources:
  - path: /mcp/acme
    name: Acme tools
    scopes: {{acme:use: Use Acme for you}}
    tools: {{"*": [acme:use]}}
    connections: [acme]
    upstream:
      http:
        url: {upstream}
        timeout: 20
"""


class Browser:
    """One person's browser: our login and consent pages, the third party's, and the Connect link."""

    def __init__(self, credentials: dict[str, tuple[str, str]]):
        self.client = httpx.Client(follow_redirects=False, timeout=20)
        self.credentials = credentials  # origin -> (username, password)
        self.pages: list[str] = []

    def run(self, url: str, stop_prefix: str, *, connect: bool = True) -> tuple[str | None, httpx.Response | None]:
        method, data, last = "GET", None, None
        for _ in range(30):
            if url.startswith(stop_prefix):
                return url, last
            r = self.client.post(url, data=data) if method == "POST" else self.client.get(url)
            last = r
            if r.is_redirect:
                method, url, data = "GET", urljoin(url, r.headers["location"]), None
                continue
            origin = f"{r.url.scheme}://{r.url.host}:{r.url.port}"
            link = re.search(r'href="(/connections/[^"]+/connect[^"]*)"', r.text)
            if connect and link:
                self.pages.append("connect")
                method, url, data = "GET", urljoin(str(r.url), html.unescape(link.group(1))), None
                connect = False
                continue
            parser = _Forms()
            parser.feed(r.text)
            if r.status_code >= 400 or not parser.forms:
                return None, r
            form = parser.forms[0]
            fields = {name: value for name, value, _ in form["fields"] if name}
            if any(kind == "password" for _, _, kind in form["fields"]):
                self.pages.append("login " + origin)
                fields["username"], fields["password"] = self.credentials[origin]
            else:
                self.pages.append("consent " + origin)
                fields["decision"] = "approve"
            method, url, data = "POST", urljoin(str(r.url), form["action"]), fields
        return None, last


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def stack(logdir):
    tmp = tempfile.mkdtemp(prefix="gatehouse-connections-")
    secret = secrets.token_urlsafe(32)
    as_port, rs_port = free_port(), free_port()
    issuer, origin = f"http://localhost:{as_port}", f"http://localhost:{rs_port}"
    up = upstream_gatehouse(logdir, f"""
  - id: {CLIENT_ID}
    name: Downstream Gatehouse
    redirect_uris: [{issuer}/connections/acme/callback]
    secret_env: ACME_SECRET
""", env={"ACME_SECRET": secret, "GATEHOUSE_ACCESS_TOKEN_TTL": "60"})
    upstream = Upstream(tmp, issuer, port=free_port())
    def start_with_userinfo() -> None:
        """Upstream.start, plus where the `connection` tool checks tokens (the third party's userinfo)."""
        import sys
        import time
        upstream.proc = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(__file__), "upstreams", "http_upstream.py"),
             "--port", str(upstream.port), "--record", upstream.record, "--issuer", issuer,
             "--connection-userinfo", up.issuer + "/userinfo"],
            stdout=open(upstream.log, "a"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            assert upstream.proc.poll() is None, open(upstream.log).read()
            try:
                httpx.get(upstream.url, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the upstream did not start")

    config = os.path.join(tmp, "gatehouse.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(up=up.issuer, client_id=CLIENT_ID, upstream=upstream.url))
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=origin + "/mcp/acme",
                   GATEHOUSE_AUTH_PORT=str(as_port), GATEHOUSE_RS_PORT=str(rs_port), GATEHOUSE_CONFIG=config,
                   ACME_SECRET=secret)
    d = Deployment(issuer, origin + "/mcp/acme", env)
    try:
        start_with_userinfo()
        d.services.append(start("conn-auth", ["AuthServer", "serve"], env, as_port, logdir))
        d.services.append(start("conn-resource", ["ResourceServer", "serve"], env, rs_port, logdir))
        yield {"up": up, "d": d, "upstream": upstream, "secret": secret, "logdir": logdir}
    finally:
        d.stop()
        upstream.stop()
        up.stop()


def authorize_url(d: Deployment) -> tuple[str, str, str]:
    reg = httpx.post(d.issuer + "/register", json={
        "client_name": "connections e2e", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"]})
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]
    verifier, challenge = pkce()
    url = str(httpx.URL(d.issuer + "/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "state": "s", "scope": "acme:use",
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": d.mcp_url}))
    return url, client_id, verifier


def call_connection_tool(d: Deployment, token: str) -> tuple[bool, str]:
    async def calls(session):
        return await session.call_tool("connection", {"id": "acme"})
    _, result = anyio.run(lambda: sdk_session_with_token(d.mcp_url, token, calls))
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", False)), text_of(result)


def audit_rows(d: Deployment) -> str:
    r = subprocess.run(["psql", d.env["DATABASE_URL"], "-qAt", "-c",
                        "SELECT kind || ' ' || outcome || ' ' || coalesce(detail::text, '') FROM audit_events"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_connect_use_refresh_break_reconnect_disconnect(stack):
    up, d, upstream = stack["up"], stack["d"], stack["upstream"]
    person = d.create_user()
    remote = up.create_user()
    browser = Browser({d.issuer: person, up.issuer: remote})
    url, client_id, verifier = authorize_url(d)

    # 1. Consent offers Connect Acme; the person connects at the third party and comes back.
    redirect, last = browser.run(url, REDIRECT)
    assert redirect, (browser.pages, last.status_code if last else None, last.text[:500] if last else "")
    assert "connect" in browser.pages, browser.pages
    assert f"login {up.issuer}" in browser.pages and f"consent {up.issuer}" in browser.pages, browser.pages
    code = parse_qs(urlparse(redirect).query)["code"][0]
    token = httpx.post(d.issuer + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "code_verifier": verifier, "resource": d.mcp_url}).json()["access_token"]
    audits = audit_rows(d)
    assert "connection_made success" in audits

    # 2. The tool gets the person's Acme token (never ours), valid at Acme; the next call refreshes it.
    is_error, text = call_connection_tool(d, token)
    assert not is_error, text
    seen = json.loads(text)
    assert seen["present"] and seen["count"] == 1 and not seen["authorization"], seen
    assert seen["connection_headers"] == ["x-gatehouse-connection-acme"], seen
    assert seen["userinfo_status"] == 200 and seen["userinfo_sub"], seen
    is_error, text = call_connection_tool(d, token)
    again = json.loads(text)
    assert not is_error and again["userinfo_status"] == 200, again
    assert again["sha256"] != seen["sha256"], "inside the refresh window the token is refreshed (and the refresh token rotated)"

    # 3. Acme revokes everything it gave us: the next call gets the connect link instead.
    r = up.admin("users", "revoke-grants", remote[0])
    assert r.returncode == 0, r.stderr
    is_error, text = call_connection_tool(d, token)
    assert is_error, text
    assert f"{d.issuer}/connections/acme/connect" in text, text

    # 4. The account page says so; reconnecting from there works again.
    page = browser.client.get(d.issuer + "/account")
    assert page.status_code == 200 and "needs reconnecting" in page.text, page.text[:800]
    done, last = browser.run(d.issuer + "/connections/acme/connect", d.issuer + "/account?done=", connect=False)
    assert done and done.endswith("connection-made"), (browser.pages, last.text[:400] if last else "")
    is_error, text = call_connection_tool(d, token)
    assert not is_error and json.loads(text)["userinfo_status"] == 200, text

    # 5. Disconnect (a POST with the session's CSRF token) removes it: the link again.
    page = browser.client.get(d.issuer + "/account")
    csrf = re.search(r'action="/account/connections/disconnect">\s*<input type="hidden" name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text[:1500]
    forged = browser.client.post(d.issuer + "/account/connections/disconnect", data={"connection": "acme", "csrf": "x"})
    assert forged.status_code == 403
    r = browser.client.post(d.issuer + "/account/connections/disconnect",
                            data={"connection": "acme", "csrf": html.unescape(csrf.group(1))},
                            headers={"Origin": d.issuer})
    assert r.status_code == 303 and r.headers["location"].endswith("connection-removed"), (r.status_code, r.text[:300])
    is_error, text = call_connection_tool(d, token)
    assert is_error and "/connections/acme/connect" in text, text
    assert "connection_removed success" in audit_rows(d)

    # 6. No connection token anywhere: not in a log file, not in an audit row. The tokens are
    # what the upstream received (it recorded its request headers in its own file, outside logs).
    received = [req["headers"]["x-gatehouse-connection-acme"] for req in upstream.requests()
                if "x-gatehouse-connection-acme" in req["headers"]]
    assert len(set(received)) >= 3, "three different tokens reached the tool"
    audits = audit_rows(d) + audit_rows(up)
    for name in os.listdir(stack["logdir"]):
        path = os.path.join(stack["logdir"], name)
        if not os.path.isfile(path):
            continue
        with open(path, errors="replace") as f:
            content = f.read()
        for value in set(received) | {stack["secret"]}:
            assert value not in content, f"a connection token or the client secret is in {name}"
    for value in set(received):
        assert value not in audits and value[:24] not in audits


def test_callback_refuses_foreign_state_and_unknown_connection(stack):
    d = stack["d"]
    r = httpx.get(d.issuer + "/connections/acme/callback", params={"state": "forged", "code": "x"})
    assert r.status_code == 400 and "invalid_state" in r.text
    r = httpx.get(d.issuer + "/connections/nope/connect")
    assert r.status_code == 404 and "unknown_connection" in r.text
    r = httpx.get(d.issuer + "/connections/acme/connect")
    assert r.status_code == 401 and "login_required" in r.text
    assert "connection_failed failure" in audit_rows(d)


def signed_in(d: Deployment, person: tuple[str, str]) -> Browser:
    """A browser signed in on our account page (its own sign-in form)."""
    b = Browser({d.issuer: person})
    r = b.client.get(d.issuer + "/account")
    parser = _Forms()
    parser.feed(r.text)
    form = parser.forms[0]
    fields = {name: value for name, value, _ in form["fields"] if name}
    fields["username"], fields["password"] = person
    r = b.client.post(urljoin(d.issuer + "/account", form["action"]), data=fields)
    assert r.status_code == 303, r.text[:300]
    return b


def test_a_callback_in_another_browser_is_refused(stack):
    """The confused-deputy case (GHSA-rww4-4w9c-7733): a state issued to one person's session,
    replayed in another person's browser, connects nobody; and it is single-use."""
    d = stack["d"]
    alice, mallory = signed_in(d, d.create_user()), signed_in(d, d.create_user())
    r = alice.client.get(d.issuer + "/connections/acme/connect")
    assert r.status_code == 303, r.text[:300]
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["openid profile"], query
    state = query["state"][0]
    r = mallory.client.get(d.issuer + "/connections/acme/callback", params={"state": state, "code": "stolen"})
    assert r.status_code == 400 and "invalid_state" in r.text
    r = alice.client.get(d.issuer + "/connections/acme/callback", params={"state": state, "code": "stolen"})
    assert r.status_code == 400 and "invalid_state" in r.text, "a presented state is used up"
    # The provider's refusal is Gatehouse's page with a way back, never a 500.
    r = alice.client.get(d.issuer + "/connections/acme/connect")
    state = parse_qs(urlparse(r.headers["location"]).query)["state"][0]
    r = alice.client.get(d.issuer + "/connections/acme/callback", params={"state": state, "error": "access_denied"})
    assert r.status_code == 400 and "did not allow" in r.text and 'href="/account"' in r.text


def call_with_url_elicitation(d: Deployment, token: str):
    """The `connection` tool through the official SDK client with an elicitation callback, which
    makes it declare `capabilities.elicitation: {form: {}, url: {}}` at `initialize` (SDK 2.3.0);
    returns the tool result, or the MCPError the call raised."""
    from mcp.shared.exceptions import MCPError

    async def never_asked(context, params):  # the gateway answers -32042, it never sends elicitation/create
        raise AssertionError(f"unexpected elicitation/create: {params}")

    async def calls(session):
        try:
            return await session.call_tool("connection", {"id": "acme"})
        except MCPError as error:
            return error
    _, outcome = anyio.run(lambda: sdk_session_with_token(d.mcp_url, token, calls, elicitation_callback=never_asked))
    return outcome


def test_url_elicitation_for_a_missing_connection(stack):
    """Issue 12, Connections item 3: a client that declared URL-mode elicitation gets MCP
    2025-11-25's URLElicitationRequiredError (-32042) with the connect link; one that did not gets
    the tool error. The link, opened in the person's browser outside any consent flow, connects
    and lands on the account page; the same call then works."""
    from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError

    up, d = stack["up"], stack["d"]
    person, remote = d.create_user(), up.create_user()
    browser = Browser({d.issuer: person, up.issuer: remote})
    url, client_id, verifier = authorize_url(d)
    redirect, last = browser.run(url, REDIRECT, connect=False)
    assert redirect and "connect" not in browser.pages, (browser.pages, last.text[:500] if last else "")
    code = parse_qs(urlparse(redirect).query)["code"][0]
    token = httpx.post(d.issuer + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": client_id,
        "code_verifier": verifier, "resource": d.mcp_url}).json()["access_token"]
    connect = f"{d.issuer}/connections/acme/connect"

    # Without the capability: the tool error, as before.
    is_error, text = call_connection_tool(d, token)
    assert is_error and connect in text, text

    # With it: -32042, one URL-mode elicitation whose url is the connect page.
    outcome = call_with_url_elicitation(d, token)
    assert isinstance(outcome, MCPError), outcome
    assert outcome.error.code == -32042, outcome.error
    elicitations = UrlElicitationRequiredError.from_error(outcome.error).elicitations
    assert len(elicitations) == 1 and elicitations[0].mode == "url", elicitations
    link = elicitations[0].url
    assert link == f"{connect}?elicitation={elicitations[0].elicitation_id}", elicitations
    assert "Acme" in elicitations[0].message and "http" not in elicitations[0].message, elicitations

    # The link is bound to the person (MCP's phishing rule): someone else signed in connects nobody.
    other = signed_in(d, d.create_user())
    r = other.client.get(link)
    assert r.status_code == 403 and "wrong_account" in r.text, (r.status_code, r.text[:400])
    altered = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    r = browser.client.get(altered)
    assert r.status_code == 403 and "wrong_account" in r.text, (r.status_code, r.text[:400])

    # The person opens it in their own browser: connect at Acme, then the account page.
    done, last = browser.run(link, d.issuer + "/account?done=", connect=False)
    assert done and done.endswith("connection-made"), (browser.pages, last.text[:400] if last else "")
    outcome = call_with_url_elicitation(d, token)
    assert not isinstance(outcome, MCPError) and not outcome.is_error, outcome
    assert json.loads(text_of(outcome))["userinfo_status"] == 200, text_of(outcome)
