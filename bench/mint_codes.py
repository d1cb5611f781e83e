"""Mints N authorization codes through the real flow for the code-exchange row of `make bench`:
one public client, one PKCE verifier for all, and THREADS browsers, each signed in once and then
pressing Allow on the consent page for every code. Prints JSON: client_id, redirect_uri,
code_verifier and the codes (each single use, so wrk sends each once: bench/code_exchange.lua).

Usage: python bench/mint_codes.py ISSUER RESOURCE USERNAME PASSWORD N [THREADS]"""
import base64
import hashlib
import json
import os
import secrets
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "e2e"))
from gatehouse import sign_in  # noqa: E402

issuer, resource, username, password, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
threads = int(sys.argv[6]) if len(sys.argv) > 6 else 4
redirect = "http://127.0.0.1:53997/callback"
client = httpx.post(issuer + "/register", json={"client_name": "bench codes", "redirect_uris": [redirect],
                                                "token_endpoint_auth_method": "none"}).json()
verifier = secrets.token_urlsafe(48)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
url = str(httpx.URL(issuer + "/authorize", params={
    "response_type": "code", "client_id": client["client_id"], "redirect_uri": redirect,
    "code_challenge": challenge, "code_challenge_method": "S256", "resource": resource}))


def mint(share: int) -> list[str]:
    codes = []
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        for _ in range(share):
            login = sign_in(url, redirect, username, password, client=browser)
            assert login.code, (login.last_status, login.last_body[:300])
            codes.append(login.code)
    return codes


shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
with ThreadPoolExecutor(threads) as pool:
    codes = [code for part in pool.map(mint, shares) for code in part]
print(json.dumps({"client_id": client["client_id"], "redirect_uri": redirect, "code_verifier": verifier, "codes": codes}))
