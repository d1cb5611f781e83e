"""The account page (issue 13 item 4) in a real browser: "headless Chromium uses the account page
to revoke ChatGPT's access and the next refresh by that client fails with `invalid_grant`; the page
has no console or CSP errors and fits 390 px."

ChatGPT registers with the body it really sends (Tests/Fixtures/registration-bodies/chatgpt.json)
and gets its tokens through our login and consent pages; then a phone-sized Chromium (390 px wide,
mobile emulation) signs in at /account, creates an API key on the page (which then works at the
ResourceServer), presses Revoke on ChatGPT, and signs out. Saves docs/screenshots/account.png.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets

import httpx
import pytest

from gatehouse import ROOT, chromium, sign_in

SCREENSHOTS = os.path.join(ROOT, "docs", "screenshots")
CHATGPT = os.path.join(ROOT, "Tests", "Fixtures", "registration-bodies", "chatgpt.json")
PHONE = (390, 1900)
WHOAMI = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2025-11-25"}


@pytest.fixture
def phone():
    """Headless Chromium with a 390 px wide mobile viewport and the console log kept."""
    yield from chromium(*PHONE, mobile=True)


def _chatgpt_tokens(gatehouse, username: str, password: str) -> dict:
    """ChatGPT's own registration body, then PKCE through our login and consent pages."""
    with open(CHATGPT) as f:
        body = json.load(f)
    reg = httpx.post(gatehouse.issuer + "/register", json=body, timeout=10)
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]
    redirect = body["redirect_uris"][0]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = str(httpx.URL(gatehouse.issuer + "/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": "s",
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": gatehouse.mcp_url}))
    login = sign_in(url, redirect, username, password)
    assert login.code, (login.last_status, login.pages, login.last_body[:300])
    r = httpx.post(gatehouse.issuer + "/token", timeout=10, data={
        "grant_type": "authorization_code", "code": login.code, "redirect_uri": redirect, "client_id": client_id,
        "code_verifier": verifier, "resource": gatehouse.mcp_url})
    assert r.status_code == 200, r.text
    return r.json() | {"client_id": client_id}


def _refresh(gatehouse, tokens: dict) -> httpx.Response:
    return httpx.post(gatehouse.issuer + "/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": tokens["client_id"]})


def _fits(driver) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")
    viewport = driver.execute_script("return window.innerWidth")
    assert viewport == PHONE[0], viewport
    assert width <= PHONE[0], f"the page is {width} px wide in a {PHONE[0]} px viewport (horizontal scroll)"


def test_chromium_revokes_chatgpt_on_the_account_page(gatehouse, phone):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    username, password = gatehouse.ensure_user("sam")
    tokens = _chatgpt_tokens(gatehouse, username, password)
    # ChatGPT's refresh works before the revocation (and rotates: keep the newest).
    first = _refresh(gatehouse, tokens)
    assert first.status_code == 200, first.text
    tokens = tokens | {"refresh_token": first.json()["refresh_token"]}

    wait = WebDriverWait(phone, 15)
    os.makedirs(SCREENSHOTS, exist_ok=True)

    # Not signed in: /account is the sign-in form; signing in comes back to /account.
    phone.get(gatehouse.issuer + "/account")
    wait.until(EC.presence_of_element_located((By.ID, "password")))
    assert phone.find_element(By.ID, "page-title").text == "Sign in"
    _fits(phone)
    phone.find_element(By.ID, "username").send_keys(username)
    phone.find_element(By.ID, "password").send_keys(password)
    phone.find_element(By.CSS_SELECTOR, "form[action='/account/login'] button[type=submit]").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Your account"))
    assert phone.current_url == gatehouse.issuer + "/account"
    background = phone.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(244, 246, 250)", f"the stylesheet did not apply (body background {background})"

    chatgpt = phone.find_element(By.CSS_SELECTOR, "li[data-client-name='ChatGPT']")
    assert "registered itself" in chatgpt.text and gatehouse.mcp_url in chatgpt.text
    assert "this device" in phone.find_element(By.CSS_SELECTOR, "section[aria-labelledby=sessions-title]").text

    # An API key made on the page works at the ResourceServer as a fixed header.
    phone.find_element(By.ID, "key-name").send_keys("phone test")
    Select(phone.find_element(By.ID, "key-resource")).select_by_value(gatehouse.mcp_url)
    phone.find_element(By.CSS_SELECTOR, "input[name=scope][value='notes:read']").click()
    phone.find_element(By.CSS_SELECTOR, "form[action='/account/keys'] button[type=submit]").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Your new API key"))
    _fits(phone)
    key = phone.find_element(By.ID, "api-key").text
    assert key.startswith("gh_pat_"), key
    whoami = httpx.post(gatehouse.mcp_url, json=WHOAMI, headers={**MCP_HEADERS, "Authorization": f"Bearer {key}"},
                        timeout=10)
    assert whoami.status_code == 200, whoami.text
    phone.find_element(By.LINK_TEXT, "Back to your account").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Your account"))
    assert "phone test" in phone.find_element(By.CSS_SELECTOR, "section[aria-labelledby=keys-title]").text
    _fits(phone)
    phone.save_screenshot(os.path.join(SCREENSHOTS, "account.png"))

    # Revoke ChatGPT: its next refresh is invalid_grant.
    phone.find_element(By.CSS_SELECTOR, "li[data-client-name='ChatGPT'] button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
    assert "Access revoked" in phone.find_element(By.CSS_SELECTOR, "p.notice").text
    assert not phone.find_elements(By.CSS_SELECTOR, "li[data-client-name='ChatGPT']")
    _fits(phone)
    refused = _refresh(gatehouse, tokens)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text

    # Sign out: the session ends, /account asks to sign in again.
    phone.find_element(By.CSS_SELECTOR, "form[action='/logout'] button[type=submit]").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "page-title"), "Signed out"))
    phone.get(gatehouse.issuer + "/account")
    wait.until(EC.presence_of_element_located((By.ID, "password")))

    entries = phone.get_log("browser")
    print("browser console:", entries)
    severe = [e.get("message", "") for e in entries if e.get("level") == "SEVERE"]
    assert not severe, f"console errors (CSP violations included) on the account pages: {severe}"
    csp = [e.get("message", "") for e in entries if "Content Security Policy" in e.get("message", "")]
    assert not csp, f"Content-Security-Policy messages: {csp}"
