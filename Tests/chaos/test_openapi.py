"""Scenario 8, in part, short: schemathesis against both services with docs/openapi.yaml.

The bar (issue 14, "Hostile input"): zero 5xx, and every response matching the document. Each
operation gets `GATEHOUSE_CHAOS_SCHEMATHESIS_EXAMPLES` generated cases (25 in `make test`), valid
and invalid, in schemathesis's examples, coverage and fuzzing phases; the checks are

- `not_a_server_error`: no 5xx (the only documented 503 is "database unreachable", not induced here);
- `status_code_conformance`: the status is one the operation documents;
- `content_type_conformance`: the Content-Type is one documented for that status;
- `response_headers_conformance`: headers the document marks required (`WWW-Authenticate` on
  bearer 401s, `Retry-After` on 503/429, `Location` on 303, `Allow` on 405) are present and match;
- `response_schema_conformance`: the body validates against the documented schema.

The AuthServer operations (tag `authserver`) run against the AuthServer, the ResourceServer ones
(tag `resourceserver`) against the ResourceServer. The operations with the `bearer` security
scheme (/mcp, /userinfo) get a real access token (from `tokens_for`, audience the MCP resource), so
the MCP endpoint's authenticated paths (the document's example calls: tools/list, tools/call,
initialize, ping; the JSON-RPC envelope; Accept/Content-Type) are exercised as well as its
refusals. The sign-in, consent and account forms get no session or CSRF token: only their error
paths are exercised (which must still never be a 5xx).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from chaos import report, stack_on_private_postgres
from gatehouse import ROOT, tokens_for

DOCUMENT = os.path.join(ROOT, "docs", "openapi.yaml")
EXAMPLES = int(os.environ.get("GATEHOUSE_CHAOS_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance"]
REDIRECT = "http://127.0.0.1:9/callback"
SEED = int(os.environ.get("GATEHOUSE_CHAOS_SCHEMATHESIS_SEED", "14"))


def schemathesis(base_url: str, tag: str, logdir: str, token: str, timeout: float) -> dict:
    """One `st run` over the operations of `tag`; its JSON report and output, parsed into figures.
    The token goes only to the operations that declare the `bearer` security scheme (/userinfo,
    /mcp), through the config file's `[auth.openapi.bearer]`, read from the environment."""
    st = os.path.join(os.path.dirname(sys.executable), "st")
    report_path = os.path.join(logdir, f"schemathesis-{tag}.json")
    ndjson_path = os.path.join(logdir, f"schemathesis-{tag}.ndjson")
    config_path = os.path.join(logdir, "schemathesis.toml")
    with open(config_path, "w") as config:
        config.write('[auth.openapi.bearer]\nbearer = "${GATEHOUSE_SCHEMATHESIS_TOKEN}"\n')
    args = [st, "--config-file", config_path, "run", DOCUMENT, "--url", base_url, "--include-tag", tag,
            "--checks", ",".join(CHECKS), "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "2", "--request-timeout", "10",
            "--phases", "examples,coverage,fuzzing", "--generation-database", "none", "--no-color",
            "--suppress-health-check", "all", "--continue-on-failure",
            "--report", "json,ndjson", "--report-json-path", report_path, "--report-ndjson-path", ndjson_path]
    started = time.monotonic()
    # In the log directory: schemathesis keeps a `.schemathesis/` cache in its working directory.
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=logdir,
                       env=dict(os.environ, NO_COLOR="1", GATEHOUSE_SCHEMATHESIS_TOKEN=token))
    with open(os.path.join(logdir, f"schemathesis-{tag}.out"), "w") as out:
        out.write(r.stdout + r.stderr)
    figures = summarize(ndjson_path)
    figures["seconds"] = round(time.monotonic() - started, 1)
    figures["exit"] = r.returncode
    figures["output"] = r.stdout[-6000:] + r.stderr[-2000:]
    return figures


def summarize(ndjson_path: str) -> dict:
    """Operations, requests, statuses and failures by check, from schemathesis's event stream."""
    operations: set[str] = set()
    statuses: dict[str, int] = {}
    failures: dict[str, int] = {}
    errors: list[str] = []
    requests = 0
    with open(ndjson_path) as events:
        for line in events:
            event = json.loads(line)
            kind, body = next(iter(event.items()))
            if kind == "ScenarioFinished" and body.get("recorder"):
                recorder = body["recorder"]
                label = recorder.get("label") or body.get("label")
                if label:
                    operations.add(label)
                for interactions in recorder.get("interactions", {}).values():
                    response = (interactions or {}).get("response")
                    if response is None:
                        continue
                    requests += 1
                    key = str(response.get("status_code"))
                    statuses[key] = statuses.get(key, 0) + 1
                for check_list in recorder.get("checks", {}).values():
                    for check in check_list:
                        if check.get("status") != "success":
                            failures[check["name"]] = failures.get(check["name"], 0) + 1
            elif kind == "NonFatalError":
                errors.append(str(body.get("info", body))[:300])
    return {"operations": len(operations), "requests": requests, "statuses": statuses,
            "failures_by_check": failures, "errors": errors[:5]}


@pytest.fixture
def stack(logdir):
    with stack_on_private_postgres("openapi", logdir) as pair:
        yield pair


@pytest.mark.short
def test_openapi_document_and_schemathesis(stack):
    _, d = stack
    username, password = d.create_user()
    token = tokens_for(d.issuer, d.mcp_url, username, password, REDIRECT, scope="openid notes:read notes:write",
                       client_name="schemathesis")["access_token"]
    resource_origin = d.mcp_url.rsplit("/mcp", 1)[0]
    budget = 75 if EXAMPLES <= 25 else 60 + EXAMPLES * 3
    auth = schemathesis(d.issuer, "authserver", _logdir(d), token, budget)
    resource = schemathesis(resource_origin, "resourceserver", _logdir(d), token, budget)
    figures = {}
    for name, run in (("authserver", auth), ("resourceserver", resource)):
        figures[name] = {k: v for k, v in run.items() if k != "output"}
    report("openapi", examples=EXAMPLES, checks=CHECKS, **figures)
    for name, run in (("authserver", auth), ("resourceserver", resource)):
        five_xx = {s: n for s, n in run["statuses"].items() if s.startswith("5")}
        assert not five_xx, f"{name}: 5xx answers {five_xx}\n{run['output']}"
        assert not run["failures_by_check"], f"{name}: {run['failures_by_check']}\n{run['output']}"
        assert run["exit"] == 0, f"{name}: schemathesis exited {run['exit']}\n{run['output']}"
        assert run["requests"] > 0 and run["operations"] > 0, f"{name}: nothing was tested\n{run['output']}"


def _logdir(d) -> str:
    return os.path.dirname(d.services[0].log_path)
