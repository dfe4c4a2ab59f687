# syntax=docker/dockerfile:1
# order-service: one image for every process of the service. The default command is the API (gunicorn);
# a worker or the migrations run by command, as the Kubernetes manifests do:
#   python -m order_service.entrypoints.<consumer|relay|...>   python -m order_service.entrypoints.migrate
# Build from the repository root (it needs shared/ and requirements/):
#   docker build -f deploy/docker/order-service.Dockerfile -t recurring-orders/order-service:TAG .
# No HEALTHCHECK on purpose: Kubernetes probes /healthz and /readyz (deploy/k8s).

# Base: Python 3.11 (the version the constraints are resolved for), pinned to a patch release and a Debian release,
# the same in both stages (tests/deploy checks it). Not by digest: no registry answers here to resolve one, and a
# digest copied from elsewhere could not be verified; the release pipeline may pin one (docs/operations.md).
FROM python:3.11.14-slim-trixie AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements/constraints.txt requirements/constraints.txt
COPY shared/events shared/events
COPY shared/servicekit shared/servicekit
COPY services/order-service/pyproject.toml services/order-service/pyproject.toml
COPY services/order-service/src services/order-service/src
# Our three packages become wheels with a pinned setuptools (this stage only); then a pip-less virtualenv gets
# them and their dependencies at the versions of requirements/constraints.txt, as wheels only: no compiler,
# no sdist build, nothing of the build tooling is copied to the final image.
RUN pip install --no-cache-dir setuptools==84.2.1 \
 && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels \
        ./shared/events ./shared/servicekit ./services/order-service \
 && python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --no-cache-dir --only-binary=:all: \
        --constraint requirements/constraints.txt /wheels/*.whl

FROM python:3.11.14-slim-trixie
# pip/setuptools/wheel are not needed at run time (fewer packages to patch); a fixed non-root uid/gid so
# that Kubernetes' runAsNonRoot can check it.
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
# Receipts and invoices are PDFs drawn by WeasyPrint, which lays text out with Pango: its run-time libraries and
# one font family, nothing to build with. Only this image has them (tests/deploy checks the block).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install --yes --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/venv /opt/venv
COPY services/order-service/migrations /app/migrations
# BIND_HOST: gunicorn_conf listens on loopback by default; in a pod it must listen on the pod's address.
# MIGRATIONS_DIR: the package's default path only exists in a source checkout.
# The root filesystem is read-only in Kubernetes: no bytecode is written (pip compiled it at install time);
# /tmp and PROMETHEUS_MULTIPROC_DIR are emptyDir volumes there.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVICE_NAME=order-service \
    MIGRATIONS_DIR=/app/migrations \
    BIND_HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
USER 10001:10001
EXPOSE 8080
CMD ["gunicorn", "-c", "python:servicekit.gunicorn_conf", "--no-control-socket", "order_service.entrypoints.flask_app:create_app()"]
