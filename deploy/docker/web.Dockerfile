# syntax=docker/dockerfile:1
# web: the customers' pages (and the managers' console), a client of the four services' APIs; no database, no
# Kafka. The default command is the app under gunicorn.
# Build from the repository root (it needs shared/, requirements/ and services/web/):
#   docker build -f deploy/docker/web.Dockerfile -t recurring-orders/web:TAG .
# No HEALTHCHECK on purpose: Kubernetes probes /healthz and /readyz (deploy/k8s).

# The front-end files: npm ci of services/web/package-lock.json (pinned versions and their integrity hashes).
FROM node:22.21.1-trixie-slim AS assets
WORKDIR /src
COPY services/web/package.json services/web/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=dev

# Base: the Python of the services' images, the same in build and final stages.
FROM python:3.11.14-slim-trixie AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements/constraints.txt requirements/constraints.txt
COPY shared/events shared/events
COPY shared/servicekit shared/servicekit
COPY services/web/pyproject.toml services/web/pyproject.toml
COPY services/web/src services/web/src
COPY --from=assets /src/node_modules/@picocss/pico/css/pico.classless.min.css services/web/src/web_app/static/vendor/
# The translations are compiled here (only the .po files are in the repository), then the packages become wheels
# and a pip-less virtualenv gets them at the versions of requirements/constraints.txt, as wheels only.
RUN pip install --no-cache-dir setuptools==84.2.1 babel==2.18.0 \
 && pybabel compile -d services/web/src/web_app/translations \
 && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels \
        ./shared/events ./shared/servicekit ./services/web \
 && python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --no-cache-dir --only-binary=:all: \
        --constraint requirements/constraints.txt /wheels/*.whl

FROM python:3.11.14-slim-trixie
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVICE_NAME=web \
    BIND_HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
USER 10001:10001
EXPOSE 8080
CMD ["gunicorn", "-c", "python:servicekit.gunicorn_conf", "--no-control-socket", "web_app.app:create_app()"]
