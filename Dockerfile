# syntax=docker/dockerfile:1.7
# One Dockerfile, both images: one image per service, and in it every process of that
# service (web, worker, beat, migrate). Build from the repository root:
#
#   docker build --build-arg SERVICE=producer -t bankflow-producer .
#   docker build --build-arg SERVICE=consumer -t bankflow-consumer .
#
# The processes (the charts run exactly these; docs/kubernetes.md):
#   web      (default)  gunicorn -c gunicorn.conf.py       (= /app/services/$SERVICE/gunicorn.conf.py)
#   worker              celery --quiet -A $SERVICE worker --without-mingle --without-gossip -n $SERVICE@%h
#   beat                celery --quiet -A $SERVICE beat -s /tmp/celerybeat-schedule
#   migrate             $SERVICE migrate --noinput
#   wait                python -m bankflow.wait database broker   (bounded wait for the backing services)
# Ports: producer web 8000, worker metrics 9100; consumer web 8001, worker metrics 9101
# (PORT and METRICS_PORT override them; the charts set both).
#
# Only the runtime dependencies are installed (`uv sync --no-dev`): the embedded local
# stand-ins (fakeredis) and the test and lint tools live in the dev group and never reach
# an image (tests/deploy checks the lock for it).

# ---- build: resolve the locked environment with uv ------------------------------------
FROM python:3.11.13-slim-bookworm AS build
ARG SERVICE

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/

# Byte-compile at build time (the root FS is read-only at run time), copy out of the
# cache mount, and use the image's interpreter, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Refuse anything but the two services before spending time on a build.
RUN case "${SERVICE}" in producer|consumer) ;; *) echo "SERVICE must be producer or consumer, not '${SERVICE}'" >&2; exit 1;; esac

# Third-party dependencies first: this layer changes only with the lock or a manifest.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=libs/bankflow/pyproject.toml,target=libs/bankflow/pyproject.toml \
    --mount=type=bind,source=services/producer/pyproject.toml,target=services/producer/pyproject.toml \
    --mount=type=bind,source=services/consumer/pyproject.toml,target=services/consumer/pyproject.toml \
    uv sync --locked --no-dev --no-install-workspace --package "bankflow-${SERVICE}"

# Then the workspace packages themselves, installed as wheels (no editable paths to /src).
COPY . /src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package "bankflow-${SERVICE}"

# Static files for WhiteNoise, collected without any secret: local mode, a throwaway data
# dir, and the manifest storage production serves from (DJANGO_STATIC_MANIFEST).
RUN BANKFLOW_ENV=local \
    BANKFLOW_LOCAL_DIR=/tmp/build \
    DJANGO_STATIC_MANIFEST=true \
    DJANGO_STATIC_ROOT=/app/static \
    "/app/.venv/bin/${SERVICE}" collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build

# ---- runtime -----------------------------------------------------------------------------
FROM python:3.11.13-slim-bookworm AS runtime
ARG SERVICE

# A fixed, unprivileged identity that the chart's securityContext names (runAsUser 10001).
RUN groupadd --system --gid 10001 bankflow \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /tmp --shell /usr/sbin/nologin bankflow

# Code and static files stay owned by root: the process can read them, never change them.
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/static /app/static
COPY services/${SERVICE}/gunicorn.conf.py /app/services/${SERVICE}/gunicorn.conf.py

# Everything that writes goes to /tmp (an emptyDir in the pod): bytecode is precompiled,
# HOME points there, gunicorn's heartbeat files and Celery beat's schedule live there.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    BANKFLOW_ENV=production \
    BANKFLOW_SERVICE=${SERVICE} \
    DJANGO_SETTINGS_MODULE=${SERVICE}.settings \
    DJANGO_STATIC_ROOT=/app/static \
    GUNICORN_WORKER_TMP_DIR=/tmp \
    CELERY_HEARTBEAT_FILE=/tmp/celery-heartbeat

# The service's own folder, so that the default command finds its gunicorn.conf.py.
WORKDIR /app/services/${SERVICE}
USER 10001:10001

CMD ["gunicorn", "-c", "gunicorn.conf.py"]
