"""Render and run, here: the charts as the kind end-to-end run deploys them, started as local
processes against this machine's PostgreSQL, RabbitMQ and Redis, then tests/e2e against them.

How the manifests become processes, and the one table of rewrites: tests/deploy/render_run.py
(REWRITES) and docs/kubernetes.md ("Render and run").
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scripts import testenv
from tests.deploy import render_run
from tests.deploy.deploylib import ROOT
from tests.deploy.render_run import (
    REWRITES,
    Cluster,
    Namespace,
    RenderRunError,
    Runner,
    e2e_releases,
    wait_probe,
)

SCRIPT = (ROOT / "scripts" / "e2e-kind.sh").read_text()


def _namespace() -> Namespace:
    return Namespace(
        prefix=os.environ.get("BANKFLOW_TEST_PREFIX", "bankflow_test"),
        redis_base=testenv.REDIS_DB["e2e"],
    )


# ---- the rewrites and the planner --------------------------------------------------------
def test_the_rewrite_table_is_the_documented_one():
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    section = docs.split("### Render and run", 1)[1].split("\n## ", 1)[0]
    for what, becomes, _why in REWRITES:
        assert f"| {what} | {becomes} |" in section, what


@pytest.fixture
def releases(renderer):
    return e2e_releases(renderer)


def test_the_e2e_values_are_skaffolds(releases):
    assert [(r.name, r.chart, r.namespace) for r in releases] == [
        ("producer", "producer", "bankflow"),
        ("consumer", "consumer", "bankflow"),
    ]
    assert releases[0].values["existingSecret"] == "producer-secrets"
    assert releases[0].values["image"] == {"repository": "bankflow-producer", "tag": "e2e"}
    assert not [o for r in releases for o in r.objects if o["apiVersion"].startswith("keda.sh/")]


def test_every_process_is_the_manifests_own(releases, tmp_path):
    cluster = Cluster(releases, _namespace(), tmp_path)
    pods = {p.workload: p for p in cluster.pods()}
    assert set(pods) == {
        f"{s}-{w}" for s in ("producer", "consumer") for w in ("web", "worker", "beat", "migrate")
    } | {"consumer-webhooks"}
    web = pods["producer-web"].main
    assert Path(web.argv[0]) == ROOT / ".venv" / "bin" / "gunicorn"
    assert web.argv[1:] == ["-c", str(ROOT / "services" / "producer" / "gunicorn.conf.py")]
    assert web.env["PORT"] == str(web.ports["http"]) != "8000"
    assert web.env["DATABASE_URL"] == (
        f"postgres://postgres@127.0.0.1:5432/{cluster.ns.database('producer')}"
    )
    assert web.env["CELERY_BROKER_URL"] == f"amqp://guest:guest@127.0.0.1:5672/{cluster.ns.vhost}"
    assert web.env["REDIS_URL"] == f"redis://127.0.0.1:6379/{cluster.ns.redis_base}"
    consumer_web = pods["consumer-web"].main
    assert web.env["CONSUMER_URL"] == f"http://127.0.0.1:{consumer_web.ports['http']}"
    assert "127.0.0.1" in web.env["DJANGO_ALLOWED_HOSTS"].split(",")  # $(POD_IP) expanded
    worker = pods["consumer-worker"].main
    assert pods["consumer-webhooks"].main.env["PRODUCER_WEBHOOK_URL"] == (
        f"http://127.0.0.1:{web.ports['http']}/api/v1/webhooks/consumer/"
    )
    scratch = pods["consumer-worker"].scratch / "volumes"
    assert worker.env["CELERY_HEARTBEAT_FILE"] == str(scratch / "tmp" / "celery-heartbeat")
    assert worker.env["PROMETHEUS_MULTIPROC_DIR"] == str(scratch / "prometheus")
    assert worker.env["BANKFLOW_ENV"] == "production"  # the image's and the ConfigMap's
    beat = pods["producer-beat"].main
    schedule = beat.argv[beat.argv.index("-s") + 1]
    assert schedule == str(
        pods["producer-beat"].scratch / "volumes" / "tmp" / "celerybeat-schedule"
    )
    migrate = pods["producer-migrate"]
    assert [Path(migrate.init[0].argv[0]).name, *migrate.init[0].argv[1:3]] == [
        "python", "-m", "bankflow.wait",
    ]  # fmt: skip
    assert Path(migrate.main.argv[0]).name == "producer" and migrate.main.argv[1] == "migrate"


def _mutated(renderer, service, values=None, objects=None):
    """The e2e releases with one chart's values changed, or its rendered objects."""
    releases = e2e_releases(renderer)
    (release,) = [r for r in releases if r.chart == service]
    if values:
        values(release.values)
        release.objects = renderer.render(
            service, release.values, name=release.name, api_versions=()
        )
    if objects:
        objects(
            {
                o["metadata"]["name"]: o
                for o in release.objects
                if o["kind"] in {"Deployment", "Job"}
            }
        )
    return releases


def _container(workload, name=None):
    spec = workload["spec"]["template"]["spec"]
    return next(
        c
        for c in [*spec.get("initContainers", []), *spec["containers"]]
        if name in (None, c["name"])
    )


def _rename_command(objs):
    _container(objs["consumer-worker"], "worker")["command"][0] = "celeryy"


@pytest.mark.parametrize(
    ("service", "values", "objects", "error"),
    [
        ("producer", lambda v: v["app"]["config"].update(CONSUMER_URL="http://consumr:8001"), None,
         "no Service 'consumr'"),
        ("producer", lambda v: v["app"]["config"].update(CONSUMER_URL="http://consumer:8002"), None,
         "has no port 8002"),
        ("consumer", None, _rename_command, "'celeryy' is not on the image's PATH"),
    ],
    ids=["unknown-host", "wrong-service-port", "wrong-command"],
)  # fmt: skip
def test_the_planner_refuses_what_the_cluster_would_refuse(
    renderer, tmp_path, service, values, objects, error
):
    releases = _mutated(renderer, service, values, objects)
    with pytest.raises(RenderRunError, match=error):
        Cluster(releases, _namespace(), tmp_path).pods()


# ---- the run ---------------------------------------------------------------------------------
def _servers_answer() -> bool:
    return testenv.postgres_ready() and testenv.redis_ready() and testenv.answers(5672)


def _prepare_servers(cluster: Cluster) -> None:
    import psycopg
    import redis
    from psycopg import sql

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as conn:
        for name in sorted(cluster.databases):
            assert name.startswith(cluster.ns.prefix)
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    for vhost in sorted(cluster.vhosts):
        assert vhost.startswith(cluster.ns.prefix)
        _delete_vhost(vhost)
        assert testenv.ensure_vhost(vhost), f"cannot create the RabbitMQ vhost {vhost}"
    for db in sorted(cluster.redis_dbs):
        redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()


def _delete_vhost(vhost: str) -> None:
    """rabbitmqctl where the broker runs here, else its management API (CI's container)."""
    if shutil.which("rabbitmqctl"):
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, check=False
        )
        return
    request = urllib.request.Request(
        f"http://127.0.0.1:15672/api/vhosts/{vhost}",
        method="DELETE",
        headers={"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()},
    )
    with contextlib.suppress(OSError):
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def _check_annotated_metrics(cluster: Cluster, run: render_run.Running) -> str:
    obj = cluster.find("Deployment", run.pod.workload)
    annotations = obj["spec"]["template"]["metadata"].get("annotations", {})
    if annotations.get("prometheus.io/scrape") != "true":
        return "not scraped"
    declared = annotations["prometheus.io/port"]
    port = run.container.ports.get(declared)
    assert port, f"{run.pod.workload}: prometheus.io/port {declared} is no container port"
    url = f"http://127.0.0.1:{port}{annotations['prometheus.io/path']}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = answer.read().decode()
        content_type = answer.headers.get("Content-Type", "")
    assert answer.status == 200 and content_type.startswith("text/plain"), (url, content_type)
    list(text_string_to_metric_families(body))  # Prometheus text format (maybe no sample yet)
    return url


def _exec_in(cluster: Cluster, pods: dict[str, render_run.Pod]) -> str:
    """The script's `kubectl exec deployment/<d> -c <c> -- <command>`, in that container."""
    match = re.search(r"exec deployment/(\S+) -c (\S+) -- (.+?) \| tail -n 1", SCRIPT)
    assert match, "scripts/e2e-kind.sh creates its client with kubectl exec"
    pod = pods[match[1]]
    assert pod.main.name == match[2]
    argv = match[3].split()
    executable = shutil.which(argv[0], path=pod.main.env["PATH"])
    assert executable, argv
    done = subprocess.run(
        [executable, *argv[1:]], env=pod.main.env, cwd=pod.scratch,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def _secret_value(cluster: Cluster) -> str:
    match = re.search(r"get secret (\S+) \\\n\s+-o jsonpath='\{\.data\.(\w+)\}'", SCRIPT)
    assert match, "scripts/e2e-kind.sh reads the consumer token from its Secret"
    return cluster._env_from({"secretRef": {"name": match[1]}})[match[2]]


def test_the_rendered_charts_run_here_and_pass_tests_e2e(releases, tmp_path):
    if not _servers_answer():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL, RabbitMQ and Redis must answer on 127.0.0.1 in CI")
        pytest.skip(
            "needs PostgreSQL, RabbitMQ and Redis on 127.0.0.1 (scripts/ensure-services.sh)"
        )
    cluster = Cluster(releases, _namespace(), tmp_path)
    pods = {p.workload: p for p in cluster.pods()}
    _prepare_servers(cluster)
    runner = Runner(tmp_path / "logs")
    try:
        for release in releases:  # as Helm installs them: hooks, then pods, --wait
            for pod in [p for p in pods.values() if p.release == release.name and p.kind == "Job"]:
                deadline = cluster.find("Job", pod.workload)["spec"]["activeDeadlineSeconds"]
                for init in pod.init:
                    runner.run_to_completion(pod, init, deadline)
                runner.run_to_completion(pod, pod.main, deadline)
            started = [
                p for p in pods.values() if p.release == release.name and p.kind == "Deployment"
            ]
            init_timeout = max(release.values.get("wait", {}).get("timeoutSeconds", 180), 60)
            with ThreadPoolExecutor(max_workers=len(started)) as pool:
                runs = list(pool.map(runner.start_pod, started, [init_timeout] * len(started)))
            for run in runs:
                wait_probe(runner, run, "startupProbe")
                wait_probe(runner, run, "readinessProbe", at_least=60)
                wait_probe(runner, run, "livenessProbe")
                _check_annotated_metrics(cluster, run)
        runner.check_alive()
        key = _exec_in(cluster, pods)
        token = _secret_value(cluster)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PRODUCER_", "CONSUMER_"))},
            # `kubectl port-forward service/<s> <port>:<port>`: the Services' local ports.
            "PRODUCER_URL": f"http://127.0.0.1:{cluster.service_ports[('producer', 8000)]}",
            "CONSUMER_URL": f"http://127.0.0.1:{cluster.service_ports[('consumer', 8001)]}",
            "PRODUCER_API_KEY": key,
            "CONSUMER_API_TOKEN": token,
        }
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        runner.check_alive()
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
        logs = "\n".join(f"--- {r.log.name}\n{r.tail(15)}" for r in runner.running)
        assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-2000:]}\n{logs}"
        passed = int(re.search(r"(\d+) passed", summary)[1])
        assert passed >= 15 and "failed" not in summary, summary
    finally:
        runner.stop()


# ---- a wrong manifest fails the run --------------------------------------------------------
def _wrong_probe_path(objs):
    web = _container(objs["producer-web"], "web")
    web["readinessProbe"].update(path=None, httpGet={"path": "/readyzz", "port": "http"})
    web["readinessProbe"].pop("path")
    web["readinessProbe"].update(periodSeconds=1, failureThreshold=2)


def _wrong_port(objs):
    web = _container(objs["producer-web"], "web")
    (port,) = [e for e in web["env"] if e["name"] == "PORT"]
    port["value"] = "8002"  # not the containerPort the Service and the probes use
    web["startupProbe"].update(periodSeconds=1, failureThreshold=5)


def _missing_secret(objs):
    pod = objs["producer-web"]["spec"]["template"]["spec"]
    for c in [*pod["initContainers"], *pod["containers"]]:
        c["envFrom"] = [s for s in c["envFrom"] if "secretRef" not in s]


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (_wrong_probe_path, r"readinessProbe still failing .*GET /readyzz 404"),
        (_wrong_port, r"startupProbe still failing .*Connection refused"),
        (_missing_secret, r"producer-web/wait exited 2"),
    ],
    ids=["probe-path", "port", "environment"],
)
def test_a_wrong_manifest_fails_the_run(renderer, tmp_path, mutate, error):
    if not _servers_answer():
        pytest.skip("needs PostgreSQL, RabbitMQ and Redis on 127.0.0.1")
    cluster = Cluster(_mutated(renderer, "producer", objects=mutate), _namespace(), tmp_path)
    pod = cluster.pod_named("producer-web")
    _prepare_servers(cluster)
    runner = Runner(tmp_path / "logs")
    try:
        with pytest.raises(RenderRunError, match=error):
            run = runner.start_pod(pod, init_timeout=60)
            wait_probe(runner, run, "startupProbe")
            wait_probe(runner, run, "readinessProbe")
    finally:
        runner.stop()
