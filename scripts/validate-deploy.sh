#!/usr/bin/env bash
# Validates everything under deploy/ that can be validated without a Docker engine, a cluster
# or a Fly account. One line per check (PASS / FAIL / SKIP with the reason), then a final line
# "N passed, M failed". Exits 1 if any check failed; a SKIP is never counted as passed.
#
# Tools that are missing are installed from Debian's packages when possible: as root directly,
# otherwise through `sudo -n` if that works without a password; if neither, the check SKIPs.
#
# Usage: scripts/validate-deploy.sh
set -uo pipefail
# nginx lives in /usr/sbin, which a non-root PATH often lacks.
export PATH="$PATH:/usr/sbin:/sbin"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$ROOT/deploy"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/validate-deploy.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

passed=0 failed=0 skipped=0

pass() { passed=$((passed + 1)); echo "PASS  $1"; }
skip() { skipped=$((skipped + 1)); echo "SKIP  $1 -- $2"; }
fail() {
    failed=$((failed + 1)); echo "FAIL  $1"
    if [ -s "$WORK/out" ]; then sed -e 's/^/      | /' "$WORK/out" | head -40; fi
}
# check NAME COMMAND...: PASS when COMMAND exits 0; on failure, show what it printed.
check() {
    local name="$1"; shift
    if "$@" >"$WORK/out" 2>&1; then pass "$name"; else fail "$name"; fi
}

# ------------------------------------------------------------------ privileges and packages
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    SUDO=(none)
fi
apt_updated=no
# apt_install PACKAGE...: install from Debian's packages if we may (root or passwordless sudo).
apt_install() {
    [ "${SUDO[*]-}" = none ] && return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ "$apt_updated" = no ]; then
        "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1 || return 1
        apt_updated=yes
    fi
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" \
        >"$WORK/apt.log" 2>&1
}
# ensure_cmd COMMAND PACKAGE: succeed if COMMAND is on PATH, installing PACKAGE if it is not.
ensure_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    apt_install "$2" && command -v "$1" >/dev/null 2>&1
}
why_missing() {
    if [ "${SUDO[*]-}" = none ]; then echo "$1 not installed and cannot install (not root, no passwordless sudo)"
    else echo "$1 not installed and apt-get install $2 failed"; fi
}

# A Python with PyYAML and tomllib (3.11+): the one on PATH, else Debian's.
PY=""
for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import yaml, tomllib' >/dev/null 2>&1; then PY="$candidate"; break; fi
done
if [ -z "$PY" ] && apt_install python3 python3-yaml && /usr/bin/python3 -c 'import yaml, tomllib' 2>/dev/null; then
    PY=/usr/bin/python3
fi
if [ -z "$PY" ]; then
    echo "FAIL  python3 with PyYAML and tomllib (3.11+) is required and could not be found or installed"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "using $PY ($("$PY" --version 2>&1)), running as uid $(id -u)"

# ------------------------------------------------------------------ syntax: YAML and TOML
while IFS= read -r f; do
    check "yaml parses: ${f#"$ROOT"/}" "$PY" -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f"
done < <(find "$DEPLOY" -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
while IFS= read -r f; do
    check "toml parses: ${f#"$ROOT"/}" "$PY" -c 'import sys, tomllib; tomllib.load(open(sys.argv[1], "rb"))' "$f"
done < <(find "$DEPLOY" -type f -name '*.toml' | sort)

# ------------------------------------------------------------------ container
check "Dockerfile: multi-stage, swift build of both products, slim runtime, non-root USER" \
    "$PY" "$DEPLOY/container/check_container.py" dockerfile
check "compose.yaml: postgres, migrate one-shot, authserver, resourceserver, KEK secret, /readyz" \
    "$PY" "$DEPLOY/container/check_container.py" compose
check "container checks detect deliberate breakage (self-test)" \
    "$PY" "$DEPLOY/container/check_container.py" --self-test
check "root .dockerignore matches deploy/container/Dockerfile.dockerignore" \
    cmp "$ROOT/.dockerignore" "$DEPLOY/container/Dockerfile.dockerignore"
skip "docker build / docker compose config" "no Docker engine or compose plugin on this machine"

# ------------------------------------------------------------------ kubernetes
check "kubernetes manifests: fields, probes, replicas, resources, non-root, kustomization list" \
    "$PY" "$DEPLOY/kubernetes/check_manifests.py"
check "kubernetes checks detect deliberate breakage (self-test)" \
    "$PY" "$DEPLOY/kubernetes/check_manifests.py" --self-test
kustomize_build() {
    if command -v kubectl >/dev/null 2>&1; then kubectl kustomize "$DEPLOY/kubernetes" -o "$WORK/rendered.yaml"
    else kustomize build "$DEPLOY/kubernetes" -o "$WORK/rendered.yaml"; fi
}
if command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1; then
    check "kustomize build of deploy/kubernetes" kustomize_build
    if [ -s "$WORK/rendered.yaml" ]; then
        check "rendered kustomize output passes the manifest checks" \
            "$PY" "$DEPLOY/kubernetes/check_manifests.py" "$WORK/rendered.yaml"
    fi
else
    skip "kustomize build" "neither kubectl nor kustomize is installed (neither is in Debian bookworm at a usable version)"
fi
skip "server-side dry run of the manifests" "no Kubernetes API server reachable from this machine"

# ------------------------------------------------------------------ fly
check "fly.toml (auth, resource): ports, /readyz checks, release_command, no secrets in env" \
    "$PY" "$DEPLOY/fly/check_fly.py"
check "fly checks detect deliberate breakage (self-test)" "$PY" "$DEPLOY/fly/check_fly.py" --self-test

# ------------------------------------------------------------------ systemd
if ensure_cmd systemd-analyze systemd; then
    # verify needs ExecStart to exist: point the units at stub executables in a temp dir.
    mkdir -p "$WORK/units" "$WORK/bin"
    for b in AuthServer ResourceServer; do printf '#!/bin/sh\nexit 0\n' >"$WORK/bin/$b"; chmod +x "$WORK/bin/$b"; done
    for unit in gatehouse-auth gatehouse-resource; do
        sed "s#/usr/local/bin/#$WORK/bin/#g" "$DEPLOY/systemd/$unit.service" >"$WORK/units/$unit.service"
    done
    verify_units() {
        # systemd-analyze verify exits 0 on unknown keys; treat any message as a failure.
        ( cd "$WORK/units" && systemd-analyze verify ./gatehouse-auth.service ./gatehouse-resource.service ) \
            >"$WORK/verify.out" 2>&1
        local rc=$?; cat "$WORK/verify.out"; [ $rc -eq 0 ] && [ ! -s "$WORK/verify.out" ]
    }
    check "systemd-analyze verify gatehouse-auth.service gatehouse-resource.service" verify_units
    for unit in gatehouse-auth gatehouse-resource; do
        # --threshold is in tenths: 20 = exposure 2.0 ("OK" band), fails above it.
        check "systemd-analyze security $unit.service: exposure <= 2.0" \
            systemd-analyze security --offline=yes --threshold=20 "$WORK/units/$unit.service"
    done
else
    skip "systemd-analyze verify/security" "$(why_missing systemd-analyze systemd)"
fi
if ensure_cmd shellcheck shellcheck; then
    check "shellcheck deploy/systemd/gatehouse-admin scripts/validate-deploy.sh" \
        shellcheck "$DEPLOY/systemd/gatehouse-admin" "$ROOT/scripts/validate-deploy.sh"
else
    skip "shellcheck" "$(why_missing shellcheck shellcheck)"
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
    check "bash -n deploy/systemd/gatehouse-admin scripts/validate-deploy.sh (syntax only)" \
        bash -c 'bash -n "$1" && bash -n "$2"' _ "$DEPLOY/systemd/gatehouse-admin" "$ROOT/scripts/validate-deploy.sh"
fi

# ------------------------------------------------------------------ reverse proxies
streaming_settings() {
    "$PY" - "$DEPLOY/systemd/nginx.conf" "$DEPLOY/systemd/Caddyfile" <<'EOF'
import re, sys
nginx, caddy = (open(p).read() for p in sys.argv[1:3])
problems = []
# nginx: the server block for the MCP host must not buffer and must overwrite X-Forwarded-For.
blocks = re.split(r"\n\s*server\s*\{", nginx)
mcp = [b for b in blocks if re.search(r"server_name\s+mcp\.", b) and "listen 443" in b]
auth = [b for b in blocks if re.search(r"server_name\s+auth\.", b) and "listen 443" in b]
for b in mcp:
    for d in ("proxy_buffering off;", "proxy_cache off;", "proxy_read_timeout"):
        if d not in b: problems.append(f"nginx MCP server lacks {d}")
for b in mcp + auth:
    if "proxy_set_header X-Forwarded-For $remote_addr;" not in b:
        problems.append("nginx server does not set X-Forwarded-For to $remote_addr")
if len(mcp) != 1 or len(auth) != 1:
    problems.append(f"nginx: expected one TLS server each for auth. and mcp., found {len(auth)} and {len(mcp)}")
# Caddy: the MCP site flushes immediately and is not compressed.
site = caddy[caddy.find("\nmcp."):]
if "flush_interval -1" not in site: problems.append("Caddyfile MCP site lacks flush_interval -1")
if "encode" in site: problems.append("Caddyfile MCP site compresses responses (buffers streams)")
print("\n".join(problems)); sys.exit(1 if problems else 0)
EOF
}
check "proxy configs: MCP host unbuffered with long reads, X-Forwarded-For set by the proxy" streaming_settings

# /metrics must be blocked as a prefix: `location = /metrics` let /metrics/ (and /METRICS) through.
metrics_blocks() {
    "$PY" - "$DEPLOY/systemd/nginx.conf" "$DEPLOY/systemd/Caddyfile" <<'EOF'
import re, sys
nginx, caddy = (open(p).read() for p in sys.argv[1:3])
problems = []
blocked = ["/metrics", "/metrics/", "/metrics//", "/METRICS", "/Metrics/x", "/metrics.txt"]
passed = ["/mcp", "/.well-known/oauth-protected-resource/mcp", "/authorize", "/", "/jwks.json"]
blocks = re.split(r"\n\s*server\s*\{", nginx)
for name in ("auth.", "mcp."):
    for b in [b for b in blocks if re.search(r"server_name\s+" + re.escape(name), b) and "listen 443" in b]:
        if re.search(r"location\s*=\s*/metrics", b):
            problems.append(f"nginx {name} server still has an exact `location = /metrics`")
        m = re.search(r"location\s+~\*\s+(\S+)\s*\{\s*return\s+404;", b)
        if not m:
            problems.append(f"nginx {name} server has no case-insensitive regex location returning 404")
            continue
        # nginx matches the decoded URI with merged slashes (merge_slashes on), case-insensitively.
        rx = re.compile(m.group(1), re.IGNORECASE)
        problems += [f"nginx {name}: {p} not blocked" for p in blocked if not rx.search(re.sub("/+", "/", p))]
        problems += [f"nginx {name}: {p} blocked" for p in passed if rx.search(p)]
# Caddy: path_regexp (RE2; this one is also valid Python), slashes not merged.
m = re.search(r"@metrics\s+path_regexp\s+(\S+)\s*\n\s*respond\s+@metrics\s+404", caddy)
if not m:
    problems.append("Caddyfile: no `@metrics path_regexp ...` answered with `respond @metrics 404`")
else:
    rx = re.compile(m.group(1))
    problems += [f"Caddyfile: {p} not blocked" for p in blocked + ["//metrics", "///METRICS/"] if not rx.search(p)]
    problems += [f"Caddyfile: {p} blocked" for p in passed if rx.search(p)]
if caddy.count("import gatehouse_common") != 2:
    problems.append("Caddyfile: both sites must import gatehouse_common (the /metrics block)")
print("\n".join(problems)); sys.exit(1 if problems else 0)
EOF
}
check "proxy configs block the whole /metrics prefix (any case, trailing and doubled slashes)" metrics_blocks

if ensure_cmd nginx nginx-light || ensure_cmd nginx nginx; then
    # Test copy: self-signed certificates for both hosts, pid and logs in the temp dir.
    mkdir -p "$WORK/nginx/logs"
    for host in auth.example.com mcp.example.com; do
        mkdir -p "$WORK/nginx/certs/$host"
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$host" \
            -keyout "$WORK/nginx/certs/$host/privkey.pem" -out "$WORK/nginx/certs/$host/fullchain.pem" \
            >/dev/null 2>&1
    done
    # nginx -t binds the listen addresses: move 80/443 to free loopback ports so the test
    # needs no privilege and cannot clash with a running server.
    read -r http_port https_port < <("$PY" -c 'import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
    sed -e "s#/etc/letsencrypt/live/#$WORK/nginx/certs/#g" \
        -e "s#^pid .*#pid $WORK/nginx/nginx.pid;#" \
        -e "s#/var/log/nginx/#$WORK/nginx/logs/#g" \
        -e "s#listen 80;#listen 127.0.0.1:$http_port;#; s#listen \[::\]:80;#listen 127.0.0.2:$http_port;#" \
        -e "s#listen 443 #listen 127.0.0.1:$https_port #; s#listen \[::\]:443 #listen 127.0.0.2:$https_port #" \
        "$DEPLOY/systemd/nginx.conf" >"$WORK/nginx/nginx.conf"
    if [ "$(id -u)" -ne 0 ]; then sed -i '/^user /d' "$WORK/nginx/nginx.conf"; fi
    check "nginx -t on deploy/systemd/nginx.conf (self-signed test certificates)" \
        nginx -t -q -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx/nginx.conf"
    # Live: run that nginx against a stub upstream (every path 200 "upstream") and ask for
    # /metrics spelled every way a client can; none may reach the upstream.
    nginx_metrics_live() {
        local stub_port stub_pid nginx_ok=1 failures=0 host path code
        stub_port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        "$PY" -c 'import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "8"); self.end_headers(); self.wfile.write(b"upstream")
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$stub_port" &
        stub_pid=$!
        sed -e "s#server 127.0.0.1:9000;#server 127.0.0.1:$stub_port;#; s#server 127.0.0.1:8000;#server 127.0.0.1:$stub_port;#" \
            -e "s#^pid .*#pid $WORK/nginx/live.pid;#" "$WORK/nginx/nginx.conf" >"$WORK/nginx/live.conf"
        nginx -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx/live.conf" || nginx_ok=0
        for _ in $(seq 1 50); do
            curl -s -o /dev/null "http://127.0.0.1:$stub_port/" && [ -s "$WORK/nginx/live.pid" ] && break
            sleep 0.1
        done
        if [ "$nginx_ok" -eq 1 ]; then
            for host in auth.example.com mcp.example.com; do
                for path in /metrics /metrics/ //metrics /metrics// /METRICS /Metrics/x '/metrics?x' /%6detrics /./metrics; do
                    code=$(curl -sk --path-as-is -o "$WORK/body" -w '%{http_code}' \
                        --resolve "$host:$https_port:127.0.0.1" "https://$host:$https_port$path")
                    if [ "$code" != 404 ] || grep -q upstream "$WORK/body"; then
                        echo "$host$path answered $code"; failures=$((failures + 1))
                    fi
                done
                code=$(curl -sk -o /dev/null -w '%{http_code}' --resolve "$host:$https_port:127.0.0.1" "https://$host:$https_port/mcp")
                [ "$code" = 200 ] || { echo "$host/mcp answered $code, not the upstream's 200"; failures=$((failures + 1)); }
            done
            kill "$(cat "$WORK/nginx/live.pid")" 2>/dev/null
        fi
        kill "$stub_pid" 2>/dev/null; wait "$stub_pid" 2>/dev/null
        [ "$nginx_ok" -eq 1 ] && [ "$failures" -eq 0 ]
    }
    if command -v curl >/dev/null 2>&1; then
        check "nginx (running) answers 404 to /metrics in every spelling, proxies /mcp" nginx_metrics_live
    else
        skip "nginx /metrics live check" "curl is not installed"
    fi
else
    skip "nginx -t" "$(why_missing nginx nginx-light)"
fi

if ensure_cmd caddy caddy; then
    caddy_env=(env HOME="$WORK/caddy" XDG_DATA_HOME="$WORK/caddy/data" XDG_CONFIG_HOME="$WORK/caddy/config")
    mkdir -p "$WORK/caddy"
    caddy_validate() {
        "${caddy_env[@]}" caddy validate --config "$DEPLOY/systemd/Caddyfile" --adapter caddyfile \
            >"$WORK/caddy.out" 2>&1
        local rc=$?; cat "$WORK/caddy.out"
        # The adapter reports doubtful directives as warnings and still exits 0: count them too.
        [ $rc -eq 0 ] && ! grep -q '"level":"warn"' "$WORK/caddy.out"
    }
    check "caddy validate deploy/systemd/Caddyfile (no warnings)" caddy_validate
    caddy_fmt() { "${caddy_env[@]}" caddy fmt "$DEPLOY/systemd/Caddyfile" | diff -u "$DEPLOY/systemd/Caddyfile" -; }
    check "caddy fmt leaves deploy/systemd/Caddyfile unchanged" caddy_fmt
else
    skip "caddy validate" "$(why_missing caddy caddy)"
fi

skip "fly deploy / fly config validate" "flyctl is not in Debian or PyPI, and Fly's API is unreachable"

echo "$skipped skipped (not counted as passed)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
