#!/usr/bin/env python3
"""Checks for the two fly.toml files (flyctl itself is not installable here).

Usage:
  check_fly.py                 check deploy/fly/auth/fly.toml and deploy/fly/resource/fly.toml
  check_fly.py --self-test     break them on purpose; every break must be reported

Each file must parse as TOML; the service must listen where the health check and the proxy
look; the AS must migrate as its release command; no secret may sit in [env].
Prints one line per problem and exits 1 if there is any.
"""
import copy
import pathlib
import sys
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
# folder: (process command, host variable, port variable, needs release_command)
EXPECTED = {
    "auth": ("AuthServer serve", "GATEHOUSE_AUTH_HOST", "GATEHOUSE_AUTH_PORT", True),
    "resource": ("ResourceServer serve", "GATEHOUSE_RS_HOST", "GATEHOUSE_RS_PORT", False),
}
SECRETS = ("DATABASE_URL", "GATEHOUSE_KEK", "GATEHOUSE_KEK_FILE")


def check(kind, cfg):
    errors = []
    command, host_var, port_var, migrates = EXPECTED[kind]
    where = f"{kind}/fly.toml"
    if not cfg.get("app"):
        errors.append(f"{where}: app is missing")
    dockerfile = HERE / kind / ((cfg.get("build") or {}).get("dockerfile") or "")
    if not dockerfile.is_file():
        errors.append(f"{where}: build.dockerfile does not name an existing file (relative to fly.toml)")
    if (cfg.get("processes") or {}).get("app") != command:
        errors.append(f"{where}: processes.app must be {command!r}")
    release = (cfg.get("deploy") or {}).get("release_command")
    if migrates and release != "AuthServer migrate":
        errors.append(f"{where}: release_command must be 'AuthServer migrate'")
    env = cfg.get("env") or {}
    if env.get(host_var) != "0.0.0.0":
        errors.append(f"{where}: env.{host_var} must be 0.0.0.0")
    for key in SECRETS:
        if key in env:
            errors.append(f"{where}: {key} belongs in `fly secrets set`, not [env]")
    issuer = env.get("GATEHOUSE_ISSUER", "")
    if not issuer.startswith("https://") or issuer.endswith("/"):
        errors.append(f"{where}: GATEHOUSE_ISSUER must be https without a trailing slash")
    service = cfg.get("http_service") or {}
    port = service.get("internal_port")
    if str(port) != str(env.get(port_var)):
        errors.append(f"{where}: http_service.internal_port {port} differs from env.{port_var}")
    if "app" not in (service.get("processes") or ["app"]):
        errors.append(f"{where}: http_service must serve the app process")
    checks = service.get("checks") or []
    if not any(c.get("path") == "/readyz" and c.get("method", "GET").upper() == "GET" for c in checks):
        errors.append(f"{where}: http_service needs a GET /readyz check")
    if (service.get("min_machines_running") or 0) < 2:
        errors.append(f"{where}: min_machines_running should be >= 2")
    if service.get("force_https") is not True:
        errors.append(f"{where}: force_https must be true")
    return errors


def load_all():
    return {kind: tomllib.loads((HERE / kind / "fly.toml").read_text()) for kind in EXPECTED}


def self_test():
    good = load_all()
    if any(check(k, c) for k, c in good.items()):
        print("self-test: the committed files do not pass; fix them first")
        return 1
    breaks = {
        "no release_command": ("auth", lambda c: c["deploy"].pop("release_command")),
        "wrong port": ("resource", lambda c: c["http_service"].__setitem__("internal_port", 9000)),
        "check on /": ("auth", lambda c: c["http_service"]["checks"][0].__setitem__("path", "/")),
        "secret in env": ("auth", lambda c: c["env"].__setitem__("GATEHOUSE_KEK", "x")),
        "loopback host": ("resource", lambda c: c["env"].__setitem__("GATEHOUSE_RS_HOST", "127.0.0.1")),
        "issuer slash": ("auth", lambda c: c["env"].__setitem__("GATEHOUSE_ISSUER", "https://a.example.com/")),
        "wrong binary": ("resource", lambda c: c["processes"].__setitem__("app", "AuthServer serve")),
        "bad dockerfile": ("auth", lambda c: c["build"].__setitem__("dockerfile", "Dockerfile")),
    }
    missed = []
    for label, (kind, mutate) in breaks.items():
        cfg = copy.deepcopy(good[kind])
        mutate(cfg)
        if not check(kind, cfg):
            missed.append(label)
            print(f"self-test: breakage '{label}' was NOT detected")
    print(f"self-test: {len(breaks) - len(missed)}/{len(breaks)} deliberate breakages detected")
    return 1 if missed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    errors = []
    for kind in EXPECTED:
        try:
            cfg = tomllib.loads((HERE / kind / "fly.toml").read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            errors.append(f"{kind}/fly.toml: {e}")
            continue
        errors += check(kind, cfg)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
