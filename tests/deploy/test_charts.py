"""The charts, rendered offline for every value set, checked for what matters in a cluster."""

from __future__ import annotations

import base64
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.deploylib import (
    CHARTS,
    CRDS_DIR,
    KUBERNETES_VERSION,
    ROOT,
    by_kind,
    containers,
    crd_schemas,
    env_value,
    load_values,
    matches,
    one,
    pod_labels,
    pod_spec,
    strip_source,
    worker_deployments,
    workloads,
)

STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/version",
    "helm.sh/chart",
)
CRD_GROUPS = ("keda.sh/", "monitoring.coreos.com/")


def _objects(rendered, case):
    objects = rendered[case]
    assert objects, f"{case} rendered nothing"
    return objects


# ---- lint and schema validation ---------------------------------------------------------
def test_helm_lint_is_clean_for_every_value_set(renderer, case):
    chart, value_set = case
    report = helm.lint(
        renderer.path(chart),
        load_values(chart, value_set),
        strict=True,
        namespace="bankflow",
        kube_version=f"v{KUBERNETES_VERSION}",
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems, problems
    assert not report["errors"], report["errors"]


def test_every_builtin_object_is_valid_for_the_pinned_kubernetes(rendered, case):
    checked = 0
    for obj in _objects(rendered, case):
        if obj["apiVersion"].startswith(CRD_GROUPS):
            continue
        try:
            kubernetes_validate.validate(strip_source(obj), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc.message}")
        checked += 1
    assert checked >= 8


@pytest.mark.skipif(
    not CRDS_DIR.is_dir(), reason=f"upstream CRDs not found at {CRDS_DIR} (../shared/crds)"
)
def test_keda_and_prometheus_objects_match_the_upstream_crds(rendered, case):
    schemas = crd_schemas()
    custom = [o for o in _objects(rendered, case) if o["apiVersion"].startswith(CRD_GROUPS)]
    for obj in custom:
        schema = schemas.get((obj["apiVersion"], obj["kind"]))
        assert schema is not None, f"no CRD for {obj['apiVersion']} {obj['kind']}"
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(strip_source(obj)), key=str)
        assert not errors, f"{obj['kind']}/{obj['metadata']['name']}: " + "; ".join(
            f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors
        )


def test_the_crd_check_refuses_unknown_fields():
    if not CRDS_DIR.is_dir():
        pytest.skip(f"upstream CRDs not found at {CRDS_DIR}")
    schema = crd_schemas()[("keda.sh/v1alpha1", "ScaledObject")]
    bogus = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "x"}, "triggers": [], "minReplicas": 1},
    }
    assert list(jsonschema.Draft7Validator(schema).iter_errors(bogus))


def test_values_schema_refuses_insecure_values(renderer):
    # One structure for both charts: test_docs.test_the_schemas_of_both_charts_have_one_structure.
    chart = renderer.chart("producer")
    chart.validate_schema(chart.merge_values(None))
    for bad in (
        {"securityContext": {"readOnlyRootFilesystem": False}},
        {"podSecurityContext": {"runAsNonRoot": False}},
        {"worker": {"queues": []}},
        {"web": {"port": 0}},
        {"unknownKey": 1},
    ):
        with pytest.raises(helm.HelmValuesError):
            chart.validate_schema(chart.merge_values(bad))


# ---- labels, selectors, ports -------------------------------------------------------------
def test_every_object_carries_the_standard_labels(rendered, case):
    for obj in _objects(rendered, case):
        labels = obj["metadata"].get("labels", {})
        missing = [
            k
            for k in STANDARD_LABELS
            if k not in labels
            and not (k.endswith("component") and obj["kind"] in {"ServiceAccount", "NetworkPolicy"})
        ]
        assert not missing, f"{obj['kind']}/{obj['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/part-of"] == "bankflow"


def test_selectors_match_pod_labels(rendered, case):
    objects = _objects(rendered, case)
    pods = {o["metadata"]["name"]: pod_labels(o) for o, _ in workloads(objects)}
    for obj in by_kind(objects, "Deployment"):
        selector = obj["spec"]["selector"]["matchLabels"]
        assert matches(selector, pod_labels(obj)), obj["metadata"]["name"]
        others = [n for n, labels in pods.items() if n != obj["metadata"]["name"]]
        overlap = [n for n in others if matches(selector, pods[n])]
        assert not overlap, f"{obj['metadata']['name']} selects {overlap} too"
    for svc in by_kind(objects, "Service"):
        selected = [
            o
            for o in by_kind(objects, "Deployment")
            if matches(svc["spec"]["selector"], pod_labels(o))
        ]
        assert [o["metadata"]["name"] for o in selected] == [f"{svc['metadata']['name']}-web"]
        ports = {
            p["name"]: p["containerPort"]
            for c in containers(pod_spec(selected[0]))
            for p in c.get("ports", [])
        }
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports
    for pdb in by_kind(objects, "PodDisruptionBudget"):
        assert any(matches(pdb["spec"]["selector"]["matchLabels"], lbl) for lbl in pods.values())
    for np in by_kind(objects, "NetworkPolicy"):
        assert any(matches(np["spec"]["podSelector"]["matchLabels"], lbl) for lbl in pods.values())
    deployments = {d["metadata"]["name"] for d in by_kind(objects, "Deployment")}
    for scaler in [*by_kind(objects, "HorizontalPodAutoscaler"), *by_kind(objects, "ScaledObject")]:
        assert scaler["spec"]["scaleTargetRef"]["name"] in deployments


def test_security_contexts_on_every_pod_and_container(rendered, case):
    for obj, spec in workloads(_objects(rendered, case)):
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] == 10001, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for c in containers(spec):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["runAsNonRoot"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", name
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            if obj["kind"] != "Pod":  # the helm test pod writes nothing
                assert "emptyDir" in volumes[mounts["/tmp"]], f"{name}: /tmp is not an emptyDir"  # noqa: S108
            multiproc = env_value(c, "PROMETHEUS_MULTIPROC_DIR")
            if multiproc:
                assert "emptyDir" in volumes[mounts[multiproc]], f"{name}: {multiproc}"


def test_requests_and_limits_on_every_container(rendered, case):
    for obj, spec in workloads(_objects(rendered, case)):
        for c in containers(spec):
            res = c.get("resources", {})
            where = f"{obj['metadata']['name']}/{c['name']}"
            assert {"cpu", "memory"} <= set(res.get("requests", {})), where
            assert "memory" in res.get("limits", {}), where


def test_web_and_worker_have_probes_that_fit(rendered, case):
    chart, _ = case
    objects = _objects(rendered, case)
    web = pod_spec(one(objects, "Deployment", f"{chart}-web"))["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in web["ports"]}
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert ports["http"] == int(env_value(web, "PORT"))
    assert web["command"][-1] == f"/app/services/{chart}/gunicorn.conf.py"
    assert "$(POD_IP)" in env_value(web, "DJANGO_ALLOWED_HOSTS").split(",")

    worker_obj = one(objects, "Deployment", f"{chart}-worker")
    worker = pod_spec(worker_obj)["containers"][0]
    probe = worker["livenessProbe"]["exec"]["command"]
    assert probe[:3] == ["python", "-m", "bankflow.heartbeat"]
    max_age = int(probe[probe.index("--max-age") + 1])
    assert max_age >= 3 * int(env_value(worker, "CELERY_HEARTBEAT_INTERVAL"))
    assert env_value(worker, "CELERY_HEARTBEAT_FILE").startswith("/tmp/")  # noqa: S108
    metrics = {p["name"]: p["containerPort"] for p in worker["ports"]}["metrics"]
    assert int(env_value(worker, "METRICS_PORT")) == metrics


def test_worker_outlives_its_longest_task_on_shutdown(rendered, case):
    chart, _ = case
    objects = _objects(rendered, case)
    config = one(objects, "ConfigMap", chart)["data"]
    worker = pod_spec(one(objects, "Deployment", f"{chart}-worker"))
    limit = int(config["CELERY_TASK_TIME_LIMIT"]) + float(
        config["CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT"]
    )
    assert worker["terminationGracePeriodSeconds"] > limit
    assert int(config["CELERY_TASK_SOFT_TIME_LIMIT"]) < int(config["CELERY_TASK_TIME_LIMIT"])


def test_chart_refuses_a_grace_period_shorter_than_the_task_limit(renderer):
    with pytest.raises(helm.HelmRenderError, match="terminationGracePeriodSeconds"):
        renderer.render("producer", {"worker": {"terminationGracePeriodSeconds": 60}})


def test_beat_is_a_singleton_that_is_never_doubled(rendered, case):
    chart, _ = case
    beats = [
        d
        for d in by_kind(_objects(rendered, case), "Deployment")
        if d["metadata"]["name"] == f"{chart}-beat"
    ]
    for beat in beats:
        assert beat["spec"]["replicas"] == 1
        assert beat["spec"]["strategy"] == {"type": "Recreate"}
        command = beat["spec"]["template"]["spec"]["containers"][0]["command"]
        at = command.index("beat")
        assert command[at : at + 3] == ["beat", "-s", "/tmp/celerybeat-schedule"]  # noqa: S108
        assert command[:2] == ["celery", "--quiet"]  # no banner among the JSON log lines


# ---- KEDA and the Celery queues ---------------------------------------------------------
def test_keda_triggers_and_worker_queues_equal_the_celery_settings(rendered, case, celery_queues):
    """Every Celery queue is consumed by exactly one worker pool, and each pool's KEDA
    triggers (or its HPA, without KEDA) follow its own queues."""
    chart, value_set = case
    objects = _objects(rendered, case)
    pools = {}
    for deployment in worker_deployments(objects):
        cmd = pod_spec(deployment)["containers"][0]["command"]
        pools[deployment["metadata"]["name"]] = cmd[cmd.index("-Q") + 1].split(",")
    consumed = [q for queues in pools.values() for q in queues]
    assert sorted(consumed) == sorted(celery_queues[chart]), pools
    scaled = {so["spec"]["scaleTargetRef"]["name"]: so for so in by_kind(objects, "ScaledObject")}
    hpas = {
        h["spec"]["scaleTargetRef"]["name"] for h in by_kind(objects, "HorizontalPodAutoscaler")
    }
    if value_set == "keda-off":
        assert not scaled
        assert set(pools) <= hpas
        return
    assert set(scaled) == set(pools)
    auths = {a["metadata"]["name"]: a for a in by_kind(objects, "TriggerAuthentication")}
    secret_name = (load_values(chart, value_set) or {}).get("existingSecret") or chart
    for name, queues in pools.items():
        triggers = scaled[name]["spec"]["triggers"]
        assert [t["metadata"]["queueName"] for t in triggers] == queues
        for t in triggers:
            assert t["type"] == "rabbitmq"
            assert t["metadata"]["mode"] == "QueueLength"
            assert t["metadata"]["protocol"] == "http"
            ref = auths[t["authenticationRef"]["name"]]["spec"]["secretTargetRef"]
            assert ref == [
                {"parameter": "host", "name": secret_name, "key": "RABBITMQ_MANAGEMENT_URL"}
            ]
    assert not set(pools) & hpas  # KEDA scales them: no CPU HPA beside it


def test_webhook_deliveries_run_in_their_own_threads_pool(rendered):
    """They wait on the producer: a processing slot must never be the one waiting."""
    objects = rendered[("consumer", "default")]
    commands = {
        d["metadata"]["name"]: pod_spec(d)["containers"][0]["command"]
        for d in worker_deployments(objects)
    }
    webhooks = commands["consumer-webhooks"]
    assert webhooks[webhooks.index("-Q") + 1] == "consumer.webhooks"
    assert webhooks[webhooks.index("--pool") + 1] == "threads"
    processing = commands["consumer-worker"]
    assert processing[processing.index("-Q") + 1] == "consumer.process"
    assert processing[processing.index("--pool") + 1] == "prefork"


# ---- network policies -------------------------------------------------------------------
def _ingress_ports(np: dict[str, Any]) -> set[int]:
    return {p["port"] for rule in np["spec"].get("ingress", []) for p in rule.get("ports", [])}


def test_network_policy_ports_equal_the_service_and_container_ports(rendered, case):
    chart, value_set = case
    objects = _objects(rendered, case)
    policies = {np["metadata"]["name"]: np for np in by_kind(objects, "NetworkPolicy")}
    if value_set == "existing-secret":  # this value set turns policies off
        assert not policies
        return
    deny = policies[f"{chart}-default-deny"]
    assert deny["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny["spec"]
    web = pod_spec(one(objects, "Deployment", f"{chart}-web"))["containers"][0]
    worker = pod_spec(one(objects, "Deployment", f"{chart}-worker"))["containers"][0]
    svc = one(objects, "Service", chart)
    web_port = {p["name"]: p["containerPort"] for p in web["ports"]}[
        svc["spec"]["ports"][0]["targetPort"]
    ]
    assert _ingress_ports(policies[f"{chart}-web"]) == {web_port}
    assert _ingress_ports(policies[f"{chart}-worker"]) == {
        p["containerPort"] for p in worker["ports"]
    }


def _peers(np: dict[str, Any]) -> list[dict[str, Any]]:
    return [peer for rule in np["spec"]["ingress"] for peer in rule["from"]]


def test_consumer_intake_is_reachable_only_from_the_producer_worker(rendered):
    objects = rendered[("consumer", "default")]
    peers = _peers(one(objects, "NetworkPolicy", "consumer-web"))
    pod_peers = [p for p in peers if "podSelector" in p and "namespaceSelector" not in p]
    assert {tuple(sorted(p["podSelector"]["matchLabels"].items())) for p in pod_peers} == {
        (("app.kubernetes.io/component", "worker"), ("app.kubernetes.io/name", "producer")),
        (
            ("app.kubernetes.io/component", "test"),
            ("app.kubernetes.io/instance", "consumer"),
            ("app.kubernetes.io/name", "consumer"),
        ),
    }
    namespaces = [p for p in peers if "namespaceSelector" in p]
    assert [p["namespaceSelector"]["matchLabels"] for p in namespaces] == [
        {"kubernetes.io/metadata.name": "monitoring"}
    ]
    assert not [p for p in peers if "ipBlock" in p]


def test_producer_webhooks_are_reachable_from_the_consumers_webhooks_pool(rendered):
    objects = rendered[("producer", "default")]
    peers = _peers(one(objects, "NetworkPolicy", "producer-web"))
    assert {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "consumer",
                "app.kubernetes.io/component": "webhooks",
            }
        }
    } in peers
    worker_peers = _peers(one(objects, "NetworkPolicy", "producer-worker"))
    assert worker_peers == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


# ---- the migration hook -----------------------------------------------------------------
def test_migrations_run_as_a_pre_install_hook_with_what_they_need(rendered, case):
    chart, value_set = case
    objects = _objects(rendered, case)
    job = one(objects, "Job", f"{chart}-migrate")
    ann = job["metadata"]["annotations"]
    assert set(ann["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in ann["helm.sh/hook-delete-policy"].split(",")
    assert job["spec"]["activeDeadlineSeconds"] > 0
    spec = pod_spec(job)
    assert spec["containers"][0]["command"] == [chart, "migrate", "--noinput"]
    weight = int(ann["helm.sh/hook-weight"])
    existing = (load_values(chart, value_set) or {}).get("existingSecret")
    refs = [("ConfigMap", spec["containers"][0]["envFrom"][0]["configMapRef"]["name"])]
    secret = spec["containers"][0]["envFrom"][1]["secretRef"]["name"]
    if existing:
        assert secret == existing
    else:
        refs.append(("Secret", secret))
    if spec["serviceAccountName"] != "default" and value_set != "existing-secret":
        refs.append(("ServiceAccount", spec["serviceAccountName"]))
    events = set(ann["helm.sh/hook"].split(","))
    for kind, name in refs:  # they exist before the job: hooks with a lower weight
        dep = one(objects, kind, name)
        dep_ann = dep["metadata"]["annotations"]
        assert events <= set(dep_ann["helm.sh/hook"].split(",")), f"{kind}/{name}"
        assert int(dep_ann["helm.sh/hook-weight"]) < weight, f"{kind}/{name}"


# ---- checksums -------------------------------------------------------------------------
def _checksums(objects, chart):
    return {
        d["metadata"]["name"]: (
            d["spec"]["template"]["metadata"]["annotations"]["checksum/config"],
            d["spec"]["template"]["metadata"]["annotations"]["checksum/secret"],
        )
        for d in by_kind(objects, "Deployment")
    }


def test_checksums_change_with_config_or_secret_and_only_then(renderer, chart):
    base = load_values(chart, "default")
    before = _checksums(renderer.render(chart, base), chart)
    assert before == _checksums(renderer.render(chart, base), chart)
    rendered_pools = len(worker_deployments(renderer.render(chart, base)))
    assert rendered_pools >= 1
    assert len(before) == 2 + rendered_pools  # web, beat and each worker pool

    config = _checksums(
        renderer.render(chart, {**base, "app": {"config": {"LOG_LEVEL": "DEBUG"}}}), chart
    )
    secret = _checksums(
        renderer.render(
            chart, {**base, "secretEnv": {**base["secretEnv"], "DJANGO_SECRET_KEY": "rotated"}}
        ),
        chart,
    )
    for name in before:
        assert config[name][0] != before[name][0] and config[name][1] == before[name][1]
        assert secret[name][1] != before[name][1] and secret[name][0] == before[name][0]


def test_chart_secret_holds_exactly_the_given_values(rendered, chart):
    values = load_values(chart, "default")
    objects = rendered[(chart, "default")]
    secret = one(objects, "Secret", chart)
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {k: v for k, v in values["secretEnv"].items() if v}
    config = one(objects, "ConfigMap", chart)["data"]
    assert not set(config) & set(decoded), "a secret leaked into the ConfigMap"
    assert config["BANKFLOW_ENV"] == "production"


# ---- monitors, test pod, notes ----------------------------------------------------------
def test_monitors_point_at_real_ports(rendered, chart):
    objects = rendered[(chart, "monitoring-on")]
    sm = one(objects, "ServiceMonitor", f"{chart}-web")
    svc = one(objects, "Service", chart)
    assert matches(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
    assert sm["spec"]["endpoints"][0]["port"] in {p["name"] for p in svc["spec"]["ports"]}
    pm = one(objects, "PodMonitor", f"{chart}-worker")
    worker = one(objects, "Deployment", f"{chart}-worker")
    assert matches(pm["spec"]["selector"]["matchLabels"], pod_labels(worker))
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] in {
        p["name"] for p in pod_spec(worker)["containers"][0]["ports"]
    }
    for name in (f"{chart}-web", f"{chart}-worker"):
        ann = one(objects, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true"
    rule = one(objects, "PrometheusRule", chart)
    assert rule["spec"]["groups"][0]["rules"]
    assert not by_kind(rendered[(chart, "default")], "ServiceMonitor")
    assert not by_kind(rendered[(chart, "default")], "PrometheusRule")


def test_helm_test_pod_checks_readyz(rendered, chart):
    objects = rendered[(chart, "default")]
    pod = one(objects, "Pod", f"{chart}-test-readyz")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["command"][-1]
    port = one(objects, "Service", chart)["spec"]["ports"][0]["port"]
    assert f"http://{chart}:{port}/readyz" in script


def test_notes_show_the_port_forward_commands(renderer, chart):
    notes = renderer.render_files(chart)[f"{chart}/templates/NOTES.txt"]
    port = 8000 if chart == "producer" else 8001
    assert f"port-forward service/{chart} {port}:{port}" in notes
    assert "WARNING" in notes  # default values carry no secrets
    assert (
        "WARNING"
        not in renderer.render_files(chart, load_values(chart, "default"))[
            f"{chart}/templates/NOTES.txt"
        ]
    )


def test_ci_value_sets_cover_the_documented_variants():
    for chart in CHARTS:
        names = {p.name for p in (ROOT / "charts" / chart / "ci").glob("*.yaml")}
        assert {
            "default-values.yaml",
            "keda-off-values.yaml",
            "monitoring-on-values.yaml",
            "existing-secret-values.yaml",
        } <= names
        for path in (ROOT / "charts" / chart / "ci").glob("*.yaml"):
            assert yaml.safe_load(path.read_text()), path
