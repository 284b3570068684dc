#!/usr/bin/env bash
# The kind end-to-end path, one step per subcommand. .github/workflows/e2e-kind.yml runs
# these steps in this order, and `make e2e-kind` runs them all for a developer with Docker,
# kind, kubectl, Helm and Skaffold (docs/kubernetes.md, "The end-to-end run"):
#
#   scripts/e2e-kind.sh all       cluster, images, deploy, test
#   scripts/e2e-kind.sh cluster   create the kind cluster (k8s/kind-config.yaml) unless it exists
#   scripts/e2e-kind.sh images    build both images from the one Dockerfile, load them into kind
#   scripts/e2e-kind.sh deploy    skaffold's e2e profile: k8s/infra first, then both charts;
#                                 wait for every rollout; `helm test --logs` each release
#   scripts/e2e-kind.sh test      port-forward both services, create a client, run tests/e2e
#   scripts/e2e-kind.sh dump      pods, logs and events (after a failure)
#   scripts/e2e-kind.sh down      delete the cluster
#
# Variables: KIND_CLUSTER (bankflow), NAMESPACE (bankflow), E2E_TAG (e2e), PRODUCER_PORT
# (8000), CONSUMER_PORT (8001). In GitHub Actions, where the runtime is exposed to run
# steps (crazy-max/ghaction-github-runtime), the image builds use the gha cache.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER="${KIND_CLUSTER:-bankflow}"
CONTEXT="kind-${CLUSTER}"
NAMESPACE="${NAMESPACE:-bankflow}"
TAG="${E2E_TAG:-e2e}"
PRODUCER_PORT="${PRODUCER_PORT:-8000}"
CONSUMER_PORT="${CONSUMER_PORT:-8001}"
SERVICES=(producer consumer)
STEPS=(cluster images deploy test)

log() { printf '\n[e2e-kind] %s\n' "$*" >&2; }

need() {
  local missing=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if ((${#missing[@]})); then
    echo "[e2e-kind] missing: ${missing[*]} (docs/kubernetes.md lists how to install them)" >&2
    exit 2
  fi
}

mask() {  # keep a secret out of GitHub's logs
  if [[ -n "${GITHUB_ACTIONS:-}" ]]; then echo "::add-mask::$1"; fi
}

step_cluster() {
  need kind kubectl
  if ! kind get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
    log "creating the kind cluster ${CLUSTER}"
    kind create cluster --name "${CLUSTER}" --config k8s/kind-config.yaml --wait 120s
  fi
  kubectl --context "${CONTEXT}" cluster-info
  # The node's Kubernetes and the client's should be the same minor (kind-action pins it).
  kubectl --context "${CONTEXT}" version
}

step_images() {
  need docker kind
  for service in "${SERVICES[@]}"; do
    local cache=()
    if [[ -n "${ACTIONS_RUNTIME_TOKEN:-}" ]]; then
      cache=(--cache-from "type=gha,scope=${service}" --cache-to "type=gha,mode=max,scope=${service}")
    fi
    log "building bankflow-${service}:${TAG}"
    docker buildx build --load --build-arg "SERVICE=${service}" "${cache[@]}" \
      -t "bankflow-${service}:${TAG}" .
    kind load docker-image "bankflow-${service}:${TAG}" --name "${CLUSTER}"
  done
}

step_deploy() {
  need skaffold kubectl helm
  log "deploying k8s/infra, then both charts (skaffold profile e2e)"
  # Two skaffold configs in order; --iterative-status-check waits for the infrastructure's
  # rollouts before the charts are installed (the charts' pods also wait themselves:
  # python -m bankflow.wait in an init container).
  skaffold deploy -p e2e --kube-context "${CONTEXT}" --iterative-status-check=true \
    --images "bankflow-producer=bankflow-producer:${TAG}" \
    --images "bankflow-consumer=bankflow-consumer:${TAG}"
  local deployments
  deployments="$(kubectl --context "${CONTEXT}" -n "${NAMESPACE}" get deployments \
    -l app.kubernetes.io/part-of=bankflow -o name)"
  for deployment in ${deployments}; do
    kubectl --context "${CONTEXT}" -n "${NAMESPACE}" rollout status "${deployment}" --timeout=300s
  done
  for release in "${SERVICES[@]}"; do
    log "helm test ${release}"
    helm test "${release}" --kube-context "${CONTEXT}" -n "${NAMESPACE}" --logs --timeout 2m
  done
}

PIDS=()
stop_port_forwards() {
  for pid in "${PIDS[@]}"; do kill "${pid}" 2>/dev/null || true; done
}

wait_ready() {
  local port=$1
  for _ in $(seq 1 60); do
    if curl -sf "http://127.0.0.1:${port}/readyz" >/dev/null; then
      curl -s "http://127.0.0.1:${port}/readyz"; echo
      return 0
    fi
    sleep 1
  done
  echo "[e2e-kind] nothing answers /readyz on port ${port}" >&2
  return 1
}

step_test() {
  need kubectl uv curl
  trap stop_port_forwards EXIT
  log "port-forwarding producer to ${PRODUCER_PORT} and consumer to ${CONSUMER_PORT}"
  kubectl --context "${CONTEXT}" -n "${NAMESPACE}" port-forward service/producer \
    "${PRODUCER_PORT}:8000" >/tmp/e2e-kind-pf-producer.log 2>&1 &
  PIDS+=($!)
  kubectl --context "${CONTEXT}" -n "${NAMESPACE}" port-forward service/consumer \
    "${CONSUMER_PORT}:8001" >/tmp/e2e-kind-pf-consumer.log 2>&1 &
  PIDS+=($!)
  wait_ready "${PRODUCER_PORT}"
  wait_ready "${CONSUMER_PORT}"
  log "creating a client (its key is the last line)"
  local key token
  key="$(kubectl --context "${CONTEXT}" -n "${NAMESPACE}" exec deployment/producer-web -c web -- producer create_client e2e | tail -n 1)"
  mask "${key}"
  # The dev-only service token of k8s/infra/dev-secrets.yaml.
  token="$(kubectl --context "${CONTEXT}" -n "${NAMESPACE}" get secret consumer-secrets \
    -o jsonpath='{.data.CONSUMER_API_TOKEN}' | base64 -d)"
  mask "${token}"
  log "running tests/e2e"
  PRODUCER_URL="http://127.0.0.1:${PRODUCER_PORT}" CONSUMER_URL="http://127.0.0.1:${CONSUMER_PORT}" \
    PRODUCER_API_KEY="${key}" CONSUMER_API_TOKEN="${token}" \
    uv run pytest tests/e2e -v
}

step_dump() {
  kubectl --context "${CONTEXT}" get all,jobs,networkpolicies,hpa,pdb -A -o wide || true
  kubectl --context "${CONTEXT}" -n "${NAMESPACE}" describe pods || true
  for pod in $(kubectl --context "${CONTEXT}" -n "${NAMESPACE}" get pods -o name); do
    echo "::group::logs ${pod}"
    kubectl --context "${CONTEXT}" -n "${NAMESPACE}" logs "${pod}" --all-containers --prefix --tail=500 || true
    kubectl --context "${CONTEXT}" -n "${NAMESPACE}" logs "${pod}" --all-containers --prefix --previous --tail=200 2>/dev/null || true
    echo "::endgroup::"
  done
  kubectl --context "${CONTEXT}" get events -A --sort-by=.lastTimestamp || true
  cat /tmp/e2e-kind-pf-*.log 2>/dev/null || true
}

step_down() {
  need kind
  kind delete cluster --name "${CLUSTER}"
}

main() {
  local step="${1:-}"
  case "${step}" in
    all)
      for s in "${STEPS[@]}"; do "step_${s}"; done
      ;;
    cluster | images | deploy | test | dump | down)
      "step_${step}"
      ;;
    *)
      sed -n '2,17p' "$0" >&2
      exit 2
      ;;
  esac
}

main "$@"
