#!/usr/bin/env python3
"""Static checks for deploy/container: the Dockerfile and compose.yaml (no Docker engine needed).

Usage:
  check_container.py dockerfile [PATH]   stages, non-root final USER, what the runtime holds
  check_container.py compose [PATH]      services, migrate ordering, KEK secret, health checks
  check_container.py --self-test         break known-good files on purpose; every break must
                                         be reported (proves the checks can fail)

Prints one line per problem and exits 1 if there is any.
"""
import pathlib
import re
import shlex
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent


# ---------------------------------------------------------------------------- Dockerfile
def dockerfile_instructions(text):
    """(instruction, arguments) pairs, with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    if pending:
        out.append(("<UNTERMINATED>", pending))
    return out


def check_dockerfile(text):
    errors, stages, args = [], [], {}
    for word, rest in dockerfile_instructions(text):
        if word == "<UNTERMINATED>":
            errors.append("a line continuation runs off the end of the file")
        elif word == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif word == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            if not m:
                errors.append(f"cannot parse FROM {rest!r}")
                continue
            image = re.sub(r"\$\{(\w+)\}", lambda v: args.get(v.group(1), v.group(0)), m.group(1))
            stages.append({"image": image, "name": (m.group(2) or "").lower(), "body": []})
        elif not stages:
            errors.append(f"{word} before the first FROM")
        else:
            stages[-1]["body"].append((word, rest))
    if len(stages) < 2:
        return errors + [f"expected a multi-stage build, found {len(stages)} stage(s)"]
    names = [s["name"] for s in stages]
    build, final = stages[0], stages[-1]
    if not build["image"].startswith("swift:"):
        errors.append(f"build stage should be a swift image, is {build['image']}")
    if not final["image"].startswith("debian:") or "slim" not in final["image"]:
        errors.append(f"runtime stage should be debian:*-slim, is {final['image']}")
    build_runs = " ".join(r for w, r in build["body"] if w == "RUN")
    for product in ("AuthServer", "ResourceServer"):
        if not re.search(rf"swift build [^;&]*--product {product}", build_runs):
            errors.append(f"build stage never runs swift build --product {product}")
    if "--static-swift-stdlib" not in build_runs:
        errors.append("build stage does not link the Swift runtime statically (--static-swift-stdlib)")

    users = [r for w, r in final["body"] if w == "USER"]
    if not users:
        errors.append("final stage has no USER: it would run as root")
    else:
        user = users[-1].split(":")[0]
        if user in ("root", "0"):
            errors.append(f"final stage runs as {users[-1]}")
        elif not user.isdigit():
            errors.append(f"final USER {user} should be numeric so runAsNonRoot can verify it")
    for w, r in final["body"]:
        if w == "COPY":
            m = re.search(r"--from=(\S+)", r)
            if not m:
                errors.append(f"final stage copies from the build context ({r}); it should hold only build output")
            elif m.group(1).lower() not in names[:-1]:
                errors.append(f"COPY --from={m.group(1)} names no earlier stage")
        if w == "ADD":
            errors.append(f"final stage uses ADD ({r}); use COPY --from")
    runtime_runs = " ".join(r for w, r in final["body"] if w == "RUN")
    for pkg in ("libssl3", "libcurl4", "ca-certificates", "tzdata"):
        if not re.search(rf"\b{re.escape(pkg)}\b", runtime_runs):
            errors.append(f"runtime stage does not install {pkg}")
    env = " ".join(r for w, r in final["body"] if w == "ENV")
    for var in ("GATEHOUSE_AUTH_HOST", "GATEHOUSE_RS_HOST"):
        if f"{var}=0.0.0.0" not in env:
            errors.append(f"runtime stage must set {var}=0.0.0.0")
    return errors


# ---------------------------------------------------------------------------- compose
def command_of(service):
    cmd = service.get("command")
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd or [])


def check_compose(doc):
    errors = []
    services = (doc or {}).get("services") or {}
    for name in ("postgres", "migrate", "authserver", "resourceserver"):
        if name not in services:
            errors.append(f"service {name} is missing")
    if errors:
        return errors
    if not str(services["postgres"].get("image", "")).startswith("postgres:16"):
        errors.append("postgres should run image postgres:16")
    if "healthcheck" not in services["postgres"]:
        errors.append("postgres needs a healthcheck so migrate can wait for it")
    if command_of(services["migrate"]) != ["AuthServer", "migrate"]:
        errors.append(f"migrate must run [AuthServer, migrate], runs {command_of(services['migrate'])}")
    if (services["migrate"].get("restart") or "no") != "no":
        errors.append("migrate is a one-shot: restart must be \"no\"")
    if ((services["migrate"].get("depends_on") or {}).get("postgres") or {}).get("condition") != "service_healthy":
        errors.append("migrate must wait for postgres: service_healthy")
    expected = {"authserver": ("AuthServer", "GATEHOUSE_AUTH_HOST", "9000"),
                "resourceserver": ("ResourceServer", "GATEHOUSE_RS_HOST", "8000")}
    for name, (binary, host_var, port) in expected.items():
        svc = services[name]
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        if command_of(svc)[:1] != [binary]:
            errors.append(f"{name} must run {binary}")
        if env.get(host_var) != "0.0.0.0":
            errors.append(f"{name}: {host_var} must be 0.0.0.0 in a container")
        if "DATABASE_URL" not in env:
            errors.append(f"{name}: DATABASE_URL is not set")
        cond = ((svc.get("depends_on") or {}).get("migrate") or {}).get("condition")
        if cond != "service_completed_successfully":
            errors.append(f"{name} must depend on migrate with service_completed_successfully")
        test = " ".join(((svc.get("healthcheck") or {}).get("test")) or [])
        if f"/{port}" not in test or "/readyz" not in test:
            errors.append(f"{name}: healthcheck must GET /readyz on port {port}")
        if any(not str(p).startswith("127.0.0.1:") for p in svc.get("ports") or []):
            errors.append(f"{name}: publish on 127.0.0.1 only (the TLS proxy is in front)")
        if svc.get("read_only") is not True:
            errors.append(f"{name}: read_only root filesystem expected")
    auth_env = services["authserver"].get("environment") or {}
    if "GATEHOUSE_KEK" in auth_env:
        errors.append("authserver: pass the KEK as a secret file (GATEHOUSE_KEK_FILE), not GATEHOUSE_KEK")
    if auth_env.get("GATEHOUSE_KEK_FILE") != "/run/secrets/kek" or "kek" not in (services["authserver"].get("secrets") or []):
        errors.append("authserver: GATEHOUSE_KEK_FILE must be /run/secrets/kek from secret kek")
    if not (((doc.get("secrets") or {}).get("kek")) or {}).get("file"):
        errors.append("top-level secret kek must come from a file")
    return errors


# ---------------------------------------------------------------------------- self-test
def self_test():
    dockerfile = (HERE / "Dockerfile").read_text()
    compose = (HERE / "compose.yaml").read_text()
    if check_dockerfile(dockerfile) or check_compose(yaml.safe_load(compose)):
        print("self-test: the committed files do not pass; fix them first")
        return 1
    docker_breaks = {
        "USER root": lambda t: t.replace("USER 10001:10001", "USER root"),
        "no USER": lambda t: re.sub(r"(?m)^USER .*$", "", t),
        "single stage": lambda t: t[t.index("FROM ${RUNTIME_IMAGE}"):],
        "runtime not slim": lambda t: t.replace("RUNTIME_IMAGE=debian:bookworm-slim", "RUNTIME_IMAGE=debian:bookworm"),
        "no libssl3": lambda t: t.replace(" libssl3 ", " "),
        "no libcurl4": lambda t: t.replace(" libcurl4 ", " "),
        "copy from context": lambda t: t.replace("COPY --from=build ", "COPY "),
        "missing product": lambda t: t.replace("--product ResourceServer", "--product Other"),
        "host 127.0.0.1": lambda t: t.replace("GATEHOUSE_AUTH_HOST=0.0.0.0", "GATEHOUSE_AUTH_HOST=127.0.0.1"),
    }
    compose_breaks = {
        "no migrate": lambda d: d["services"].pop("migrate"),
        "migrate serves": lambda d: d["services"]["migrate"].__setitem__("command", ["AuthServer", "serve"]),
        "rs not after migrate": lambda d: d["services"]["resourceserver"]["depends_on"].pop("migrate"),
        "kek inline": lambda d: d["services"]["authserver"]["environment"].__setitem__("GATEHOUSE_KEK", "x"),
        "health on healthz": lambda d: d["services"]["authserver"]["healthcheck"].__setitem__("test", ["CMD", "true"]),
        "postgres 15": lambda d: d["services"]["postgres"].__setitem__("image", "postgres:15"),
        "public port": lambda d: d["services"]["resourceserver"].__setitem__("ports", ["8000:8000"]),
    }
    missed = [k for k, f in docker_breaks.items() if not check_dockerfile(f(dockerfile))]
    for label, mutate in compose_breaks.items():
        doc = yaml.safe_load(compose)
        mutate(doc)
        if not check_compose(doc):
            missed.append(label)
    for label in missed:
        print(f"self-test: breakage '{label}' was NOT detected")
    total = len(docker_breaks) + len(compose_breaks)
    print(f"self-test: {total - len(missed)}/{total} deliberate breakages detected")
    return 1 if missed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) in (2, 3) and argv[1] in ("dockerfile", "compose"):
        default = HERE / ("Dockerfile" if argv[1] == "dockerfile" else "compose.yaml")
        text = pathlib.Path(argv[2] if len(argv) == 3 else default).read_text()
        errors = check_dockerfile(text) if argv[1] == "dockerfile" else check_compose(yaml.safe_load(text))
        for e in errors:
            print(e)
        return 1 if errors else 0
    print(__doc__.strip(), file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
