"""Starts real Gatehouse processes for the end-to-end tests and drives the HTML login form.

Nothing here is mocked: the binaries are the ones `swift build` produced, the database is the
PostgreSQL that scripts/test.sh started, and the login goes through our own HTML pages.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("GATEHOUSE_BIN") or os.path.join(ROOT, ".build", "debug")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready in {seconds}s")


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    port: int
    log_path: str

    def stop(self) -> int:
        """SIGTERM, and the exit code: graceful shutdown must end the process by itself."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return -9
        return self.proc.returncode


@dataclass
class Deployment:
    issuer: str
    mcp_url: str
    env: dict
    services: list[Service] = field(default_factory=list)

    def admin(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([os.path.join(BIN, "AuthServer"), *args], input=stdin, env=self.env,
                              capture_output=True, text=True, timeout=60)

    def create_user(self) -> tuple[str, str]:
        username = "e2e-" + secrets.token_hex(4)
        password = secrets.token_urlsafe(16)
        r = self.admin("users", "create", username, "--password-stdin", stdin=password + "\n")
        assert r.returncode == 0, r.stderr
        return username, password

    def ensure_user(self, username: str) -> tuple[str, str]:
        """A user with a fixed name (screenshots stay the same from run to run) and a new password."""
        password = secrets.token_urlsafe(16)
        r = self.admin("users", "create", username, "--password-stdin", "--update-existing", stdin=password + "\n")
        assert r.returncode == 0, r.stderr
        return username, password

    def stop(self) -> dict[str, int]:
        return {s.name: s.stop() for s in self.services}


def base_env(**extra: str) -> dict:
    env = dict(os.environ)
    assert env.get("DATABASE_URL"), "DATABASE_URL is not set: run the tests with `make test`"
    env.setdefault("GATEHOUSE_KEK", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    # Every test registers from 127.0.0.1 into one database: the registration limit (30 per hour
    # per network by default) would stop the suite. test_rate_limits.py turns the limits on.
    for limit in ("REGISTRATIONS_PER_HOUR", "TOKEN_REQUESTS_PER_MINUTE", "AUTHORIZE_REQUESTS_PER_MINUTE"):
        env.setdefault("GATEHOUSE_RATE_LIMIT_" + limit, "0")
    env.update(extra)
    return env


def start(name: str, args: list[str], env: dict, port: int, logdir: str) -> Service:
    log_path = os.path.join(logdir, f"{name}.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([os.path.join(BIN, args[0]), *args[1:]], env=env, stdout=log, stderr=subprocess.STDOUT)
    service = Service(name, proc, port, log_path)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
    except BaseException:
        service.stop()  # a service that never got ready must not outlive its test (and hold its port)
        raise
    return service


def deploy(logdir: str, **extra: str) -> Deployment:
    """One AuthServer and one ResourceServer on free loopback ports."""
    as_port, rs_port = free_port(), free_port()
    issuer, mcp_url = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}/mcp"
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=mcp_url, GATEHOUSE_AUTH_PORT=str(as_port),
                   GATEHOUSE_RS_PORT=str(rs_port), **extra)
    d = Deployment(issuer, mcp_url, env)
    d.services.append(start("auth", ["AuthServer", "serve"], env, as_port, logdir))
    try:
        d.services.append(start("resource", ["ResourceServer", "serve"], env, rs_port, logdir))
    except BaseException:
        d.stop()
        raise
    return d


# ---------------------------------------------------------------- the HTML login, as a person would
class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                               "fields": [], "buttons": []})
        elif self.forms and tag == "input":
            self.forms[-1]["fields"].append((a.get("name"), a.get("value") or "", (a.get("type") or "text").lower()))
        elif self.forms and tag == "button":
            self.forms[-1]["buttons"].append((a.get("name"), a.get("value") or ""))


@dataclass
class LoginResult:
    redirect: str | None = None
    code: str | None = None
    state: str | None = None
    iss: str | None = None
    error: str | None = None
    pages: list[str] = field(default_factory=list)
    last_status: int | None = None
    last_body: str = ""


def sign_in(authorize_url: str, redirect_prefix: str, username: str, password: str, *,
            decision: str = "approve", client: httpx.Client | None = None, provider: str | None = None) -> LoginResult:
    """Follows redirects, fills our login form, presses Allow (or Deny) on the consent page, and
    stops at the redirect back to the client (which is never fetched).

    With `provider` (an `identity_providers` id, issue 12) it presses "Sign in with …" on our login
    page instead, and `username`/`password` are the person's at the provider: it fills the
    provider's own login and consent forms (an upstream Gatehouse's are ours), follows the
    provider back to our callback, then approves our consent page."""
    own = client is None
    c = client or httpx.Client(follow_redirects=False, timeout=15)
    out = LoginResult()
    method, url, data = "GET", authorize_url, None
    try:
        for _ in range(10):
            if url.startswith(redirect_prefix):
                out.redirect = url
                q = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
                out.code, out.state, out.iss, out.error = q.get("code"), q.get("state"), q.get("iss"), q.get("error")
                return out
            r = c.post(url, data=data) if method == "POST" else c.get(url)
            out.last_status, out.last_body = r.status_code, r.text[:2000]
            if r.is_redirect:
                method, url, data = "GET", urljoin(url, r.headers["location"]), None
                continue
            if r.status_code >= 400 and r.status_code not in (401, 429):
                return out
            parser = _Forms()
            parser.feed(r.text)
            if not parser.forms:
                return out
            form = parser.forms[0]
            button = next((f for f in parser.forms if provider and f["action"].endswith(f"/login/{provider}")), None)
            if button is not None and "provider" not in out.pages:
                out.pages.append("provider")
                fields = {name: value for name, value, kind in button["fields"] if name}
                method, url, data = "POST", urljoin(str(r.url), button["action"]), fields
                continue
            fields = {name: value for name, value, kind in form["fields"] if name}
            if any(kind == "password" for _, _, kind in form["fields"]):
                out.pages.append("login")
                if out.pages.count("login") > 1:
                    return out
                fields["username"], fields["password"] = username, password
            else:
                out.pages.append("consent")
                fields["decision"] = decision
            method, url, data = "POST", urljoin(str(r.url), form["action"]), fields
        return out
    finally:
        if own:
            c.close()


# ---------------------------------------------------------------- the official MCP client, with a token in hand
async def list_tools(mcp_url: str, access_token: str) -> set[str]:
    """`initialize` and `tools/list` through the official MCP Python SDK client, sending the token
    as a fixed `Authorization` header (the client already holds it); returns the tool names."""
    import anyio
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    with anyio.fail_after(30):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {access_token}"}, timeout=15) as http:
            async with streamable_http_client(mcp_url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return {t.name for t in (await session.list_tools()).tools}


# ---------------------------------------------------------------- the official MCP client, running its own OAuth flow
SDK_REDIRECT = "http://127.0.0.1:53999/callback"


class Storage:
    """The SDK's token storage, in memory, so a test can look at what the client holds."""

    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, info):
        self.client_info = info


async def sdk_session(mcp_url: str, username: str, password: str, storage: Storage, calls, provider: str | None = None):
    """Runs the SDK's OAuth flow and then `calls(session)`; returns what the calls return. With
    `provider`, the person signs in through that identity provider (see `sign_in`)."""
    identity_provider = provider  # `provider` is the SDK's OAuth provider below
    import anyio
    import httpx2
    from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.auth import OAuthClientMetadata

    seen = {}

    async def redirect_handler(url: str) -> None:
        seen["authorize_url"] = url
        seen["login"] = await anyio.to_thread.run_sync(lambda: sign_in(url, SDK_REDIRECT, username, password,
                                                                          provider=identity_provider))

    async def callback_handler() -> AuthorizationCodeResult:
        login = seen["login"]
        assert login.code, f"no code: status={login.last_status} pages={login.pages} body={login.last_body[:300]}"
        return AuthorizationCodeResult(code=login.code, state=login.state, iss=login.iss)

    provider = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata.model_validate({
            "client_name": "Gatehouse e2e", "redirect_uris": [SDK_REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none"}),
        storage=storage, redirect_handler=redirect_handler, callback_handler=callback_handler)
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(auth=provider, timeout=15) as http:
            async with streamable_http_client(mcp_url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    return init, seen, await calls(session)


def text_of(result) -> str:
    """The text of an MCP tool result, its content items joined."""
    return "".join(getattr(c, "text", "") for c in result.content)


def tokens_for(issuer: str, resource: str, username: str, password: str, redirect: str,
               scope: str | None = None, client_name: str = "e2e") -> dict:
    """A fresh public client, PKCE, our login and consent pages, and the code exchange, for
    `resource`: the token response plus the `client_id`."""
    import base64
    import hashlib
    reg = httpx.post(issuer + "/register", json={
        "client_name": client_name, "redirect_uris": [redirect], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"]})
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": "s",
              "code_challenge": challenge, "code_challenge_method": "S256", "resource": resource}
    if scope:
        params["scope"] = scope
    login = sign_in(str(httpx.URL(issuer + "/authorize", params=params)), redirect, username, password)
    assert login.code, (login.last_status, login.pages, login.last_body[:300])
    r = httpx.post(issuer + "/token", data={
        "grant_type": "authorization_code", "code": login.code, "redirect_uri": redirect, "client_id": client_id,
        "code_verifier": verifier, "resource": resource})
    assert r.status_code == 200, r.text
    return r.json() | {"client_id": client_id}


async def sdk_session_with_token(url: str, token: str, calls, seconds: float = 90, **session_kwargs):
    """The official SDK client with a token it already holds (no OAuth of its own): `initialize`,
    then `calls(session)`; returns both results."""
    import anyio
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    with anyio.fail_after(seconds):
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write, **session_kwargs) as session:
                    init = await session.initialize()
                    return init, await calls(session)


# ---------------------------------------------------------------- headless Chromium
def chromium(width: int, height: int, *, mobile: bool = False):
    """Debian's headless Chromium through selenium and chromedriver, with a `width`×`height`
    viewport (the viewport itself, not the window with its frame, so screenshots are that size)
    and the browser console log kept (where Chromium reports CSP violations). A generator for a
    pytest fixture: yields the driver, quits it afterwards."""
    import shutil
    import tempfile

    import pytest

    browser_path = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver_path = shutil.which("chromedriver")
    if not browser_path or not driver_path:
        pytest.fail("headless Chromium is required for this test but was not found "
                    f"(chromium: {browser_path}, chromedriver: {driver_path}); install Debian's packages: "
                    "apt-get install -y chromium chromium-driver (scripts/test.sh does this)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        pytest.fail(f"selenium is missing from the test venv ({e}): pip install -r Tests/e2e/requirements.txt")
    profile = tempfile.mkdtemp(prefix="gatehouse-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", f"--window-size={width},{height}",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-sync", "--force-color-profile=srgb",
                "--hide-scrollbars", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit chromedriver path: selenium then never tries to download a driver or browser.
    service = Service(executable_path=driver_path, log_output=os.path.join(profile, "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(20)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    driver.set_script_timeout(10)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
