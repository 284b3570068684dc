"""Render the charts as the kind end-to-end run deploys them, then run what they render here.

The values are skaffold's ``e2e`` profile's (its ``valuesFiles`` and the image it sets), the
Secrets those values name come from ``k8s/infra``, and the ConfigMaps and Secrets the
charts make come from the render itself. Each pod of every rendered Deployment, and the
migration Job before them (as the pre-install hook runs), becomes local processes: its init
containers in order, then its container, with the command, args and environment of the
manifest (``envFrom`` and ``env`` resolved, ``$(VAR)`` expanded, the image's own ``ENV``
from the Dockerfile underneath). Readiness is the manifest's own probes: ``httpGet`` on the
probe's path and port, ``exec`` run as a command.

Nothing else is changed, except by the rewrites in ``REWRITES`` (the one table of them;
docs/kubernetes.md shows it too). A chart whose command, environment variable, port or
probe path is wrong therefore fails here as it would in a cluster.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.deploylib import ROOT, ChartRenderer, collectstatic, image_config

# The only differences between a pod in the kind cluster and its process here.
REWRITES: list[tuple[str, str, str]] = [
    (
        "a URL whose host is a Service of the charts or of k8s/infra (`svc`, `svc.ns`, "
        "`svc.ns.svc`, `svc.ns.svc.<clusterDomain>`) and whose port is that Service's",
        "`127.0.0.1` and the local port of what the Service selects",
        "no cluster DNS or Service IPs here; a host or port that no Service has is refused",
    ),
    (
        "an environment value equal to one of the container's own `containerPort`s "
        "(`PORT`, `METRICS_PORT`)",
        "a free local port, the same one its probes and Service use",
        "every pod has its own network namespace; these processes share one",
    ),
    (
        "PostgreSQL's user and password; the database name",
        "`postgres` (trust, 127.0.0.1:5432); `<BANKFLOW_TEST_PREFIX>_render_<name>`",
        "the machine's server and the test namespace's databases",
    ),
    (
        "RabbitMQ's user and password; the vhost",
        "`guest:guest` (127.0.0.1); `<BANKFLOW_TEST_PREFIX>_render`",
        "the machine's broker, the test namespace's vhost",
    ),
    (
        "the Redis db index `n`",
        "`BANKFLOW_TEST_REDIS_BASE + n`",
        "the test namespace's Redis dbs",
    ),
    (
        "the image's `/app` (PATH, the gunicorn config); `/app/static`",
        "the checkout (its `.venv`); a folder filled by the Dockerfile's own collectstatic step",
        "the image is the checkout, installed (no Docker here)",
    ),
    (
        "a path under an `emptyDir` mount (`/tmp`, the Prometheus multiprocess directory) "
        "in the environment, the command or a probe",
        "a scratch folder of that pod and volume",
        "each pod has its own emptyDirs (heartbeat file, metrics directory, beat schedule)",
    ),
    (
        "`fieldRef` `status.podIP`, `metadata.name`",
        "`127.0.0.1`, `<workload>-render`",
        "no kubelet",
    ),
]

_STATICS: dict[str, Path] = {}
INFRA_PORTS = {5432: 5432, 5672: 5672, 15672: 15672, 6379: 6379}  # k8s/infra -> this machine
POD_IP = "127.0.0.1"


class RenderRunError(AssertionError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- what the e2e path deploys -----------------------------------------------------------
@dataclass
class Release:
    name: str
    chart: str
    namespace: str
    values: dict[str, Any]
    objects: list[dict[str, Any]] = field(default_factory=list)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    node = values
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def e2e_releases(renderer: ChartRenderer, *, tag: str = "e2e") -> list[Release]:
    """skaffold.yaml's e2e profile, rendered in its order, on a cluster without KEDA or
    the Prometheus Operator (the kind cluster of the e2e run)."""
    configs = [d for d in yaml.safe_load_all((ROOT / "skaffold.yaml").read_text()) if d]
    app = next(c for c in configs if c["metadata"]["name"] == "bankflow")
    (profile,) = [p for p in app["profiles"] if p["name"] == "e2e"]
    releases = []
    for spec in profile["deploy"]["helm"]["releases"]:
        values: dict[str, Any] = {}
        for path in spec.get("valuesFiles", []):
            values = _merge(values, yaml.safe_load((ROOT / path).read_text()) or {})
        for key, template in spec.get("setValueTemplates", {}).items():
            image = template.replace("{{.IMAGE_REPO_", "").replace("{{.IMAGE_TAG_", "")
            image = image.removesuffix("}}").replace("_", "-")
            _set_path(values, key, tag if key.endswith(".tag") else image)
        chart = Path(spec["chartPath"]).name
        release = Release(spec["name"], chart, spec["namespace"], values)
        release.objects = renderer.render(chart, values, name=release.name, api_versions=())
        releases.append(release)
    return releases


def infra_objects() -> tuple[str, list[dict[str, Any]]]:
    folder = ROOT / "k8s" / "infra"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    objects = []
    for resource in kustomization["resources"]:
        objects += [d for d in yaml.safe_load_all((folder / resource).read_text()) if d]
    return kustomization["namespace"], objects


# ---- the cluster, resolved ----------------------------------------------------------------
@dataclass
class Namespace:
    """Where the rendered processes' backing services are on this machine."""

    prefix: str
    redis_base: int

    def database(self, name: str) -> str:
        return f"{self.prefix}_render_{name}"

    @property
    def vhost(self) -> str:
        return f"{self.prefix}_render"


@dataclass
class Container:
    name: str
    argv: list[str]
    env: dict[str, str]
    ports: dict[str, int]  # port name (or str(number)) -> local port
    spec: dict[str, Any]
    rewrite: Callable[[str], str]  # the REWRITES, for an exec probe's words


@dataclass
class Pod:
    workload: str
    kind: str
    release: str
    init: list[Container]
    main: Container
    scratch: Path
    spec: dict[str, Any]


class Cluster:
    """The rendered releases plus k8s/infra, with every name resolved to this machine."""

    def __init__(self, releases: list[Release], namespace: Namespace, scratch: Path) -> None:
        self.releases = releases
        self.ns = namespace
        self.scratch = scratch
        self.infra_namespace, infra = infra_objects()
        self._infra_ids = {id(o) for o in infra}
        self.objects: list[tuple[str, dict[str, Any]]] = [
            (r.namespace, o) for r in releases for o in r.objects
        ] + [(self.infra_namespace, o) for o in infra]
        self.cluster_domain = releases[0].values.get("clusterDomain", "cluster.local")
        self.local_ports: dict[tuple[str, str, int], int] = {}  # (pod, container, port)
        self.service_ports: dict[tuple[str, int], int] = {}  # (service, port) -> local
        self.vhosts: set[str] = set()
        self.databases: set[str] = set()
        self.redis_dbs: set[int] = set()
        self._plan_ports()

    # -- objects ----------------------------------------------------------------------
    def find(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for _, o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        if len(found) != 1:
            raise RenderRunError(f"{kind}/{name} is referenced but {len(found)} exist")
        return found[0]

    def workloads(self) -> Iterator[tuple[Release, dict[str, Any]]]:
        for release in self.releases:
            for obj in release.objects:
                if obj["kind"] in {"Deployment", "Job"}:
                    yield release, obj

    def _plan_ports(self) -> None:
        for _, obj in self.workloads():
            spec = obj["spec"]["template"]["spec"]
            for c in spec["containers"]:
                for port in c.get("ports", []):
                    key = (obj["metadata"]["name"], c["name"], port["containerPort"])
                    self.local_ports[key] = free_port()
        for _, svc in [(ns, o) for ns, o in self.objects if o["kind"] == "Service"]:
            name = svc["metadata"]["name"]
            infra = self._is_infra(svc)
            for port in svc["spec"]["ports"]:
                if infra:  # only the ports the processes use have a local server
                    if port["port"] in INFRA_PORTS:
                        self.service_ports[(name, port["port"])] = INFRA_PORTS[port["port"]]
                    continue
                self.service_ports[(name, port["port"])] = self._target(svc, port)

    def _is_infra(self, svc: dict[str, Any]) -> bool:
        return id(svc) in self._infra_ids

    def _target(self, svc: dict[str, Any], port: dict[str, Any]) -> int:
        selector = svc["spec"]["selector"]
        selected = [
            obj
            for _, obj in self.workloads()
            if obj["kind"] == "Deployment"
            and all(
                obj["spec"]["template"]["metadata"]["labels"].get(k) == v
                for k, v in selector.items()
            )
        ]
        if len(selected) != 1:
            raise RenderRunError(
                f"Service/{svc['metadata']['name']} selects {len(selected)} workloads"
            )
        (obj,) = selected
        target = port.get("targetPort", port["port"])
        for c in obj["spec"]["template"]["spec"]["containers"]:
            for p in c.get("ports", []):
                if target in (p.get("name"), p["containerPort"]):
                    return self.local_ports[
                        (obj["metadata"]["name"], c["name"], p["containerPort"])
                    ]
        raise RenderRunError(
            f"Service/{svc['metadata']['name']} port {port['port']}: targetPort {target!r} "
            f"is no port of {obj['metadata']['name']}"
        )

    # -- rewrites -----------------------------------------------------------------------
    def _service_of(self, host: str) -> str | None:
        services = {o["metadata"]["name"]: ns for ns, o in self.objects if o["kind"] == "Service"}
        name, _, rest = host.partition(".")
        if name not in services:
            return None
        ns = services[name]
        if rest in ("", ns, f"{ns}.svc", f"{ns}.svc.{self.cluster_domain}"):
            return name
        return None

    def rewrite_url(self, value: str) -> str:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname or ""
        service = self._service_of(host)
        if service is None:
            in_cluster = "." not in host or host.endswith((".svc", f".{self.cluster_domain}"))
            if in_cluster and host not in ("localhost", "127.0.0.1"):
                raise RenderRunError(f"{value!r}: no Service {host!r} in the cluster")
            return value
        default = {"http": 80, "https": 443, "postgres": 5432, "postgresql": 5432,
                   "amqp": 5672, "redis": 6379}.get(parts.scheme)  # fmt: skip
        port = parts.port or default
        if (service, port) not in self.service_ports:
            raise RenderRunError(f"{value!r}: Service {service} has no port {port}")
        local = self.service_ports[(service, port)]
        path = parts.path
        user = parts.username
        password = parts.password
        if parts.scheme in ("postgres", "postgresql"):
            name = path.lstrip("/")
            path = "/" + self.ns.database(name)
            self.databases.add(self.ns.database(name))
            user, password = "postgres", None
        elif parts.scheme in ("amqp", "amqps"):
            self.vhosts.add(self.ns.vhost)
            path = "/" + self.ns.vhost
            user, password = "guest", "guest"
        elif parts.scheme == "redis":
            db = int(path.lstrip("/") or 0)
            if db > 2:
                raise RenderRunError(f"{value!r}: the test namespace has Redis dbs base..base+2")
            self.redis_dbs.add(self.ns.redis_base + db)
            path = f"/{self.ns.redis_base + db}"
        elif service == "rabbitmq" and user:
            user, password = "guest", "guest"
        auth = ""
        if user:
            auth = user + (f":{password}" if password else "") + "@"
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{local}", path=path))

    def static_root(self, service: str) -> Path:
        """The image's /app/static: built once per test session, as the image build does."""
        if service not in _STATICS:
            root = self.scratch / "image" / service / "static"
            build = self.scratch / "image" / service / "build"
            build.mkdir(parents=True, exist_ok=True)
            collectstatic(service, root, build)
            _STATICS[service] = root
        return _STATICS[service]

    # -- pods ----------------------------------------------------------------------------
    def pods(self) -> list[Pod]:
        return [self.pod(release, obj) for release, obj in self.workloads()]

    def pod_named(self, workload: str) -> Pod:
        (found,) = [(r, o) for r, o in self.workloads() if o["metadata"]["name"] == workload]
        return self.pod(*found)

    def pod(self, release: Release, obj: dict[str, Any]) -> Pod:
        name = obj["metadata"]["name"]
        spec = obj["spec"]["template"]["spec"]
        scratch = self.scratch / "pods" / name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        service = release.values.get("app", {}).get("module") or release.chart
        image = image_config(service)
        containers = []
        for c in [*spec.get("initContainers", []), *spec["containers"]]:
            mounts = {}
            for m in c.get("volumeMounts", []):
                if "emptyDir" not in volumes[m["name"]]:
                    raise RenderRunError(
                        f"{name}/{c['name']}: volume {m['name']} is not an emptyDir"
                    )
                folder = scratch / "volumes" / m["name"]
                folder.mkdir(parents=True, exist_ok=True)
                mounts[m["mountPath"].rstrip("/")] = folder
            containers.append(self.container(name, c, image, service, mounts))
        if len(spec["containers"]) != 1:
            raise RenderRunError(f"{name}: one container per pod expected")
        return Pod(
            workload=name,
            kind=obj["kind"],
            release=release.name,
            init=containers[:-1],
            main=containers[-1],
            scratch=scratch,
            spec=spec,
        )

    def container(
        self, pod: str, c: dict[str, Any], image: Any, service: str, mounts: dict[str, Path]
    ) -> Container:
        def paths(value: str) -> str:
            for mount, folder in sorted(mounts.items(), key=lambda m: -len(m[0])):
                if value == mount or value.startswith(mount + "/"):
                    return str(folder) + value[len(mount) :]
            if value == "/app/static":
                return str(self.static_root(service))
            if value.startswith("/app/"):
                return str(ROOT) + value[len("/app") :]
            return value

        own_ports = {p["containerPort"]: self.local_ports[(pod, c["name"], p["containerPort"])]
                     for p in c.get("ports", [])}  # fmt: skip

        def rewrite(value: str) -> str:
            if re.match(r"^[a-z][a-z0-9+.-]*://", value):
                return self.rewrite_url(value)
            if value.isdigit() and int(value) in own_ports:
                return str(own_ports[int(value)])
            if ":" in value and value.startswith("/"):  # PATH-like lists
                return ":".join(paths(v) for v in value.split(":"))
            return paths(value)

        env: dict[str, str] = {}
        for key, value in image.env.items():
            if key == "PATH":
                value = value.replace("$PATH", os.environ["PATH"])
            env[key] = rewrite(value)
        manifest_env: dict[str, str] = {}
        for source in c.get("envFrom", []):
            manifest_env.update(self._env_from(source))
        for item in c.get("env", []):
            manifest_env[item["name"]] = (
                expand(item["value"], manifest_env)
                if "value" in item
                else self._value_from(pod, item["valueFrom"])
            )
        for key, value in manifest_env.items():
            env[key] = rewrite(value)
        if "command" not in c:
            raise RenderRunError(f"{pod}/{c['name']}: no command (the image's CMD is not used)")
        argv = [rewrite(expand(a, manifest_env)) for a in [*c["command"], *c.get("args", [])]]
        executable = shutil.which(argv[0], path=env["PATH"])
        if executable is None:
            raise RenderRunError(f"{pod}/{c['name']}: {argv[0]!r} is not on the image's PATH")
        argv[0] = executable
        ports: dict[str, int] = {}
        for p in c.get("ports", []):
            local = own_ports[p["containerPort"]]
            ports[str(p["containerPort"])] = local
            if "name" in p:
                ports[p["name"]] = local
        return Container(c["name"], argv, env, ports, c, rewrite)

    def _env_from(self, source: dict[str, Any]) -> dict[str, str]:
        if "configMapRef" in source:
            return dict(self.find("ConfigMap", source["configMapRef"]["name"]).get("data", {}))
        secret = self.find("Secret", source["secretRef"]["name"])
        data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
        data.update(secret.get("stringData", {}))
        return data

    def _value_from(self, pod: str, ref: dict[str, Any]) -> str:
        if "fieldRef" in ref:
            path = ref["fieldRef"]["fieldPath"]
            known = {"status.podIP": POD_IP, "metadata.name": f"{pod}-render"}
            if path not in known:
                raise RenderRunError(f"{pod}: fieldRef {path} is not emulated")
            return known[path]
        if "secretKeyRef" in ref:
            key = ref["secretKeyRef"]
            return self._env_from({"secretRef": {"name": key["name"]}})[key["key"]]
        key = ref["configMapKeyRef"]
        return self._env_from({"configMapRef": {"name": key["name"]}})[key["key"]]


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined names are replaced, $$ escapes, others stay."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, value)


# ---- running ---------------------------------------------------------------------------------
@dataclass
class Running:
    pod: Pod
    container: Container
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Runner:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[Running] = []
        self.lock = threading.Lock()

    def start(self, pod: Pod, container: Container) -> Running:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{pod.workload}.{container.name}.log"
        out = log.open("ab")
        process = subprocess.Popen(
            container.argv,
            env=container.env,
            cwd=str(pod.scratch),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        run = Running(pod, container, process, log)
        with self.lock:
            self.running.append(run)
        return run

    def run_to_completion(self, pod: Pod, container: Container, timeout: float) -> None:
        run = self.start(pod, container)
        try:
            code = run.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop([run.process])
            raise RenderRunError(
                f"{pod.workload}/{container.name} still running after {timeout:.0f}s\n{run.tail()}"
            ) from None
        if code != 0:
            raise RenderRunError(
                f"{pod.workload}/{container.name} exited {code}: {' '.join(container.argv)}\n"
                f"{run.tail()}"
            )

    def start_pod(self, pod: Pod, init_timeout: float) -> Running:
        """Init containers in order, each to completion, then the container."""
        pod.scratch.mkdir(parents=True, exist_ok=True)
        for init in pod.init:
            self.run_to_completion(pod, init, init_timeout)
        return self.start(pod, pod.main)

    def check_alive(self) -> None:
        for run in self.running:
            serving = run.container is run.pod.main and run.pod.kind == "Deployment"
            if serving and run.process.poll() is not None:
                raise RenderRunError(
                    f"{run.pod.workload} exited with {run.process.returncode}\n{run.tail()}"
                )

    def stop(self) -> None:
        stop([r.process for r in self.running])


def stop(processes: list[subprocess.Popen[bytes]], grace: float = 20.0) -> None:
    """SIGTERM each leader (gunicorn and Celery stop their own children), then SIGKILL the
    group of what is left."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ---- probes ---------------------------------------------------------------------------------
def probe_once(container: Container, probe: dict[str, Any], cwd: Path) -> tuple[bool, str]:
    timeout = float(probe.get("timeoutSeconds", 1))
    if "httpGet" in probe:
        get = probe["httpGet"]
        port = get["port"]
        if str(port) not in container.ports:
            return False, f"port {port!r} is no port of the container"
        url = f"http://{POD_IP}:{container.ports[str(port)]}{get.get('path', '/')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                return 200 <= answer.status < 400, f"GET {get.get('path')} {answer.status}"
        except urllib.error.HTTPError as exc:
            return False, f"GET {get.get('path')} {exc.code}"
        except OSError as exc:
            return False, f"GET {get.get('path')}: {exc}"
    if "exec" in probe:
        argv = list(probe["exec"]["command"])
        argv = [container.rewrite(a) for a in argv]
        executable = shutil.which(argv[0], path=container.env["PATH"])
        if executable is None:
            return False, f"{argv[0]!r} is not on the image's PATH"
        try:
            done = subprocess.run(
                [executable, *argv[1:]], env=container.env, cwd=cwd,
                capture_output=True, text=True, timeout=timeout + 10, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return False, "exec timed out"
        return done.returncode == 0, (done.stdout + done.stderr).strip()[-300:]
    raise RenderRunError(f"probe kind not emulated: {sorted(probe)}")


def wait_probe(runner: Runner, run: Running, probe_name: str, *, at_least: float = 0.0) -> str:
    """Poll a probe within the manifest's own budget (initialDelaySeconds plus
    failureThreshold x periodSeconds), or ``at_least`` seconds: a readiness probe may keep
    failing for as long as Helm waits, which is longer than its own budget."""
    probe = run.container.spec.get(probe_name)
    if probe is None:
        return "no probe"
    period = float(probe.get("periodSeconds", 10))
    budget = float(probe.get("initialDelaySeconds", 0)) + period * int(
        probe.get("failureThreshold", 3)
    )
    budget = max(budget, at_least)
    deadline = time.monotonic() + budget
    last = ""
    while time.monotonic() < deadline:
        runner.check_alive()
        ok, last = probe_once(run.container, probe, run.pod.scratch)
        if ok:
            return last
        time.sleep(min(period, 1.0))
    raise RenderRunError(
        f"{run.pod.workload}: {probe_name} still failing after {budget:.0f}s: {last}\n{run.tail()}"
    )
