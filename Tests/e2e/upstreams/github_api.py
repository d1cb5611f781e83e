"""A small loopback server answering in GitHub's shapes, for the GitHub-type identity provider
(issue 12): the OAuth web flow at `/login/oauth/authorize` and `/login/oauth/access_token`, and
the REST API's `/user`, `/user/emails` and `/user/orgs` (https://docs.github.com/en/rest).

The authorize step signs the configured person in at once (as a GitHub user who already approved
the app) and redirects to the `redirect_uri` with `code` and `state`. The token step checks the
client id and secret, the code, the redirect URI and the PKCE verifier, and, like GitHub, answers a
refused code with HTTP 200 and an `error` member. The API checks the bearer token.

    server = GitHubAPI(client_id="Iv1.e2e", client_secret="...", user={"id": 583231, "login": "octocat", ...})
    server.start(); ... server.url ...; server.stop()
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse


class GitHubAPI:
    def __init__(self, client_id: str, client_secret: str, user: dict, emails: list[dict], orgs: list[str]):
        self.client_id, self.client_secret = client_id, client_secret
        self.user, self.emails, self.orgs = user, emails, orgs
        self.codes: dict[str, dict] = {}
        self.tokens: set[str] = set()
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: dict | list | None = None, location: str | None = None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                api.requests.append(f"GET {url.path}")
                if url.path == "/login/oauth/authorize":
                    if q.get("client_id") != api.client_id or q.get("code_challenge_method") != "S256":
                        return self._send(400, {"error": "bad authorize request"})
                    code = secrets.token_hex(10)
                    api.codes[code] = {"redirect_uri": q.get("redirect_uri"), "challenge": q.get("code_challenge")}
                    return self._send(302, location=q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")}))
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if token not in api.tokens:
                    return self._send(401, {"message": "Bad credentials"})
                if url.path == "/user":
                    return self._send(200, api.user)
                if url.path == "/user/emails":
                    return self._send(200, api.emails)
                if url.path == "/user/orgs":
                    return self._send(200, [{"login": org, "id": i + 1} for i, org in enumerate(api.orgs)])
                return self._send(404, {"message": "Not Found"})

            def do_POST(self):  # noqa: N802
                url = urlparse(self.path)
                api.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if url.path != "/login/oauth/access_token":
                    return self._send(404, {"message": "Not Found"})
                if self.headers.get("Accept") != "application/json":
                    return self._send(406, {"error": "this test server answers JSON only"})
                if form.get("client_id") != api.client_id or form.get("client_secret") != api.client_secret:
                    return self._send(200, {"error": "incorrect_client_credentials"})
                issued = api.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not issued or issued["redirect_uri"] != form.get("redirect_uri") or issued["challenge"] != challenge:
                    return self._send(200, {"error": "bad_verification_code"})
                token = "gho_" + secrets.token_hex(16)
                api.tokens.add(token)
                return self._send(200, {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})

            def log_message(self, *args):
                pass

        return Handler
