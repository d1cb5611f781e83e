"""A real browser through our login and consent pages: headless Chromium from Debian's packages,
driven with selenium and chromedriver.

Header-only HTTP clients (httpx, curl) do not enforce the pages' Content-Security-Policy, so only a
browser catches a policy that blocks the form posts or the redirect back to the client
(form-action), or a stylesheet the policy refuses. The callback is a real HTTP server on a loopback
port, so the test passes only when the browser actually arrived there.

Also saves docs/screenshots/login.png and docs/screenshots/consent.png.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from gatehouse import ROOT, chromium

SCREENSHOTS = os.path.join(ROOT, "docs", "screenshots")
WINDOW = (1000, 900)


@pytest.fixture
def callback_server():
    """A tiny HTTP server on a free loopback port that records the query of GET /callback."""
    received: dict = {}
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            url = urlparse(self.path)
            if url.path != "/callback":
                self.send_response(404)
                self.end_headers()
                return
            received.update({k: v[0] for k, v in parse_qs(url.query).items()})
            body = b"<!doctype html><title>Callback</title><p>Signed in. You can close this window.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            arrived.set()

        def log_message(self, *args):
            pass

    # A fixed port when it is free, so the redirect host on the consent screenshot does not change.
    try:
        server = ThreadingHTTPServer(("127.0.0.1", 53710), Handler)
    except OSError:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback", received, arrived
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def browser():
    yield from chromium(*WINDOW)


def _console_errors(driver) -> list[str]:
    try:
        entries = driver.get_log("browser")
    except Exception:  # noqa: BLE001 - the log type is optional in some driver versions
        return []
    return [e.get("message", "") for e in entries if e.get("level") in ("SEVERE", "WARNING")]


def _csp_messages(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or "violates" in m or "form-action" in m]


def test_chromium_signs_in_consents_and_reaches_the_client_callback(gatehouse, browser, callback_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    username, password = gatehouse.ensure_user("alex")
    redirect_uri, received, arrived = callback_server
    issuer = gatehouse.issuer

    reg = httpx.post(issuer + "/register", timeout=10, json={
        "client_name": "Notes Assistant", "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "none"})
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(16)
    authorize_url = str(httpx.URL(issuer + "/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": gatehouse.mcp_url}))

    wait = WebDriverWait(browser, 15)
    os.makedirs(SCREENSHOTS, exist_ok=True)

    # The login page, rendered with its stylesheet (the CSP allows style-src 'self').
    browser.get(authorize_url)
    wait.until(EC.presence_of_element_located((By.ID, "password")))
    assert browser.find_element(By.ID, "page-title").text == "Sign in"
    background = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(244, 246, 250)", f"the stylesheet did not apply (body background {background})"
    browser.save_screenshot(os.path.join(SCREENSHOTS, "login.png"))

    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    # The consent page, then Allow.
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Allow access?"))
    assert "Notes Assistant" in browser.find_element(By.CSS_SELECTOR, "p.lead").text
    browser.save_screenshot(os.path.join(SCREENSHOTS, "consent.png"))
    browser.find_element(By.CSS_SELECTOR, "button[name=decision][value=approve]").click()

    # The browser must actually reach the client's callback: a CSP form-action that does not
    # allow the redirect target stops it on the consent page.
    if not arrived.wait(timeout=15):
        messages = _console_errors(browser)
        pytest.fail(f"the browser never reached the callback; it is at {browser.current_url!r}; "
                    f"console: {messages}")
    WebDriverWait(browser, 10).until(lambda d: d.current_url.startswith(redirect_uri))

    assert received.get("code"), received
    assert received.get("state") == state, received
    assert received.get("iss") == issuer, received  # RFC 9207
    assert "error" not in received, received

    console = _console_errors(browser)
    print("browser console:", console)
    csp = _csp_messages(console)
    assert not csp, f"Content-Security-Policy violations in the browser console: {csp}"

    token = httpx.post(issuer + "/token", timeout=10, data={
        "grant_type": "authorization_code", "code": received["code"], "redirect_uri": redirect_uri,
        "client_id": client_id, "code_verifier": verifier, "resource": gatehouse.mcp_url})
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"].lower() == "bearer" and body["access_token"] and body.get("refresh_token")
