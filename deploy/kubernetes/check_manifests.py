#!/usr/bin/env python3
"""Structural checks for the Gatehouse Kubernetes manifests (no cluster needed).

Usage:
  check_manifests.py [FILE ...]     check these files ('-' reads stdin, e.g. `kubectl kustomize`)
  check_manifests.py                check every *.yaml in this folder
  check_manifests.py --self-test    break known-good manifests on purpose and require that each
                                    break is reported (proves the checks can fail)

Prints one line per problem and exits 1 if there is any.
"""
import copy
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
# Files that must stay out of kustomization.yaml: placeholders and optional extras.
NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "cnpg-cluster.example.yaml"}
EXPECTED_DEPLOYMENTS = {"gatehouse-auth": ("AuthServer", "GATEHOUSE_AUTH_HOST"),
                        "gatehouse-resource": ("ResourceServer", "GATEHOUSE_RS_HOST")}


def load(paths):
    docs = []
    for path in paths:
        text = sys.stdin.read() if path == "-" else pathlib.Path(path).read_text()
        try:
            parsed = list(yaml.safe_load_all(text))
        except yaml.YAMLError as e:
            sys.exit(f"{path}: not valid YAML: {e}")
        docs += [(str(path), doc) for doc in parsed if doc is not None]
    return docs


def probe_path(probe):
    return ((probe or {}).get("httpGet") or {}).get("path")


def check_pod_spec(where, spec, errors):
    pod_sc = spec.get("securityContext") or {}
    for c in spec.get("containers") or []:
        name = f"{where} container {c.get('name')}"
        sc = c.get("securityContext") or {}
        if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
            errors.append(f"{name}: runAsNonRoot is not true")
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if uid == 0:
            errors.append(f"{name}: runAsUser is 0")
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"{name}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{name}: allowPrivilegeEscalation is not false")
        requests = (c.get("resources") or {}).get("requests") or {}
        if not {"cpu", "memory"} <= requests.keys():
            errors.append(f"{name}: resources.requests needs cpu and memory")
        if not ((c.get("resources") or {}).get("limits") or {}).get("memory"):
            errors.append(f"{name}: resources.limits.memory is missing")


def container_env(c):
    return {e.get("name"): e for e in c.get("env") or []}


def check_deployment(where, doc, errors):
    spec = doc.get("spec") or {}
    name = doc["metadata"]["name"]
    if not isinstance(spec.get("replicas"), int) or spec["replicas"] < 2:
        errors.append(f"{where}: replicas must be >= 2, got {spec.get('replicas')!r}")
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        errors.append(f"{where}: selector.matchLabels do not match the pod template labels")
    pod = template.get("spec") or {}
    check_pod_spec(where, pod, errors)
    binary, host_var = EXPECTED_DEPLOYMENTS.get(name, (None, None))
    for c in pod.get("containers") or []:
        cname = f"{where} container {c.get('name')}"
        if probe_path(c.get("readinessProbe")) != "/readyz":
            errors.append(f"{cname}: readinessProbe must be httpGet /readyz")
        if probe_path(c.get("livenessProbe")) != "/healthz":
            errors.append(f"{cname}: livenessProbe must be httpGet /healthz")
        ports = {p.get("name") for p in c.get("ports") or []} | {p.get("containerPort") for p in c.get("ports") or []}
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            port = ((c.get(kind) or {}).get("httpGet") or {}).get("port")
            if kind in c and port not in ports:
                errors.append(f"{cname}: {kind} port {port!r} is not a declared container port")
        if binary and (c.get("command") or [None])[0] != binary:
            errors.append(f"{cname}: command must start with {binary}")
        if host_var and (container_env(c).get(host_var) or {}).get("value") != "0.0.0.0":
            errors.append(f"{cname}: {host_var} must be 0.0.0.0 in a container")
        if "DATABASE_URL" not in container_env(c):
            errors.append(f"{cname}: DATABASE_URL is not set")
    return labels


def check_job(where, doc, errors):
    pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    check_pod_spec(where, pod, errors)
    commands = [c.get("command") or [] for c in pod.get("containers") or []]
    if ["AuthServer", "migrate"] not in commands:
        errors.append(f"{where}: the Job must run [AuthServer, migrate]")
    if pod.get("restartPolicy") not in ("OnFailure", "Never"):
        errors.append(f"{where}: restartPolicy must be OnFailure or Never")


def selects(selector, label_sets):
    return bool(selector) and any(all(l.get(k) == v for k, v in selector.items()) for l in label_sets)


def check(docs, kustomization_dir=None):
    errors = []
    pod_labels, selectors, secrets = [], [], []
    for where, doc in docs:
        kind = doc.get("kind")
        name = (doc.get("metadata") or {}).get("name")
        where = f"{pathlib.Path(where).name}: {kind}/{name}"
        for field in ("apiVersion", "kind"):
            if not doc.get(field):
                errors.append(f"{where}: {field} is missing")
        if kind == "Kustomization":
            continue
        if not name:
            errors.append(f"{where}: metadata.name is missing")
            continue
        if (doc.get("metadata") or {}).get("namespace"):
            errors.append(f"{where}: manifests must be namespace-less")
        if kind == "Deployment":
            pod_labels.append(check_deployment(where, doc, errors))
        elif kind == "Job":
            check_job(where, doc, errors)
        elif kind in ("Service", "PodDisruptionBudget"):
            spec = doc.get("spec") or {}
            sel = spec.get("selector") or {}
            selectors.append((where, sel.get("matchLabels", sel) if kind == "PodDisruptionBudget" else sel))
        elif kind == "Secret":
            secrets.append((where, doc))
    for where, sel in selectors:
        if not selects(sel, pod_labels):
            errors.append(f"{where}: selector {sel} matches no Deployment's pods")
    for where, doc in secrets:
        values = {**(doc.get("stringData") or {}), **(doc.get("data") or {})}
        if not {"DATABASE_URL", "kek"} <= values.keys():
            errors.append(f"{where}: needs keys DATABASE_URL and kek")
        if not all("REPLACE_ME" in str(v) for v in values.values()):
            errors.append(f"{where}: a committed Secret may only hold REPLACE_ME placeholders")
    if kustomization_dir is not None:
        errors += check_kustomization(kustomization_dir)
    return errors


def check_kustomization(folder):
    errors = []
    k = yaml.safe_load((folder / "kustomization.yaml").read_text())
    listed = k.get("resources") or []
    for res in listed:
        if not (folder / res).is_file():
            errors.append(f"kustomization.yaml: resource {res} does not exist")
        if res in NOT_IN_KUSTOMIZATION:
            errors.append(f"kustomization.yaml: {res} must not be applied by default")
    for f in sorted(folder.glob("*.yaml")):
        if f.name not in listed and f.name not in NOT_IN_KUSTOMIZATION | {"kustomization.yaml"}:
            errors.append(f"kustomization.yaml: {f.name} is neither listed nor a known optional file")
    return errors


def self_test():
    """Each mutation must produce at least one error; the untouched set must produce none."""
    files = sorted(p for p in HERE.glob("*.yaml") if p.name != "kustomization.yaml")
    good = load(files)
    if check(good):
        print("self-test: the committed manifests do not pass; fix them first")
        return 1

    def deployment(docs, name):
        return next(d for _, d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == name)

    def container(docs, name):
        return deployment(docs, name)["spec"]["template"]["spec"]["containers"][0]

    mutations = {
        "replicas 1": lambda d: deployment(d, "gatehouse-auth")["spec"].__setitem__("replicas", 1),
        "no readiness probe": lambda d: container(d, "gatehouse-resource").pop("readinessProbe"),
        "liveness on /readyz": lambda d: container(d, "gatehouse-auth")["livenessProbe"]["httpGet"].__setitem__("path", "/readyz"),
        "no requests": lambda d: container(d, "gatehouse-auth")["resources"].pop("requests"),
        "runAsNonRoot false": lambda d: deployment(d, "gatehouse-resource")["spec"]["template"]["spec"]["securityContext"].__setitem__("runAsNonRoot", False),
        "writable root fs": lambda d: container(d, "gatehouse-auth")["securityContext"].__setitem__("readOnlyRootFilesystem", False),
        "host 127.0.0.1": lambda d: container_env(container(d, "gatehouse-auth"))["GATEHOUSE_AUTH_HOST"].__setitem__("value", "127.0.0.1"),
        "no metadata.name": lambda d: d[0][1]["metadata"].pop("name"),
        "real secret value": lambda d: next(x for _, x in d if x.get("kind") == "Secret")["stringData"].__setitem__("kek", "c2VjcmV0"),
        "service selects nothing": lambda d: next(x for _, x in d if x.get("kind") == "Service")["spec"]["selector"].__setitem__("app.kubernetes.io/name", "typo"),
        "namespace set": lambda d: d[0][1]["metadata"].__setitem__("namespace", "prod"),
        "job not migrating": lambda d: next(x for _, x in d if x.get("kind") == "Job")["spec"]["template"]["spec"]["containers"][0].__setitem__("command", ["AuthServer", "serve"]),
    }
    failed = 0
    for label, mutate in mutations.items():
        docs = copy.deepcopy(good)
        mutate(docs)
        if not check(docs):
            print(f"self-test: mutation '{label}' was NOT detected")
            failed += 1
    print(f"self-test: {len(mutations) - failed}/{len(mutations)} deliberate breakages detected")
    return 1 if failed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if argv[1:]:
        errors = check(load(argv[1:]))
    else:
        errors = check(load(sorted(HERE.glob("*.yaml"))), kustomization_dir=HERE)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
