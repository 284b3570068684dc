"""Images, workflows, skaffold and the dev infrastructure: the files around the charts."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.deploylib import (
    CHARTS,
    DOCKERFILE,
    KUBERNETES_VERSION,
    ROOT,
    collectstatic,
    image_config,
)

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    if name == "uv" and os.environ.get("UV"):  # `uv run` names itself
        return os.environ["UV"]
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
def test_one_dockerfile_builds_both_images_and_hadolint_passes():
    assert not list(ROOT.glob("services/*/Dockerfile")), "the root Dockerfile builds both"
    done = subprocess.run(
        [_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_pinned_non_root_and_refuses_an_unknown_service():
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert bases and all(re.fullmatch(r"python:3\.11\.\d+-slim-\w+", b) for b in bases), bases
    assert re.search(r"COPY --from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ /uv /uvx /bin/", text)
    assert "--mount=type=cache,target=/root/.cache/uv" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    # Each stage declares the build argument; an unknown service stops the build at once.
    assert text.count("\nARG SERVICE\n") == len(bases)
    assert re.search(r'case "\$\{SERVICE\}" in producer\|consumer\) ;; \*\)', text)
    for secret in ("DJANGO_SECRET_KEY", "DATABASE_URL", "CONSUMER_API_TOKEN", "WEBHOOK_SECRET"):
        assert secret not in text, f"{secret} must not be baked into the image"


@pytest.mark.parametrize("service", CHARTS)
def test_the_image_of_each_service_matches_its_chart(service):
    image = image_config(service)
    values = _chart_values(service)
    assert values["podSecurityContext"]["runAsUser"] == int(image.user.split(":")[0])
    assert image.env["BANKFLOW_ENV"] == "production"
    assert image.env["DJANGO_SETTINGS_MODULE"] == f"{service}.settings"
    assert image.env["DJANGO_STATIC_ROOT"] == "/app/static"
    assert image.env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert image.env["PATH"].startswith("/app/.venv/bin:")
    # The default command is the chart's web command: the same gunicorn.conf.py.
    assert image.workdir == f"/app/services/{service}"
    assert image.cmd == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert f"/app/services/{service}/gunicorn.conf.py" in image.copies, (
        "the chart's web command reads this file"
    )
    assert (ROOT / "services" / service / "gunicorn.conf.py").exists()


def _sync_commands() -> list[list[str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [
        shlex.split(line.split("uv sync", 1)[1])
        for line in text.splitlines()
        if "uv sync" in line and line.lstrip().startswith(("RUN", "--mount", "uv sync"))
    ]


@pytest.mark.parametrize("service", CHARTS)
def test_the_image_installs_no_dev_only_package(service):
    """What the image's `uv sync` installs, read from the lock with the same flags (no
    Docker needed): runtime dependencies only, never the local stand-ins or test tools."""
    syncs = _sync_commands()
    assert len(syncs) == 2
    for flags in syncs:
        assert {"--locked", "--no-dev"} <= set(flags), flags
        assert flags[flags.index("--package") + 1] == "bankflow-${SERVICE}"
    assert "--no-editable" in syncs[-1]
    installed = _uv_export(service, "--no-dev")
    dev_group = _dev_group()
    assert {"fakeredis", "pytest", "ruff", "mypy", "hypothesis"} <= dev_group
    assert "fakeredis" not in installed
    assert {"django", "celery", "gunicorn", "psycopg", "redis"} <= installed
    leaked = (dev_group & installed) - RUNTIME_ALSO_IN_DEV
    assert not leaked, f"dev-group packages the image would install: {sorted(leaked)}"
    # The check can fail: the workspace's own export, dev group included, holds them.
    assert {"fakeredis", "pytest"} <= _uv_export(None)


# Dev-group packages that the runtime needs anyway (drf-spectacular depends on both).
RUNTIME_ALSO_IN_DEV = {"pyyaml", "jsonschema"}


def _normalise(requirement: str) -> str:
    return re.split(r"[=<>;\[ ~!]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _dev_group() -> set[str]:
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    return {_normalise(r) for r in groups["dev"] if isinstance(r, str)}


def _uv_export(service: str | None, *flags: str) -> set[str]:
    package = ["--package", f"bankflow-{service}"] if service else []
    done = subprocess.run(
        [_tool("uv"), "export", "--locked", *package, *flags,
         "--no-hashes", "--no-header", "--no-annotate", "--no-emit-workspace"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    names = set()
    for line in done.stdout.splitlines():
        if line and not line.startswith(("#", " ", "-e")):
            names.add(_normalise(line))
    return names


@pytest.mark.parametrize("service", CHARTS)
def test_the_image_collectstatic_step_writes_the_whitenoise_manifest(service, tmp_path):
    """Runs the Dockerfile's collectstatic RUN line (its variables, its command) here."""
    static = tmp_path / "static"
    collectstatic(service, static, tmp_path / "build")
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


E2E_SCRIPT = ROOT / "scripts" / "e2e-kind.sh"


def _workflow(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def _script_steps() -> list[str]:
    (line,) = re.findall(r"^STEPS=\((.*)\)$", E2E_SCRIPT.read_text(), re.MULTILINE)
    return line.split()


def test_the_e2e_workflow_runs_the_steps_make_e2e_kind_runs():
    """One path: the workflow's steps are the script's steps, in the order of `all`."""
    steps = _workflow("e2e-kind.yml")["jobs"]["e2e"]["steps"]
    runs = [s["run"].strip() for s in steps if s.get("run", "").startswith("scripts/e2e-kind.sh")]
    assert runs == [f"scripts/e2e-kind.sh {s}" for s in [*_script_steps(), "dump"]]
    assert _script_steps() == ["cluster", "images", "deploy", "test"]
    (dump,) = [s for s in steps if s.get("run") == "scripts/e2e-kind.sh dump"]
    assert dump["if"] == "failure()"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^e2e-kind:.*\n\tbash scripts/e2e-kind\.sh all$", makefile, re.MULTILINE)


def test_the_e2e_script_sets_what_the_e2e_tests_read_and_keeps_helm_test_logs():
    text = E2E_SCRIPT.read_text()
    for name in ("PRODUCER_URL", "CONSUMER_URL", "PRODUCER_API_KEY", "CONSUMER_API_TOKEN"):
        assert f"{name}=" in text
    assert "exec deployment/producer-web -c web -- producer create_client e2e" in text
    assert "uv run pytest tests/e2e" in text
    assert "kind load docker-image" in text and "skaffold deploy -p e2e" in text
    assert re.search(r"helm test .*--logs", text)
    assert '--build-arg "SERVICE=${service}"' in text


def test_the_e2e_script_passes_shellcheck():
    done = subprocess.run(
        [_tool("shellcheck"), str(E2E_SCRIPT)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_kind_gets_a_kubectl_of_the_node_minor():
    workflow = _workflow("e2e-kind.yml")
    (kind,) = [
        s for s in workflow["jobs"]["e2e"]["steps"] if "helm/kind-action" in s.get("uses", "")
    ]
    assert kind["with"]["kubectl_version"] == "${{ env.KUBECTL_VERSION }}"
    minor = workflow["env"]["KUBECTL_VERSION"].lstrip("v").rsplit(".", 1)[0]
    assert minor == KUBERNETES_VERSION.rsplit(".", 1)[0]


def test_the_gha_build_cache_is_used_only_where_the_runtime_is_exposed():
    """buildx's type=gha cache needs ACTIONS_RUNTIME_TOKEN, which a plain run step does not
    get: it silently does nothing unless an action exports it first."""
    script = E2E_SCRIPT.read_text()
    assert 'if [[ -n "${ACTIONS_RUNTIME_TOKEN:-}" ]]; then' in script
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            exposed = False
            for step in job["steps"]:
                exposed |= "crazy-max/ghaction-github-runtime" in step.get("uses", "")
                run = step.get("run", "")
                uses_cache = "type=gha" in run or (
                    "scripts/e2e-kind.sh images" in run and "type=gha" in script
                )
                assert not uses_cache or exposed, f"{path.name}: {run}"


# The first release of each action on the Node 24 runtime (GitHub retires Node 20).
NODE24_MAJORS = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "astral-sh/setup-uv": 7,
    "azure/setup-helm": 5,
    "helm/kind-action": 1,  # v1.13.0 and later
    "helm/chart-testing-action": 2,  # composite; v2.8.0 pins node24 actions inside
    "docker/setup-buildx-action": 4,
    "crazy-max/ghaction-github-runtime": 4,
}


def test_workflow_actions_run_on_node_24():
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        for ref in re.findall(r"uses:\s*(\S+)", path.read_text()):
            action, version = ref.split("@")
            assert action in NODE24_MAJORS, f"{path.name}: {action} has no known Node 24 major"
            major, minor, _ = (int(x) for x in version.lstrip("v").split("."))
            assert major >= NODE24_MAJORS[action], f"{path.name}: {ref}"
            if action == "helm/kind-action":
                assert minor >= 13, ref
            if action == "helm/chart-testing-action":
                assert minor >= 8, ref


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
        assert ROOT / artifact["docker"]["dockerfile"] == DOCKERFILE
        images[artifact["image"]] = artifact["docker"]["buildArgs"]["SERVICE"]
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
        chart_keys = set(_chart_values(chart)["secretEnv"])
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
        "e2e-kind",
        "chart-docs",
    ):
        assert re.search(rf"^{target}:.*## ", makefile, re.MULTILINE), target
    listed = subprocess.run(["make", "-s", "help"], capture_output=True, text=True, cwd=ROOT)
    assert "e2e-kind" in listed.stdout and "test-deploy" in listed.stdout


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
