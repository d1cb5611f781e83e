"""Mints what the benchmark needs through the real flow: a public client, a signed-in person,
one access token and N independent refresh tokens (one authorization per token)."""
import base64
import hashlib
import json
import os
import secrets
import sys

import httpx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "e2e"))
from gatehouse import sign_in  # noqa: E402

issuer, resource, username, password, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
redirect = "http://127.0.0.1:53998/callback"
client = httpx.post(issuer + "/register", json={"client_name": "bench", "redirect_uris": [redirect],
                                                "token_endpoint_auth_method": "none"}).json()
refresh_tokens, access_token = [], None
with httpx.Client(follow_redirects=False, timeout=30) as browser:
    for _ in range(count):
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        url = str(httpx.URL(issuer + "/authorize", params={
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": redirect,
            "code_challenge": challenge, "code_challenge_method": "S256", "resource": resource}))
        login = sign_in(url, redirect, username, password, client=browser)
        assert login.code, (login.last_status, login.last_body[:300])
        tokens = httpx.post(issuer + "/token", data={
            "grant_type": "authorization_code", "code": login.code, "code_verifier": verifier,
            "redirect_uri": redirect, "client_id": client["client_id"], "resource": resource}).json()
        refresh_tokens.append(tokens["refresh_token"])
        access_token = tokens["access_token"]
print(json.dumps({"client_id": client["client_id"], "access_token": access_token, "refresh_tokens": refresh_tokens}))
