"""The real infrastructure, started locally: PostgreSQL 15, Kafka 4.1 (KRaft), localstripe, SMTP sink.

Each component is started only if it is not already running, so ``up`` is idempotent.
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from devstack.procs import ProcessTable, port_open, wait_until

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
JAVA = os.environ.get("JAVA", shutil.which("java") or "/usr/bin/java")


def _pg_user_cmd(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse root: run them as the dedicated 'postgres' system user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", os.environ.get("PG_OS_USER", "postgres"), "--", *cmd]
    return cmd


def _chown_for_pg(path: Path) -> None:
    if os.geteuid() == 0:
        user = os.environ.get("PG_OS_USER", "postgres")
        pw = pwd.getpwnam(user)
        for p in [path, *path.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)


@dataclass
class Postgres:
    base: Path
    port: int = 55432
    fast: bool = False  # fsync off: tests only

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        r = subprocess.run(_pg_user_cmd([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"]),
                           capture_output=True, text=True)
        return r.returncode == 0 and port_open(self.port)

    def start(self) -> None:
        if self.running():
            return
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL 15 binaries not found in {PG_BIN}: apt-get install -y postgresql")
        (self.base / "run").mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            self.data.chmod(0o700)
            _chown_for_pg(self.base)
            subprocess.run(
                _pg_user_cmd([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                              "-E", "UTF8", "--locale=C.UTF-8"]),
                check=True, stdout=subprocess.DEVNULL,
            )
        _chown_for_pg(self.base / "run")
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base / 'run'} -c max_connections=300 "
                "-c shared_buffers=256MB")
        if self.fast:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = self.base / "postgres.log"
        log.touch()
        _chown_for_pg(log)
        subprocess.run(
            _pg_user_cmd([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "-t", "60",
                          "-o", opts, "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(_pg_user_cmd([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kafka_libs_dir(root: Path) -> Path:
    return Path(os.environ.get("KAFKA_LIBS", root / "tools" / "kafka" / "libs"))


def ensure_kafka_libs(root: Path) -> Path:
    libs = kafka_libs_dir(root)
    if not any(libs.glob("kafka_2.13-*.jar")):
        subprocess.run(["mvn", "-B", "-q", "-f", str(root / "tools/kafka/pom.xml"), "dependency:copy-dependencies"],
                       check=True)
    return libs


@dataclass
class Kafka:
    base: Path
    libs: Path
    procs: ProcessTable
    port: int = 19092
    controller_port: int = 19093
    name: str = "kafka"
    heap: str = os.environ.get("KAFKA_HEAP", "1g")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        self.base.mkdir(parents=True, exist_ok=True)
        cfg = self.base / "server.properties"
        cfg.write_text(
            "\n".join([
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={self.base / 'data'}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=12",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=-1",
                "delete.topic.enable=true",
                "",
            ])
        )
        (self.base / "log4j2.properties").write_text(
            "\n".join([
                "status = warn",
                "appender.console.type = Console",
                "appender.console.name = STDOUT",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = WARN",
                "rootLogger.appenderRef.stdout.ref = STDOUT",
                "logger.raftserver.name = kafka.server.KafkaRaftServer",
                "logger.raftserver.level = INFO",
                "",
            ])
        )
        return cfg

    def running(self) -> bool:
        return self.procs.running(self.name) and port_open(self.port)

    def start(self, timeout: float = 120) -> None:
        if self.running():
            return
        cfg = self._write_config()
        classpath = f"{self.libs}/*"
        log4j = f"-Dlog4j2.configurationFile={self.base / 'log4j2.properties'}"
        if not (self.base / "data" / "meta.properties").exists():
            cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode().replace("-", "A")
            subprocess.run([JAVA, "-Xmx256m", log4j, "-cp", classpath, "kafka.tools.StorageTool", "format",
                            "--ignore-formatted", "-t", cid, "-c", str(cfg)], check=True, stdout=subprocess.DEVNULL)
        argv = [JAVA, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
                "-XX:TieredStopAtLevel=1" if os.environ.get("KAFKA_FAST_START") else "-XX:+UseStringDeduplication",
                "-Djava.awt.headless=true", log4j, f"-Dkafka.logs.dir={self.base}", "-cp", classpath, "kafka.Kafka",
                str(cfg)]
        self.procs.spawn(self.name, argv)
        log = self.procs.log_path(self.name)

        def died() -> str | None:
            if not self.procs.running(self.name):
                return "the broker exited; see " + str(log) + "\n" + log.read_text()[-2000:]
            return None

        wait_until(lambda: port_open(self.port) and "Kafka Server started" in log.read_text(errors="replace"),
                   timeout, "Kafka to start", failed=died)

    def stop(self) -> None:
        self.procs.stop(self.name, timeout=60)


@dataclass
class LocalStripe:
    procs: ProcessTable
    state: Path
    port: int = 8420
    name: str = "localstripe"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.procs.running(self.name) and port_open(self.port)

    def start(self, persist: bool = True) -> None:
        if self.running():
            return
        argv = [sys.executable, "-m", "devstack.localstripe_server", "--port", str(self.port)]
        if persist:
            argv += ["--store", str(self.state / "localstripe.pickle")]
        self.procs.spawn(self.name, argv)
        wait_until(lambda: port_open(self.port), 30, "localstripe to start",
                   failed=lambda: self.procs.exited(self.name))

    def stop(self) -> None:
        self.procs.stop(self.name)


class _Mailbox:
    """What the two mailboxes share: an SMTP port and an HTTP API on loopback, run as one process."""

    procs: ProcessTable
    smtp_port: int
    http_port: int
    name: str

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def running(self) -> bool:
        return self.procs.running(self.name) and port_open(self.smtp_port) and port_open(self.http_port)

    def _wait_started(self, what: str) -> None:
        wait_until(lambda: port_open(self.smtp_port) and port_open(self.http_port), 30, f"{what} to start",
                   failed=lambda: self.procs.exited(self.name))

    def stop(self) -> None:
        self.procs.stop(self.name)


@dataclass
class SmtpSink(_Mailbox):
    procs: ProcessTable
    state: Path
    smtp_port: int = 1025
    http_port: int = 8025
    name: str = "smtp-sink"

    @property
    def web_url(self) -> str:
        return f"{self.api_url}/messages"

    def start(self) -> None:
        if self.running():
            return
        self.procs.spawn(self.name, [sys.executable, "-m", "devstack.smtp_sink", "--smtp-port", str(self.smtp_port),
                                     "--http-port", str(self.http_port), "--store",
                                     str(self.state / "mail.jsonl")])
        self._wait_started("the SMTP sink")


@dataclass
class Mailpit(_Mailbox):
    """make run's mailbox: Mailpit (built by the Makefile into .tools/), a web page to read the emails the platform
    sends (sign-in links first) and its REST API (``/api/v1/...``), both on loopback. Tests keep the SMTP sink."""

    procs: ProcessTable
    state: Path
    binary: Path
    smtp_port: int = 1025
    http_port: int = 8025
    name: str = "mailpit"

    @property
    def web_url(self) -> str:
        return self.api_url + "/"

    def start(self) -> None:
        if self.running():
            return
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} is missing: make mailpit")
        self.procs.spawn(self.name, [str(self.binary), "--smtp", f"127.0.0.1:{self.smtp_port}", "--listen",
                                     f"127.0.0.1:{self.http_port}", "--database", str(self.state / "mailpit.db"),
                                     "--smtp-auth-accept-any", "--smtp-auth-allow-insecure"])
        self._wait_started("Mailpit")



_JAEGER_CONFIG = """\
# written by devstack (make run): Jaeger's all-in-one, traces in memory, everything on loopback
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
extensions:
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{ui_port}
    grpc:
      endpoint: 127.0.0.1:{query_grpc_port}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
processors:
  batch:
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


@dataclass
class Jaeger:
    """make run's trace backend: Jaeger (built by the Makefile into .tools/ from its Go module), its OTLP/HTTP
    receiver and its web page on loopback, traces kept in memory. The services export to it when it runs
    (``Stack.service_env``); tests run their own receiver (devstack.otlp_sink)."""

    procs: ProcessTable
    state: Path
    binary: Path
    otlp_port: int = 4318
    ui_port: int = 16686
    query_grpc_port: int = 16685
    name: str = "jaeger"

    @property
    def otlp_url(self) -> str:
        return f"http://127.0.0.1:{self.otlp_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}/"

    def running(self) -> bool:
        return self.procs.running(self.name) and port_open(self.otlp_port) and port_open(self.ui_port)

    def start(self) -> None:
        if self.running():
            return
        if not self.binary.exists():
            raise RuntimeError(f"{self.binary} is missing: make jaeger")
        config = self.state / "jaeger.yaml"
        config.write_text(_JAEGER_CONFIG.format(otlp_port=self.otlp_port, ui_port=self.ui_port,
                                                query_grpc_port=self.query_grpc_port))
        self.procs.spawn(self.name, [str(self.binary), "--config", str(config)])
        wait_until(lambda: port_open(self.otlp_port) and port_open(self.ui_port), 60, "Jaeger to start",
                   failed=lambda: self.procs.exited(self.name))

    def stop(self) -> None:
        self.procs.stop(self.name)
