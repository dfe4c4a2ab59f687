"""The whole local system: infrastructure + the four services, as background processes.

Every port and address comes from the environment with a loopback default. Where
DATABASE_URL (a server URL; one database per service is created on it),
KAFKA_BOOTSTRAP_SERVERS or STRIPE_API_BASE are set, those are used and nothing is
started for them.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from devstack.infra import (
    Jaeger,
    Kafka,
    LocalStripe,
    Mailpit,
    Postgres,
    SmtpSink,
    ensure_kafka_libs,
    kafka_libs_dir,
    kafka_nodes,
)
from devstack.procs import ProcessTable, port_open, wait_until
from servicekit.config import DEVELOPMENT_VALUES


def repo_root() -> Path:
    if env := os.environ.get("DEVSTACK_ROOT"):
        return Path(env)
    here = Path(__file__).resolve()
    for parent in [Path.cwd(), *here.parents]:
        if (parent / "services").is_dir() and (parent / "shared" / "events").is_dir():
            return parent
    return Path.cwd()


@dataclass(frozen=True)
class ServiceDef:
    name: str
    package: str
    port: int
    database: str

    @property
    def folder(self) -> Path:
        return repo_root() / "services" / self.name

    def workers(self) -> list[str]:
        try:
            mod = importlib.import_module(f"{self.package}.entrypoints")
            return list(getattr(mod, "WORKERS", ["consumer", "relay"]))
        except ImportError:
            return []

    def installed(self) -> bool:
        try:
            importlib.import_module(f"{self.package}.entrypoints.flask_app")
            return True
        except ImportError:
            return False


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


SERVICES = [
    ServiceDef("subscription-service", "subscription_service", _port("SUBSCRIPTION_SERVICE_PORT", 8001),
               "subscriptions"),
    ServiceDef("scheduler-service", "scheduler_service", _port("SCHEDULER_SERVICE_PORT", 8002), "scheduler"),
    ServiceDef("order-service", "order_service", _port("ORDER_SERVICE_PORT", 8003), "orders"),
    ServiceDef("billing-service", "billing_service", _port("BILLING_SERVICE_PORT", 8004), "billing"),
]

WEB_PROCESS = "web.app"  # the web app (services/web): customers' pages, a client of the four APIs


def web_installed() -> bool:
    try:
        importlib.import_module("web_app.app")
        return True
    except ImportError:
        return False


# the services' development defaults (servicekit.config): refused when APP_ENV=production
DEFAULT_ADMIN_TOKEN = DEVELOPMENT_VALUES["ADMIN_TOKEN"]
LOCAL_STRIPE_KEY = DEVELOPMENT_VALUES["STRIPE_API_KEY"]
LOCAL_WEBHOOK_SECRET = DEVELOPMENT_VALUES["STRIPE_WEBHOOK_SECRET"]


@dataclass
class StackConfig:
    state: Path = field(default_factory=lambda: repo_root() / ".local")
    pg_port: int = field(default_factory=lambda: _port("PG_PORT", 55432))
    kafka_port: int = field(default_factory=lambda: _port("KAFKA_PORT", 19092))
    kafka_controller_port: int = field(default_factory=lambda: _port("KAFKA_CONTROLLER_PORT", 19093))
    # KAFKA_NODES=3: a KRaft cluster of three broker+controller nodes (infra.Kafka); the other nodes' (broker,
    # controller) ports: empty = the pairs after kafka_port/kafka_controller_port (19094/19095, 19096/19097)
    kafka_nodes: int = field(default_factory=kafka_nodes)
    kafka_extra_ports: list[tuple[int, int]] = field(default_factory=list)
    stripe_port: int = field(default_factory=lambda: _port("LOCALSTRIPE_PORT", 8420))
    smtp_port: int = field(default_factory=lambda: _port("SMTP_PORT", 1025))
    smtp_http_port: int = field(default_factory=lambda: _port("SMTP_HTTP_PORT", 8025))
    db_prefix: str = field(default_factory=lambda: os.environ.get("DB_PREFIX", ""))
    topic_prefix: str = field(default_factory=lambda: os.environ.get("TOPIC_PREFIX", ""))
    admin_token: str = field(default_factory=lambda: os.environ.get("ADMIN_TOKEN", DEFAULT_ADMIN_TOKEN))
    test_clock: bool = field(default_factory=lambda: os.environ.get("TEST_CLOCK", "1") not in ("0", "false"))
    pg_fast: bool = False
    stripe_persist: bool = True
    service_ports: dict[str, int] = field(default_factory=lambda: {s.name: s.port for s in SERVICES})
    web_port: int = field(default_factory=lambda: _port("WEB_PORT", 8080))
    # MAILPIT=<binary> (make run sets it): the mailbox is Mailpit, with its web page; else the project's SMTP sink
    mailpit: str | None = field(default_factory=lambda: os.environ.get("MAILPIT") or None)
    # JAEGER=<binary> (make run sets it): Jaeger runs beside the rest and every service exports its traces to it
    jaeger: str | None = field(default_factory=lambda: os.environ.get("JAEGER") or None)
    jaeger_otlp_port: int = field(default_factory=lambda: _port("JAEGER_OTLP_PORT", 4318))
    jaeger_ui_port: int = field(default_factory=lambda: _port("JAEGER_UI_PORT", 16686))
    external_db: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL") or None)
    external_kafka: str | None = field(default_factory=lambda: os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None)
    external_stripe: str | None = field(default_factory=lambda: os.environ.get("STRIPE_API_BASE") or None)


class Stack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.cfg = config or StackConfig()
        self.cfg.state.mkdir(parents=True, exist_ok=True)
        self.procs = ProcessTable(self.cfg.state)
        self.root = repo_root()
        self.pg = Postgres(self.cfg.state / "pg", self.cfg.pg_port, fast=self.cfg.pg_fast)
        self.kafka = Kafka(self.cfg.state / "kafka", kafka_libs_dir(self.root), self.procs, self.cfg.kafka_port,
                           self.cfg.kafka_controller_port, nodes=self.cfg.kafka_nodes,
                           extra_ports=self.cfg.kafka_extra_ports)
        self.stripe = LocalStripe(self.procs, self.cfg.state, self.cfg.stripe_port)
        self.smtp: SmtpSink | Mailpit = (
            Mailpit(self.procs, self.cfg.state, Path(self.cfg.mailpit), self.cfg.smtp_port, self.cfg.smtp_http_port)
            if self.cfg.mailpit else SmtpSink(self.procs, self.cfg.state, self.cfg.smtp_port, self.cfg.smtp_http_port))
        self.jaeger = (Jaeger(self.procs, self.cfg.state, Path(self.cfg.jaeger), self.cfg.jaeger_otlp_port,
                              self.cfg.jaeger_ui_port) if self.cfg.jaeger else None)

    # -- addresses ---------------------------------------------------------------------------------------------

    @property
    def admin_db_url(self) -> str:
        return self.cfg.external_db or self.pg.admin_url

    @property
    def bootstrap(self) -> str:
        return self.cfg.external_kafka or self.kafka.bootstrap

    @property
    def stripe_url(self) -> str:
        return self.cfg.external_stripe or self.stripe.url

    def db_name(self, logical: str) -> str:
        return f"{self.cfg.db_prefix}{logical}"

    def db_url(self, logical: str) -> str:
        from servicekit.db import with_database

        return with_database(self.admin_db_url, self.db_name(logical))

    @property
    def test_clock_url(self) -> str | None:
        return self.db_url("testclock") if self.cfg.test_clock else None

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.cfg.service_ports[service]}"

    @property
    def web_url(self) -> str:
        """Where people open the web app (the address the sign-in links emailed by subscription-service name)."""
        return f"http://127.0.0.1:{self.cfg.web_port}"

    # -- infrastructure ----------------------------------------------------------------------------------------

    def up(self) -> None:
        """Start what is not running, then databases, topics and the test clock (idempotent)."""
        from servicekit.clock import init_test_clock
        from servicekit.db import ensure_database
        from shared_events.topics import ensure_topics

        if not self.cfg.external_db:
            self.pg.start()
        if not self.cfg.external_kafka:
            self.kafka.libs = ensure_kafka_libs(self.root)
            self.kafka.start()
        if not self.cfg.external_stripe:
            self.stripe.start(persist=self.cfg.stripe_persist)
        self.smtp.start()
        if self.jaeger is not None:
            self.jaeger.start()
        for svc in SERVICES:
            ensure_database(self.admin_db_url, self.db_name(svc.database))
        if self.cfg.test_clock:
            ensure_database(self.admin_db_url, self.db_name("testclock"))
            init_test_clock(self.test_clock_url or "")
        ensure_topics(self.bootstrap, self.cfg.topic_prefix)

    def down(self) -> None:
        self.stop_services()
        self.smtp.stop()
        for mailbox in ("smtp-sink", "mailpit"):  # the one of an earlier `up` with the other mailbox
            self.procs.stop(mailbox)
        self.procs.stop("jaeger")  # make run's trace backend, if it ran
        if not self.cfg.external_stripe:
            self.stripe.stop()
        if not self.cfg.external_kafka:
            self.kafka.stop()
        if not self.cfg.external_db:
            self.pg.stop()

    # -- services ----------------------------------------------------------------------------------------------

    def service_env(self, svc: ServiceDef) -> dict[str, str]:
        metrics_dir = self.cfg.state / "metrics" / svc.name
        metrics_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update({
            "SERVICE_NAME": svc.name,
            "APP_ENV": os.environ.get("APP_ENV", "development"),
            "DATABASE_URL": self.db_url(svc.database),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "TOPIC_PREFIX": self.cfg.topic_prefix,
            "ADMIN_TOKEN": self.cfg.admin_token,
            "PORT": str(self.cfg.service_ports[svc.name]),
            "PUBLIC_BASE_URL": self.service_url(svc.name),
            "STRIPE_API_BASE": self.stripe_url,
            "STRIPE_API_KEY": os.environ.get("STRIPE_API_KEY", LOCAL_STRIPE_KEY),
            "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", LOCAL_WEBHOOK_SECRET),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.cfg.smtp_port),
            "PUBLIC_WEB_URL": self.web_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "PYTHONUNBUFFERED": "1",
        })
        for other in SERVICES:
            env[other.package.upper().replace("_SERVICE", "") + "_SERVICE_URL"] = self.service_url(other.name)
        if self.jaeger is not None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = self.jaeger.otlp_url  # servicekit.tracing: traces to Jaeger
        if self.test_clock_url:
            env["TEST_CLOCK_URL"] = self.test_clock_url
        else:
            env.pop("TEST_CLOCK_URL", None)
        env.pop("DB_PREFIX", None)
        return env

    def migrate(self) -> None:
        import subprocess

        for svc in SERVICES:
            if svc.installed():
                subprocess.run([sys.executable, "-m", f"{svc.package}.entrypoints.migrate"],
                               env=self.service_env(svc), check=True)

    def process_names(self, svc: ServiceDef) -> list[str]:
        return [f"{svc.name}.api", *[f"{svc.name}.{w}" for w in svc.workers()]]

    def start_service(self, svc: ServiceDef, only: list[str] | None = None) -> None:
        env = self.service_env(svc)
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        if only is None or "api" in only:
            self.procs.spawn(f"{svc.name}.api", [gunicorn, "-c", "python:servicekit.gunicorn_conf",
                                                 f"{svc.package}.entrypoints.flask_app:create_app()"], env=env)
        for worker in svc.workers():
            if only is None or worker in only:
                self.procs.spawn(f"{svc.name}.{worker}",
                                 [sys.executable, "-m", f"{svc.package}.entrypoints.{worker}"], env=env)

    def start_services(self, wait: bool = True) -> None:
        for svc in SERVICES:
            if svc.installed():
                self.start_service(svc)
        if wait:
            self.wait_services()

    def wait_services(self, timeout: float = 60) -> None:
        for svc in SERVICES:
            if not svc.installed():
                continue
            port = self.cfg.service_ports[svc.name]
            name = f"{svc.name}.api"
            wait_until(partial(port_open, port), timeout, f"{svc.name} to listen on {port}",
                       failed=partial(self.procs.exited, name))

    def web_env(self) -> dict[str, str]:
        """The web app's settings (web_app.config): the four APIs, its own address, plain http on loopback."""
        env = dict(os.environ)
        env.update({
            "SERVICE_NAME": "web",
            "APP_ENV": os.environ.get("APP_ENV", "development"),
            "PORT": str(self.cfg.web_port),
            "PUBLIC_WEB_URL": self.web_url,
            "SESSION_COOKIE_SECURE": "0",  # http://127.0.0.1: a Secure cookie would not come back
            "STRIPE_API_BASE": self.stripe_url,
            "PYTHONUNBUFFERED": "1",
        })
        for other in SERVICES:
            env[other.package.upper().replace("_SERVICE", "") + "_SERVICE_URL"] = self.service_url(other.name)
        if self.jaeger is not None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = self.jaeger.otlp_url  # its calls to the APIs start their traces
        return env

    def start_web(self, wait: bool = True, timeout: float = 60) -> None:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.procs.spawn(WEB_PROCESS, [gunicorn, "-c", "python:servicekit.gunicorn_conf", "web_app.app:create_app()"],
                         env=self.web_env())
        if wait:
            wait_until(lambda: port_open(self.cfg.web_port), timeout, f"the web app to listen on {self.cfg.web_port}",
                       failed=partial(self.procs.exited, WEB_PROCESS))

    def stop_web(self) -> None:
        self.procs.stop(WEB_PROCESS)

    def stop_services(self) -> None:
        self.stop_web()
        for svc in SERVICES:
            for name in self.process_names(svc):
                self.procs.stop(name)
        for name in self.procs.names():  # anything left from an older layout
            if name.split(".")[0] in {s.name for s in SERVICES}:
                self.procs.stop(name)

    # -- status ------------------------------------------------------------------------------------------------

    def status(self) -> list[tuple[str, str, str]]:
        rows: list[tuple[str, str, str]] = []
        rows.append(("postgresql", "external" if self.cfg.external_db else
                     ("running" if self.pg.running() else "stopped"), self.admin_db_url))
        rows.append(("kafka", "external" if self.cfg.external_kafka else
                     ("running" if self.kafka.running() else "stopped"), self.bootstrap))
        rows.append(("localstripe", "external" if self.cfg.external_stripe else
                     ("running" if self.stripe.running() else "stopped"), self.stripe_url))
        rows.append((self.smtp.name, "running" if self.smtp.running() else "stopped",
                     f"smtp://127.0.0.1:{self.cfg.smtp_port}  mailbox {self.smtp.web_url}"))
        if self.jaeger is not None:
            rows.append(("jaeger", "running" if self.jaeger.running() else "stopped",
                         f"traces {self.jaeger.web_url}  OTLP {self.jaeger.otlp_url}"))
        for svc in SERVICES:
            for name in self.process_names(svc):
                where = self.service_url(svc.name) if name.endswith(".api") else "-"
                rows.append((name, "running" if self.procs.running(name) else "stopped", where))
        if web_installed():
            rows.append((WEB_PROCESS, "running" if self.procs.running(WEB_PROCESS) else "stopped", self.web_url))
        return rows
