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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def kafka_nodes() -> int:
    """KAFKA_NODES: 1 (default) starts one broker; 3 starts a KRaft cluster of three combined broker+controller
    nodes on loopback, as production runs Kafka (three replicas, ``min.insync.replicas`` 2)."""
    return int(os.environ.get("KAFKA_NODES", "1"))


def kafka_heap(nodes: int) -> str:
    """KAFKA_HEAP, else 1g for one broker and 384m per node of a cluster (three JVMs on a small machine)."""
    return os.environ.get("KAFKA_HEAP") or ("1g" if nodes == 1 else "384m")


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode().replace("-", "A")


@dataclass
class Kafka:
    """One broker (``nodes`` 1, process ``kafka``), or a KRaft cluster of ``nodes`` combined broker+controller
    nodes (processes ``kafka-1`` ... ``kafka-N``, node ids 1..N) formatted with one cluster id and a static quorum
    of every node. Node 1 listens on ``port``/``controller_port``; the others on ``extra_ports`` ((broker,
    controller) per node; default: the next even/odd pairs after node 1's)."""

    base: Path
    libs: Path
    procs: ProcessTable
    port: int = 19092
    controller_port: int = 19093
    name: str = "kafka"
    heap: str | None = None
    nodes: int = 1
    extra_ports: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.heap is None:
            self.heap = kafka_heap(self.nodes)
        if self.nodes > 1 and not self.extra_ports:
            self.extra_ports = [(self.port + 2 * n, self.controller_port + 2 * n) for n in range(1, self.nodes)]
        if len(self.extra_ports) < self.nodes - 1:
            raise ValueError(f"{self.nodes} Kafka nodes need {self.nodes - 1} extra (broker, controller) ports")

    # -- the nodes -------------------------------------------------------------------------------------------------

    @property
    def node_ids(self) -> list[int]:
        return list(range(1, self.nodes + 1))

    def ports_of(self, node: int) -> tuple[int, int]:
        return (self.port, self.controller_port) if node == 1 else self.extra_ports[node - 2]

    def process_name(self, node: int) -> str:
        return self.name if self.nodes == 1 else f"{self.name}-{node}"

    def node_base(self, node: int) -> Path:
        return self.base if self.nodes == 1 else self.base / f"node-{node}"

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.ports_of(n)[0]}" for n in self.node_ids)

    def _write_config(self, node: int = 1) -> Path:
        base = self.node_base(node)
        base.mkdir(parents=True, exist_ok=True)
        port, controller_port = self.ports_of(node)
        replicas, isr = (1, 1) if self.nodes == 1 else (min(3, self.nodes), 2)
        voters = ",".join(f"{n}@127.0.0.1:{self.ports_of(n)[1]}" for n in self.node_ids)
        cfg = base / "server.properties"
        cfg.write_text(
            "\n".join([
                "process.roles=broker,controller",
                f"node.id={node}",
                f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={base / 'data'}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                f"default.replication.factor={replicas}",
                f"min.insync.replicas={isr}",
                f"offsets.topic.replication.factor={replicas}",
                "offsets.topic.num.partitions=12",
                f"transaction.state.log.replication.factor={replicas}",
                f"transaction.state.log.min.isr={isr}",
                f"share.coordinator.state.topic.replication.factor={replicas}",
                f"share.coordinator.state.topic.min.isr={isr}",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=-1",
                "delete.topic.enable=true",
                "",
            ])
        )
        (base / "log4j2.properties").write_text(
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

    def _cluster_id(self) -> str:
        """One id for every node of the cluster, kept beside them (a node formatted later joins the same one)."""
        path = self.base / "cluster.id"
        if not path.exists():
            self.base.mkdir(parents=True, exist_ok=True)
            path.write_text(_new_cluster_id())
        return path.read_text().strip()

    def node_running(self, node: int) -> bool:
        return self.procs.running(self.process_name(node)) and port_open(self.ports_of(node)[0])

    def running(self) -> bool:
        return all(self.node_running(n) for n in self.node_ids)

    def _spawn(self, node: int) -> int:
        """Format the node's storage if new, start its JVM; the size of its log before (to wait for this start)."""
        base = self.node_base(node)
        cfg = self._write_config(node)
        classpath = f"{self.libs}/*"
        log4j = f"-Dlog4j2.configurationFile={base / 'log4j2.properties'}"
        if not (base / "data" / "meta.properties").exists():
            cid = self._cluster_id() if self.nodes > 1 else _new_cluster_id()
            subprocess.run([JAVA, "-Xmx256m", log4j, "-cp", classpath, "kafka.tools.StorageTool", "format",
                            "--ignore-formatted", "-t", cid, "-c", str(cfg)], check=True, stdout=subprocess.DEVNULL)
        argv = [JAVA, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
                "-XX:TieredStopAtLevel=1" if os.environ.get("KAFKA_FAST_START") else "-XX:+UseStringDeduplication",
                "-Djava.awt.headless=true", log4j, f"-Dkafka.logs.dir={base}", "-cp", classpath, "kafka.Kafka",
                str(cfg)]
        log = self.procs.log_path(self.process_name(node))
        before = log.stat().st_size if log.exists() else 0
        self.procs.spawn(self.process_name(node), argv)
        return before

    def _wait_started(self, node: int, log_from: int, timeout: float) -> None:
        name = self.process_name(node)
        log = self.procs.log_path(name)

        def started() -> bool:
            with log.open("rb") as f:
                f.seek(log_from)
                return b"Kafka Server started" in f.read() and port_open(self.ports_of(node)[0])

        def died() -> str | None:
            if not self.procs.running(name):
                return f"the broker {name} exited; see {log}\n" + log.read_text(errors="replace")[-2000:]
            return None

        wait_until(started, timeout, f"Kafka ({name}) to start", failed=died)

    def start(self, timeout: float = 120) -> None:
        """Start every node not running (all of them first: a node waits for the quorum), then wait for each."""
        waiting = {n: self._spawn(n) for n in self.node_ids if not self.node_running(n)}
        for node, log_from in waiting.items():
            self._wait_started(node, log_from, timeout * (2 if self.nodes > 1 else 1))
        if self.nodes > 1 and waiting:  # every broker registered, so topics created now get all their replicas
            from shared_events.kafka import admin

            client = admin(self.bootstrap, **{"client.id": "devstack-brokers"})
            wait_until(lambda: len(client.list_topics(timeout=10).brokers) == self.nodes, timeout,
                       f"the {self.nodes} Kafka brokers to register")

    def stop(self, timeout: float = 60) -> None:
        """Stop every node, of this layout or of an earlier ``up`` with another KAFKA_NODES: all at once, since a
        node stopping alone waits for its controlled shutdown on a quorum the others' stops are taking away."""
        import threading

        names = [n for n in self.procs.names()
                 if n == self.name or (n.startswith(f"{self.name}-") and n[len(self.name) + 1:].isdigit())]
        stops = [threading.Thread(target=self.procs.stop, args=(n, timeout)) for n in names]
        for t in stops:
            t.start()
        for t in stops:
            t.join()

    # -- one node at a time (fault tests) -----------------------------------------------------------------------

    def kill_node(self, node: int) -> int | None:
        """kill -9 one node: no controlled shutdown, its partitions' leaders move once the controller notices."""
        return self.procs.kill9(self.process_name(node))

    def stop_node(self, node: int, timeout: float = 60) -> None:
        """A graceful stop (SIGTERM): a controlled shutdown hands its leaderships over before it exits."""
        self.procs.stop(self.process_name(node), timeout=timeout)

    def start_node(self, node: int, timeout: float = 120) -> None:
        """Start one node again (its storage is kept) and wait until it serves."""
        if not self.node_running(node):
            self._wait_started(node, self._spawn(node), timeout)

    def leaders(self, topics: list[str], timeout: float = 10, client: Any = None) -> dict[tuple[str, int], int]:
        """(topic, partition) -> the node id of its leader (-1: none), as the cluster's metadata says now (asked
        through ``client``, an AdminClient, when a poller keeps one)."""
        from shared_events.kafka import admin

        if client is None:  # (an AdminClient is falsy: its len() is its queue's)
            client = admin(self.bootstrap, **{"client.id": "devstack-leaders"})
        out: dict[tuple[str, int], int] = {}
        for topic in topics:
            meta = client.list_topics(topic, timeout=timeout).topics[topic]
            if meta.error is not None:
                raise RuntimeError(f"no metadata for {topic}: {meta.error}")
            out.update({(topic, p.id): p.leader for p in meta.partitions.values()})
        return out

    def leader(self, topic: str, partition: int, timeout: float = 10, client: Any = None) -> int:
        return self.leaders([topic], timeout, client)[(topic, partition)]


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
