"""Images, workflows, skaffold and the dev infrastructure: the files around the charts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.deploylib import CHARTS, KUBERNETES_VERSION, ROOT

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is missing: run `uv sync` (it is in the dev group)")
    return found


def _chart_values(chart: str) -> dict:
    return yaml.safe_load((ROOT / "charts" / chart / "values.yaml").read_text())


# ---- images ---------------------------------------------------------------------------
def test_hadolint_passes_on_both_dockerfiles():
    files = [str(ROOT / "services" / s / "Dockerfile") for s in CHARTS]
    done = subprocess.run([_tool("hadolint"), *files], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("service", CHARTS)
def test_dockerfile_is_pinned_non_root_and_matches_the_chart(service):
    text = (ROOT / "services" / service / "Dockerfile").read_text()
    values = _chart_values(service)
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert bases and all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+", b) for b in bases), bases
    assert re.search(r"COPY --from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ /uv /uvx /bin/", text)
    assert f"uv sync --locked --no-dev --no-editable --package bankflow-{service}" in text
    assert "--mount=type=cache,target=/root/.cache/uv" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert values["podSecurityContext"]["runAsUser"] == 10001
    assert "BANKFLOW_ENV=production" in text and "DJANGO_STATIC_ROOT=/app/static" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    exposed = {int(p) for p in re.search(r"^EXPOSE (.+)$", text, re.MULTILINE).group(1).split()}
    assert exposed == {values["web"]["port"], values["worker"]["metricsPort"]}
    cmd = re.search(r"^CMD (.+)$", text, re.MULTILINE).group(1)
    assert yaml.safe_load(cmd) == ["gunicorn", "-c", f"/app/services/{service}/gunicorn.conf.py"]
    assert (
        f"COPY services/{service}/gunicorn.conf.py /app/services/{service}/gunicorn.conf.py" in text
    )
    for secret in ("DJANGO_SECRET_KEY", "DATABASE_URL", "CONSUMER_API_TOKEN", "WEBHOOK_SECRET"):
        assert secret not in text, f"{secret} must not be baked into the image"


@pytest.mark.parametrize("service", CHARTS)
def test_the_image_collectstatic_step_writes_the_whitenoise_manifest(service, tmp_path):
    """Runs the Dockerfile's collectstatic RUN line (its variables, its command) here."""
    text = (ROOT / "services" / service / "Dockerfile").read_text().replace("\\\n", " ")
    (run,) = [line for line in text.splitlines() if "collectstatic" in line and "RUN" in line]
    words = run.split("RUN", 1)[1].split("&&")[0].split()
    assignments = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=\S+", w))
    command = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S+", w)]
    assert command[0] == f"/app/.venv/bin/{service}" and "collectstatic" in command
    static = tmp_path / "static"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        **assignments,
        "BANKFLOW_LOCAL_DIR": str(tmp_path / "build"),
        "DJANGO_STATIC_ROOT": str(static),
    }
    assert assignments["BANKFLOW_ENV"] == "local"
    done = subprocess.run(
        [str(BIN / service), *command[1:]], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = (static / "staticfiles.json").read_text()
    assert "admin/css/base.css" in manifest


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    first_rule = next(line for line in lines if line and not line.startswith("#"))
    assert first_rule == "**"
    allowed = [line[1:] for line in lines if line.startswith("!")]
    assert not any(a.startswith((".local", ".venv", ".git", "k8s")) for a in allowed)


# ---- workflows -------------------------------------------------------------------------
def test_actionlint_passes_on_the_workflows():
    files = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert {Path(f).name for f in files} >= {"ci.yml", "e2e-kind.yml"}
    done = subprocess.run([_tool("actionlint"), *files], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_actions_are_pinned_to_exact_versions():
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        for ref in re.findall(r"uses:\s*(\S+)", path.read_text()):
            assert re.search(r"@(v\d+\.\d+\.\d+|[0-9a-f]{40})$", ref), f"{path.name}: {ref}"


def test_ci_runs_the_make_targets_and_the_backing_services():
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    runs = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    assert "make lint" in runs and "make test" in runs
    services = ci["jobs"]["test"]["services"]
    ports = {p.split(":")[0] for svc in services.values() for p in svc["ports"]}
    assert {"5432", "5672", "6379"} <= ports
    assert any("ct lint" in r for r in runs) and any("kubeconform" in r for r in runs)


def test_e2e_workflow_sets_what_the_e2e_tests_read():
    wf = (ROOT / ".github/workflows/e2e-kind.yml").read_text()
    for name in ("PRODUCER_URL", "CONSUMER_URL", "PRODUCER_API_KEY", "CONSUMER_API_TOKEN"):
        assert name in wf
    assert "create_client e2e" in wf and "uv run pytest tests/e2e" in wf
    assert "kind load docker-image" in wf and "skaffold deploy -p e2e" in wf


# ---- skaffold ---------------------------------------------------------------------------
def _skaffold() -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / "skaffold.yaml").read_text()) if d]


def _all_releases(config: dict) -> list[dict]:
    releases = list(config.get("deploy", {}).get("helm", {}).get("releases", []))
    for profile in config.get("profiles", []):
        releases += profile.get("deploy", {}).get("helm", {}).get("releases", [])
    return releases


def test_skaffold_names_only_things_that_exist():
    configs = _skaffold()
    assert [c["metadata"]["name"] for c in configs] == ["bankflow-infra", "bankflow"]
    for path in configs[0]["manifests"]["kustomize"]["paths"]:
        assert (ROOT / path / "kustomization.yaml").exists()
    app = configs[1]
    images = {}
    for artifact in app["build"]["artifacts"]:
        assert artifact["context"] == "."
        dockerfile = ROOT / artifact["docker"]["dockerfile"]
        assert dockerfile.exists(), dockerfile
        images[artifact["image"]] = dockerfile.parent.name
    assert images == {f"bankflow-{s}": s for s in CHARTS}
    for release in _all_releases(app):
        if "remoteChart" in release:
            assert re.fullmatch(r"\d+\.\d+\.\d+", str(release["version"])), release["name"]
            continue
        chart = ROOT / release["chartPath"]
        assert (chart / "Chart.yaml").exists()
        assert _chart_values(chart.name)["image"]["repository"] == f"bankflow-{chart.name}"
        key = f"bankflow_{chart.name}"
        assert release["setValueTemplates"] == {
            "image.repository": f"{{{{.IMAGE_REPO_{key}}}}}",
            "image.tag": f"{{{{.IMAGE_TAG_{key}}}}}",
        }
        for values in release.get("valuesFiles", []):
            assert (ROOT / values).exists(), values
    profiles = {p["name"] for p in app["profiles"]}
    assert {"e2e", "observability"} <= profiles


def test_skaffold_port_forwards_the_chart_ports():
    app = _skaffold()[1]
    forwards = {(f["resourceName"], f["localPort"]) for f in app["portForward"]}
    assert forwards == {(c, _chart_values(c)["web"]["service"]["port"]) for c in CHARTS}
    (obs,) = [p for p in app["profiles"] if p["name"] == "observability"]
    local = {f["localPort"] for f in obs["portForward"]}
    assert {8000, 8001, 3000, 9090} <= local


# ---- the dev cluster ---------------------------------------------------------------------
def _infra_objects() -> list[dict]:
    folder = ROOT / "k8s" / "infra"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    objects = []
    for resource in kustomization["resources"]:
        objects += [d for d in yaml.safe_load_all((folder / resource).read_text()) if d]
    for generator in kustomization.get("configMapGenerator", []):
        for entry in generator["files"]:
            assert (folder / entry.split("=")[-1]).exists(), entry
    return objects


def test_dev_infrastructure_is_valid_probed_and_resourced():
    objects = _infra_objects()
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    workloads = [o for o in objects if o["kind"] in {"Deployment", "StatefulSet"}]
    assert {w["metadata"]["name"] for w in workloads} == {"postgres", "rabbitmq", "redis"}
    for w in workloads:
        for c in w["spec"]["template"]["spec"]["containers"]:
            # postgres versions are major.minor; the others major.minor.patch
            assert re.search(r":\d+\.\d+(\.\d+)?-", c["image"]), f"{c['image']} is not pinned"
            assert "readinessProbe" in c and "livenessProbe" in c, c["name"]
            assert c["resources"]["requests"] and c["resources"]["limits"], c["name"]


def test_dev_secrets_are_marked_and_match_what_the_charts_read():
    secrets = {o["metadata"]["name"]: o for o in _infra_objects() if o["kind"] == "Secret"}
    text = (ROOT / "k8s" / "infra" / "dev-secrets.yaml").read_text()
    assert "DEV ONLY" in text
    for chart in CHARTS:
        values = yaml.safe_load((ROOT / "k8s" / "values" / f"{chart}-dev.yaml").read_text())
        secret = secrets[values["existingSecret"]]
        assert secret["metadata"]["annotations"]["bankflow.dev/dev-only"] == "true"
        data = secret["stringData"]
        chart_keys = {k for k in _chart_values(chart)["secretEnv"] if k != "REDIS_URL"}
        assert chart_keys <= set(data), chart_keys - set(data)
        assert all(v.startswith(("dev-only", "whsec_", "postgres://", "amqp://", "redis://",
                                 "http://")) for v in data.values())  # fmt: skip
        assert data["DATABASE_URL"].endswith(f"/{chart}")
    assert (
        secrets["producer-secrets"]["stringData"]["WEBHOOK_SECRETS"].split(",")[0]
        == secrets["consumer-secrets"]["stringData"]["WEBHOOK_SECRET"]
    )
    assert (
        secrets["producer-secrets"]["stringData"]["CONSUMER_API_TOKEN"]
        == secrets["consumer-secrets"]["stringData"]["CONSUMER_API_TOKEN"]
    )


def test_kind_node_matches_the_validated_kubernetes_version():
    config = yaml.safe_load((ROOT / "k8s" / "kind-config.yaml").read_text())
    image = config["nodes"][0]["image"]
    assert image.startswith(f"kindest/node:v{KUBERNETES_VERSION.rsplit('.', 1)[0]}.")
    assert "@sha256:" in image


def test_makefile_keeps_its_targets_and_adds_the_kubernetes_ones():
    makefile = (ROOT / "Makefile").read_text()
    for target in (
        "run",
        "test",
        "test-deploy",
        "lint",
        "kind-up",
        "kind-down",
        "dev",
    ):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target


def test_every_make_target_is_in_make_help_and_no_two_do_the_same():
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z0-9-]+):(.*)$", makefile, re.MULTILINE)
    undocumented = [name for name, rest in targets if "## " not in rest]
    assert not undocumented, f"targets missing from `make help`: {undocumented}"
    recipes: dict[str, str] = {}
    for block in re.split(r"^(?=[a-z0-9-]+:)", makefile, flags=re.MULTILINE):
        name, _, rest = block.partition(":")
        body = "\n".join(line.strip() for line in rest.splitlines()[1:] if line.startswith("\t"))
        if body:
            assert body not in recipes, f"{name} does what {recipes[body]} does"
            recipes[body] = name
    listed = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    assert {name for name, _ in targets} <= set(
        re.findall(r"^  ([a-z0-9-]+) ", listed.stdout, re.M)
    )
