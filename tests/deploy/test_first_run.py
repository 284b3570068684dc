"""What would have failed on a first real run (issue 12), shown on the rendered charts.

Each test names the failure it guards against; what only a real cluster can show is listed
in docs/kubernetes.md ("What the tests here cannot show").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from typing import Any

import helm_python as helm
import pytest
import yaml

from tests.deploy.deploylib import (
    CHARTS,
    KEDA_APIS,
    ROOT,
    by_kind,
    containers,
    load_values,
    matches,
    one,
    pod_labels,
    pod_spec,
    worker_deployments,
    workloads,
)


def _values(chart: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "charts" / chart / "values.yaml").read_text())


def _infra() -> list[dict[str, Any]]:
    folder = ROOT / "k8s" / "infra"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    objects = []
    for resource in kustomization["resources"]:
        objects += [d for d in yaml.safe_load_all((folder / resource).read_text()) if d]
    return objects


def _dev_values(chart: str, *extra: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in (f"{chart}-dev.yaml", *extra):
        merged = _merge(merged, yaml.safe_load((ROOT / "k8s" / "values" / name).read_text()))
    return merged


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# ---- helm test --logs ---------------------------------------------------------------------
def test_helm_test_pod_outlives_its_run_so_that_helm_test_logs_can_read_it(rendered, chart):
    """hook-succeeded makes Helm delete the pod before `helm test --logs` streams it."""
    pod = one(rendered[(chart, "default")], "Pod", f"{chart}-test-readyz")
    policies = pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert policies == ["before-hook-creation"]


# ---- KEDA: reachable from its operator, and only where installed -------------------------
def test_keda_reads_rabbitmq_by_a_name_that_resolves_in_the_operators_namespace(renderer):
    """The TriggerAuthentication's host is dialled by the KEDA operator in namespace keda:
    a bare `rabbitmq` resolves to rabbitmq.keda.svc there, i.e. to nothing."""
    secrets = {o["metadata"]["name"]: o for o in _infra() if o["kind"] == "Secret"}
    services = {o["metadata"]["name"] for o in _infra() if o["kind"] == "Service"}
    namespace = yaml.safe_load((ROOT / "k8s" / "infra" / "kustomization.yaml").read_text())[
        "namespace"
    ]
    for chart in CHARTS:
        values = _dev_values(chart, "observability.yaml")
        objects = renderer.render(chart, values)
        auths = by_kind(objects, "TriggerAuthentication")
        assert auths
        for auth in auths:  # one per worker pool
            (ref,) = auth["spec"]["secretTargetRef"]
            url = secrets[ref["name"]]["stringData"][ref["key"]]
            host = urllib.parse.urlsplit(url).hostname
            service, _, rest = host.partition(".")
            assert service in services, url
            assert rest in {f"{namespace}.svc", f"{namespace}.svc.cluster.local"}, url


def test_the_chart_refuses_a_bare_management_host_in_its_own_secret(renderer):
    values = load_values("producer", "default")
    values["secretEnv"]["RABBITMQ_MANAGEMENT_URL"] = "http://u:p@rabbitmq:15672/"
    with pytest.raises(helm.HelmRenderError, match="FQDN"):
        renderer.render("producer", values)


def test_without_keda_in_the_cluster_the_workers_fall_back_to_the_hpa(renderer, chart):
    """keda.enabled is the default, but a cluster without KEDA must not get unknown kinds."""
    values = load_values(chart, "default")
    without = renderer.render(chart, values, api_versions=())
    assert not [o for o in without if o["apiVersion"].startswith("keda.sh/")]
    hpa = one(without, "HorizontalPodAutoscaler", f"{chart}-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == f"{chart}-worker"
    notes = renderer.render_files(chart, values, api_versions=())[f"{chart}/templates/NOTES.txt"]
    assert "does not serve keda.sh/v1alpha1" in notes

    with_keda = renderer.render(chart, values, api_versions=KEDA_APIS)
    assert one(with_keda, "ScaledObject", f"{chart}-worker")
    assert not [
        h
        for h in by_kind(with_keda, "HorizontalPodAutoscaler")
        if "worker" in h["metadata"]["name"]
    ]
    notes = renderer.render_files(chart, values, api_versions=KEDA_APIS)[
        f"{chart}/templates/NOTES.txt"
    ]
    assert "keda.sh/v1alpha1" not in notes


# ---- ordering: every process waits, bounded, for what it needs ---------------------------
def test_every_pod_and_the_migration_waits_for_its_backing_services(rendered, chart):
    objects = rendered[(chart, "default")]
    values = _values(chart)
    wait = values["wait"]
    expected = {
        f"{chart}-web": wait["for"]["web"],
        f"{chart}-beat": wait["for"]["beat"],
        f"{chart}-migrate": wait["for"]["migrate"],
        # every worker pool waits for what a worker needs
        **{d["metadata"]["name"]: wait["for"]["worker"] for d in worker_deployments(objects)},
    }
    seen = {}
    for obj, spec in workloads(objects):
        if obj["kind"] == "Pod":  # the helm test pod only calls /readyz
            continue
        name = obj["metadata"]["name"]
        (init,) = spec["initContainers"]
        command = init["command"]
        assert command[:3] == ["python", "-m", "bankflow.wait"], name
        timeout = float(command[command.index("--timeout") + 1])
        assert timeout == wait["timeoutSeconds"]
        seen[name] = [c for c in command[3:] if c in {"database", "broker", "redis"}]
        main = spec["containers"][0]
        # The same environment as the process it precedes, so it waits for the same URLs.
        assert init["envFrom"] == main["envFrom"], name
        assert init["image"] == main["image"], name
        assert {"cpu", "memory"} <= set(init["resources"]["requests"]), name
    assert seen == expected
    # The producer serves through a broker outage (its outbox), so its web tier never
    # waits for the broker; the consumer's intake needs it.
    assert ("broker" in seen[f"{chart}-web"]) == (chart == "consumer")
    job = one(objects, "Job", f"{chart}-migrate")
    assert wait["timeoutSeconds"] < job["spec"]["activeDeadlineSeconds"]


def test_helm_waits_longer_than_the_pods_do():
    """statusCheckDeadlineSeconds does not reach `helm --wait`: Helm's own --timeout must
    outlast the migration hook's wait plus the Job itself."""
    configs = [d for d in yaml.safe_load_all((ROOT / "skaffold.yaml").read_text()) if d]
    assert [c["metadata"]["name"] for c in configs] == ["bankflow-infra", "bankflow"]
    app = configs[1]
    stanzas = [app["deploy"]["helm"]] + [
        p["deploy"]["helm"] for p in app["profiles"] if "helm" in p.get("deploy", {})
    ]
    for stanza in stanzas:
        for phase in ("install", "upgrade"):
            (flag,) = [f for f in stanza["flags"][phase] if f.startswith("--timeout")]
            minutes = int(re.fullmatch(r"--timeout=(\d+)m", flag).group(1))
            for chart in CHARTS:
                assert minutes * 60 >= _values(chart)["migrate"]["activeDeadlineSeconds"]
    (e2e,) = [p for p in app["profiles"] if p["name"] == "e2e"]
    assert all(r.get("wait") for r in e2e["deploy"]["helm"]["releases"])
    script = (ROOT / "scripts" / "e2e-kind.sh").read_text()
    assert "--iterative-status-check=true" in script  # infra ready before the charts


# ---- graceful scale-down ------------------------------------------------------------------
TASK_LIMITS = """
import json, django
django.setup()
from django.conf import settings
from celery import current_app as app
app.loader.import_default_modules()
out = {}
for name, task in sorted(app.tasks.items()):
    if name.startswith("celery."):
        continue
    route = app.amqp.router.route({}, name)
    out[name] = {
        "queue": route["queue"].name,
        "time_limit": task.time_limit or settings.CELERY_TASK_TIME_LIMIT,
        "soft_time_limit": task.soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT,
    }
print(json.dumps(out))
"""


def _task_limits(chart: str, config: dict[str, str]) -> dict[str, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        env.pop(name, None)
    env.update(
        {
            "BANKFLOW_ENV": "local",
            "BANKFLOW_LOCAL_DIR": str(ROOT / ".local" / "deploy-tests"),
            "DJANGO_SETTINGS_MODULE": f"{chart}.settings",
            "CELERY_TASK_TIME_LIMIT": config["CELERY_TASK_TIME_LIMIT"],
            "CELERY_TASK_SOFT_TIME_LIMIT": config["CELERY_TASK_SOFT_TIME_LIMIT"],
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", f"import {chart}.celery\n" + TASK_LIMITS],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_worker_outlives_the_longest_task_it_can_run(rendered, chart):
    """A scale-down sends SIGTERM, then SIGKILL after the grace period: every task routed to
    a pool's queues must finish (hard limit) within it, after the soft shutdown."""
    objects = rendered[(chart, "default")]
    config = one(objects, "ConfigMap", chart)["data"]
    tasks = _task_limits(chart, config)
    assert tasks, "no task found"
    soft_shutdown = float(config["CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT"])
    covered = set()
    for deployment in by_kind(objects, "Deployment"):
        main = pod_spec(deployment)["containers"][0]
        if "worker" not in main["command"]:
            continue
        queues = main["command"][main["command"].index("-Q") + 1].split(",")
        on_pool = {n: t for n, t in tasks.items() if t["queue"] in queues}
        grace = pod_spec(deployment)["terminationGracePeriodSeconds"]
        longest = max(t["time_limit"] for t in on_pool.values())
        name = deployment["metadata"]["name"]
        assert grace > longest + soft_shutdown, f"{name}: {grace}s <= {longest}s + {soft_shutdown}s"
        for task, limits in on_pool.items():
            assert limits["soft_time_limit"] < limits["time_limit"], task
            # No task outlasts the chart's own limit, which its render-time guard checks.
            assert limits["time_limit"] <= int(config["CELERY_TASK_TIME_LIMIT"]), task
        covered |= set(on_pool)
    assert covered == set(tasks), f"tasks no pool consumes: {set(tasks) - covered}"


# ---- disruptions and spreading -------------------------------------------------------------
def test_every_scalable_deployment_has_a_pdb_and_a_spread(rendered, chart):
    objects = rendered[(chart, "default")]
    pdbs = by_kind(objects, "PodDisruptionBudget")
    for deployment in by_kind(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        if deployment["spec"].get("strategy", {}).get("type") == "Recreate":
            continue  # beat: exactly one replica, never two at once
        labels = pod_labels(deployment)
        covering = [p for p in pdbs if matches(p["spec"]["selector"]["matchLabels"], labels)]
        assert len(covering) == 1, name
        assert covering[0]["spec"]["maxUnavailable"] >= 1, name  # a drain can always proceed
        spread = pod_spec(deployment)["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} >= {"kubernetes.io/hostname"}, name
        for c in spread:
            assert matches(c["labelSelector"]["matchLabels"], labels), name
            assert c["whenUnsatisfiable"] == "ScheduleAnyway", name  # one-node kind still schedules
            assert c["matchLabelKeys"] == ["pod-template-hash"], name


# ---- client traffic -------------------------------------------------------------------------
def test_ingress_and_httproute_send_traffic_to_the_web_service(renderer, chart):
    values = {
        **load_values(chart, "default"),
        "ingress": {"enabled": True, "className": "nginx", "hosts": [{"host": "api.bank.example"}]},
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "public", "namespace": "gw"}],
                      "hostnames": ["api.bank.example"]},
    }  # fmt: skip
    gateway = ("gateway.networking.k8s.io/v1/HTTPRoute",)
    objects = renderer.render(chart, values, api_versions=gateway)
    service = one(objects, "Service", chart)
    port = service["spec"]["ports"][0]
    (ingress,) = by_kind(objects, "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": chart, "port": {"name": port["name"]}}
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (route,) = by_kind(objects, "HTTPRoute")
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": chart, "port": port["port"]}]
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gw"}]
    with pytest.raises(helm.HelmRenderError, match="Gateway API"):
        renderer.render(chart, values, api_versions=())
    assert not by_kind(renderer.render(chart, load_values(chart, "default")), "Ingress")


def test_the_producer_web_policy_admits_the_ingress_controller(rendered):
    policy = one(rendered[("producer", "default")], "NetworkPolicy", "producer-web")
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    } in peers


# ---- hook copies of the credentials --------------------------------------------------------
def test_hook_copies_of_config_and_credentials_do_not_outlive_the_release(rendered, chart):
    """Helm never deletes hook resources with the release: the Job's copies of the Secret
    (database credentials), ConfigMap and ServiceAccount go once the hooks succeeded, and
    are pre-delete hooks too, so `helm uninstall` removes what a failed run left."""
    objects = rendered[(chart, "default")]
    copies = [
        o for o in objects if o["metadata"]["name"] == f"{chart}-migrate" and o["kind"] != "Job"
    ]
    assert {o["kind"] for o in copies} == {"Secret", "ConfigMap", "ServiceAccount"}
    for obj in copies:
        ann = obj["metadata"]["annotations"]
        assert "hook-succeeded" in ann["helm.sh/hook-delete-policy"].split(","), obj["kind"]
        assert "pre-delete" in ann["helm.sh/hook"].split(","), obj["kind"]
    job = one(objects, "Job", f"{chart}-migrate")
    assert (
        "pre-delete" not in job["metadata"]["annotations"]["helm.sh/hook"]
    )  # no migration on uninstall
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


# ---- names one chart gives the other -------------------------------------------------------
def test_each_chart_reaches_the_other_by_a_host_the_other_accepts(renderer):
    """CONSUMER_URL / PRODUCER_WEBHOOK_URL name the other chart's Service and port, and that
    Service's DJANGO_ALLOWED_HOSTS accepts the name (else every call is a 400)."""
    rendered = {c: renderer.render(c, _dev_values(c)) for c in CHARTS}
    urls = {
        "producer": one(rendered["producer"], "ConfigMap", "producer")["data"]["CONSUMER_URL"],
        "consumer": one(rendered["consumer"], "ConfigMap", "consumer")["data"][
            "PRODUCER_WEBHOOK_URL"
        ],
    }
    for caller, url in urls.items():
        target = "consumer" if caller == "producer" else "producer"
        parts = urllib.parse.urlsplit(url)
        service = one(rendered[target], "Service", parts.hostname.split(".")[0])
        assert parts.port == service["spec"]["ports"][0]["port"], url
        web = pod_spec(one(rendered[target], "Deployment", f"{target}-web"))
        (allowed,) = [
            e["value"]
            for c in containers(web)
            for e in c["env"]
            if e["name"] == "DJANGO_ALLOWED_HOSTS"
        ][:1]
        assert parts.hostname in allowed.split(","), url
