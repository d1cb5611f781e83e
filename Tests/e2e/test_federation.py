"""Sign-in through an upstream identity provider (issue 12), end to end with the built binaries.

The upstream OpenID Provider is a second Gatehouse AuthServer (upstream_gatehouse.py: its own
database, KEK and pre-registered client, on 127.0.0.2). The downstream Gatehouse lists it as
`corp` (allow: example.com) and as `strict` (allow: example.org), and a GitHub-type provider
against a loopback server that answers in GitHub's shapes (upstreams/github_api.py). The official
MCP Python SDK client and headless Chromium each sign in through the upstream's own login and
consent pages; an allow rule that does not match ends on the refusal page; a callback replayed in
another browser is refused; headless Chromium signs in to the account page with its provider button.
"""
from __future__ import annotations

import os
import secrets
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import anyio
import httpx
import pytest

from gatehouse import Deployment, Storage, base_env, free_port, sdk_session, sign_in, start
from upstream_gatehouse import upstream_gatehouse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "upstreams"))
from github_api import GitHubAPI  # noqa: E402

REDIRECT = "http://127.0.0.1:53998/callback"


@pytest.fixture(scope="module")
def federation(logdir):
    as_port, rs_port = free_port(), free_port()
    issuer, mcp_url = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}/mcp"
    secret = secrets.token_urlsafe(32)
    up = upstream_gatehouse(logdir, f"""
      - id: downstream-gatehouse
        name: Downstream Gatehouse
        redirect_uris: [{issuer}/login/corp/callback, {issuer}/login/strict/callback]
        secret_env: DOWNSTREAM_SECRET
    """, env={"DOWNSTREAM_SECRET": secret})
    github = GitHubAPI(client_id="Iv1.e2e", client_secret="github-" + secrets.token_hex(16),
                       user={"id": 583231, "login": "octocat", "name": "The Octocat", "email": None},
                       emails=[{"email": "octo@example.net", "primary": True, "verified": True}], orgs=["example-org"])
    github.start()
    handle, config = tempfile.mkstemp(prefix="gatehouse-federation-", suffix=".yaml")
    with os.fdopen(handle, "w") as f:
        f.write(f"""
identity_providers:
  - id: corp
    name: Corp SSO
    type: oidc
    issuer: {up.issuer}
    client_id: downstream-gatehouse
    client_secret_env: CORP_SECRET
    allow: {{email_domains: [example.com]}}
    allow_insecure_loopback: true
  - id: strict
    name: Strict SSO
    type: oidc
    issuer: {up.issuer}
    client_id: downstream-gatehouse
    client_secret_env: CORP_SECRET
    allow: {{email_domains: [example.org]}}
    allow_insecure_loopback: true
  - id: gh
    name: GitHub
    type: github
    client_id: Iv1.e2e
    client_secret_env: GITHUB_SECRET
    web_url: {github.url}
    api_url: {github.url}
    allow: {{orgs: [example-org]}}
    allow_insecure_loopback: true
""")
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=mcp_url, GATEHOUSE_AUTH_PORT=str(as_port),
                   GATEHOUSE_RS_PORT=str(rs_port), GATEHOUSE_CONFIG=config, CORP_SECRET=secret,
                   GITHUB_SECRET=github.client_secret)
    d = Deployment(issuer, mcp_url, env)
    try:
        d.services.append(start("auth-federation", ["AuthServer", "serve"], env, as_port, logdir))
        d.services.append(start("resource-federation", ["ResourceServer", "serve"], env, rs_port, logdir))
        yield d, up, github
    finally:
        codes = d.stop()
        up_codes = up.stop()
        github.stop()
        os.unlink(config)
    assert codes == {"auth-federation": 0, "resource-federation": 0}, codes
    assert all(c == 0 for c in up_codes.values()), up_codes


def upstream_person(up: Deployment, email: str) -> tuple[str, str]:
    username = "up-" + secrets.token_hex(4)
    password = secrets.token_urlsafe(16)
    r = up.admin("users", "create", username, "--password-stdin", "--email", email, "--email-verified", "--name", "Up Person",
                 stdin=password + "\n")
    assert r.returncode == 0, r.stderr
    return username, password


def authorize_url(d: Deployment, redirect: str = REDIRECT) -> str:
    reg = httpx.post(d.issuer + "/register", json={
        "client_name": "federation e2e", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"})
    assert reg.status_code == 201, reg.text
    return str(httpx.URL(d.issuer + "/authorize", params={
        "response_type": "code", "client_id": reg.json()["client_id"], "redirect_uri": redirect, "state": "st",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGIpOFGvj0", "code_challenge_method": "S256",
        "resource": d.mcp_url}))


def links(d: Deployment, username: str | None = None) -> str:
    r = d.admin("users", "links", *([username] if username else []))
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_official_sdk_client_signs_in_through_an_upstream_gatehouse(federation):
    d, up, _ = federation
    email = f"sdk-{secrets.token_hex(3)}@example.com"
    username, password = upstream_person(up, email)

    async def calls(session):
        return {t.name for t in (await session.list_tools()).tools}

    init, seen, tools = anyio.run(lambda: sdk_session(d.mcp_url, username, password, Storage(), calls, provider="corp"))
    login = seen["login"]
    # Our button, the upstream's own login and consent pages, then our consent page.
    assert login.pages == ["provider", "login", "consent", "consent"], login.pages
    assert login.code and tools, (login.code, tools)
    listed = links(d)
    assert email in listed and "corp" in listed and "sign-in" in listed, listed
    # The second sign-in finds the same account: still one link for the address.
    anyio.run(lambda: sdk_session(d.mcp_url, username, password, Storage(), calls, provider="corp"))
    assert links(d).count(email) == 2  # the username (the address) and the EMAIL column, on one row


def test_an_allow_rule_that_does_not_match_ends_on_the_refusal_page(federation):
    d, up, _ = federation
    username, password = upstream_person(up, f"nomatch-{secrets.token_hex(3)}@example.com")
    login = sign_in(authorize_url(d), REDIRECT, username, password, provider="strict")
    assert login.code is None
    assert login.last_status == 403, (login.last_status, login.last_body[:400])
    assert "may not sign in here" in login.last_body and "<code>not_allowed</code>" in login.last_body
    assert 'action="/login/restart"' in login.last_body
    r = d.admin("audit", "list", "--kind", "login_failed", "--limit", "20")
    assert r.returncode == 0 and "not_allowed" in r.stdout, r.stdout


def test_a_callback_replayed_in_another_browser_is_refused(federation):
    d, up, _ = federation
    username, password = upstream_person(up, f"replay-{secrets.token_hex(3)}@example.com")
    victim = httpx.Client(follow_redirects=False, timeout=15)
    attacker = httpx.Client(follow_redirects=False, timeout=15)
    try:
        # The attacker signs in at the upstream in their browser and stops before our callback.
        attack = sign_in(authorize_url(d), d.issuer + "/login/corp/callback", username, password, provider="corp",
                         client=attacker)
        callback = attack.redirect
        assert callback, "the upstream never sent the attacker's browser back"
        # The victim's browser has a sign-in of its own going; the attacker's callback lands there.
        assert victim.get(authorize_url(d)).status_code == 200
        refused = victim.get(callback)
        assert refused.status_code == 400, refused.text[:300]
        assert "started in another browser" in refused.text and "<code>invalid_state</code>" in refused.text
        assert refused.headers.get("location") is None
    finally:
        victim.close()
        attacker.close()


def test_a_github_type_provider_signs_in_with_an_org_rule(federation):
    d, _, github = federation
    login = sign_in(authorize_url(d), REDIRECT, "", "", provider="gh")
    assert login.code, (login.last_status, login.pages, login.last_body[:400])
    assert "POST /login/oauth/access_token" in github.requests and "GET /user/orgs" in github.requests
    listed = links(d)
    assert "octocat" in listed and "583231" in listed, listed


@pytest.fixture
def callback_server():
    received: dict = {}
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            url = urlparse(self.path)
            received.update({k: v[0] for k, v in parse_qs(url.query).items()})
            body = b"<!doctype html><title>Callback</title><p>Signed in.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            arrived.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback", received, arrived
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser():
    from gatehouse import chromium
    yield from chromium(1000, 900)


def test_headless_chromium_signs_in_through_the_upstream_pages(federation, callback_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    d, up, _ = federation
    redirect, received, arrived = callback_server
    email = f"chromium-{secrets.token_hex(3)}@example.com"
    username, password = upstream_person(up, email)
    wait = WebDriverWait(browser, 15)
    browser.get(authorize_url(d, redirect))
    wait.until(ec.element_to_be_clickable((By.XPATH, "//button[contains(., 'Sign in with Corp SSO')]"))).click()
    wait.until(ec.url_contains(up.issuer))
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    # The upstream's consent page, then ours (the browser comes back through /login/corp/callback).
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[value=approve]"))).click()
    wait.until(ec.url_contains(d.issuer))
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[value=approve]"))).click()
    assert arrived.wait(15), f"the browser never reached the client's callback: {browser.current_url}"
    assert received.get("code") and received.get("state") == "st", received
    assert email in links(d)


def test_headless_chromium_signs_in_to_the_account_page_through_a_provider(federation, browser):
    """The account page's own "Sign in with …" button: the same upstream pages, back on /account."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    d, up, _ = federation
    email = f"account-{secrets.token_hex(3)}@example.com"
    username, password = upstream_person(up, email)
    wait = WebDriverWait(browser, 15)
    browser.get(d.issuer + "/account")
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "form[action='/account/login/corp'] button"))).click()
    wait.until(ec.url_contains(up.issuer))
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[value=approve]"))).click()
    wait.until(ec.url_to_be(d.issuer + "/account"))
    wait.until(ec.presence_of_element_located((By.ID, "page-title")))
    assert "Your account" in browser.page_source and email in browser.page_source, browser.page_source[:600]
    assert email in links(d)
