"""platformctl: operate the recurring-orders platform.

Addresses come from the environment (see platformctl.targets); locally they default to `make run`'s.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime

import requests
import typer
from rich.console import Console
from rich.table import Table

from platformctl import dlq as dlq_mod
from platformctl import lag as lag_mod
from platformctl.targets import SERVICES, all_targets, bootstrap

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter topics: list, show, replay after a fix.")
app.add_typer(dlq_app, name="dlq")
console = Console()


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@app.command()
def health() -> None:
    """Health of every component: Kafka, each service's API (/readyz) and database."""
    table = Table("component", "state", "detail")
    host, _, port = bootstrap().split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        table.add_row("kafka", "[green]ok[/green]", bootstrap())
    except OSError as exc:
        table.add_row("kafka", "[red]down[/red]", str(exc))
    bad = False
    for t in all_targets():
        try:
            r = requests.get(f"{t.url}/readyz", timeout=5)
            ok = r.status_code == 200
            detail = json.dumps(r.json().get("checks") if ok else r.json().get("detail"))
        except requests.RequestException as exc:
            ok, detail = False, type(exc).__name__
        bad |= not ok
        table.add_row(f"{t.name} api", "[green]ready[/green]" if ok else "[red]not ready[/red]", f"{t.url} {detail}")
        out = lag_mod.outbox_status(t.name, t.database_url)
        table.add_row(f"{t.name} db", "[green]ok[/green]" if out.error is None else "[red]down[/red]",
                      out.error or "reachable")
    console.print(table)
    if bad:
        raise typer.Exit(1)


@app.command()
def status() -> None:
    """Outbox backlog of every service and the lag of every consumer group."""
    table = Table("service", "unpublished events", "oldest (s)", "published")
    for t in all_targets():
        s = lag_mod.outbox_status(t.name, t.database_url)
        table.add_row(t.name, "-" if s.pending is None else str(s.pending),
                      "-" if s.oldest_seconds is None else f"{s.oldest_seconds:.1f}",
                      s.error or str(s.published))
    console.print(table)
    lag_table = Table("consumer group", "topic", "lag")
    for group, topics in lag_mod.consumer_lag(bootstrap()).items():
        for topic, n in sorted(topics.items()):
            lag_table.add_row(group, topic, f"[red]{n}[/red]" if n else "0")
    console.print(lag_table)


@dlq_app.command("list")
def dlq_list() -> None:
    """How many messages each dead-letter topic holds."""
    table = Table("dead-letter topic", "messages")
    for topic, n in dlq_mod.counts(bootstrap()).items():
        table.add_row(topic, f"[red]{n}[/red]" if n else "0")
    console.print(table)


@dlq_app.command("show")
def dlq_show(topic: str = typer.Argument(..., help="e.g. orders.events.dlq (prefix added from TOPIC_PREFIX)"),
             limit: int = typer.Option(20, help="at most this many, newest last"),
             full: bool = typer.Option(False, help="print the whole error and the message")) -> None:
    """The messages of a dead-letter topic: where they came from, which consumer, why."""
    from shared_events.topics import physical

    letters = list(dlq_mod.read(bootstrap(), physical(topic)))[-limit:]
    if not letters:
        console.print(f"{topic}: empty")
        return
    table = Table("offset", "source", "consumer", "at", "error")
    for d in letters:
        at = datetime.fromtimestamp(d.timestamp / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(d.offset), f"{d.source_topic}[{d.source_partition}]@{d.source_offset}", d.consumer, at,
                      d.error if full else d.summary)
        if full:
            table.add_row("", "", "", "", d.value[:2000].decode(errors="replace"))
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(topic: str = typer.Argument(..., help="e.g. orders.events.dlq"),
               consumer: str | None = typer.Option(None, help="only what this consumer dead-lettered"),
               offset: list[int] = typer.Option([], help="only these DLQ offsets (repeatable)"),
               yes: bool = typer.Option(False, "--yes", help="do not ask")) -> None:
    """Re-publish dead letters to their source topic after a fix; the consumer that failed tries again."""
    from shared_events.topics import physical

    letters = [d for d in dlq_mod.read(bootstrap(), physical(topic))
               if (consumer is None or d.consumer == consumer) and (not offset or d.offset in offset)]
    if not letters:
        fail("nothing matches")
    if not yes and not typer.confirm(f"replay {len(letters)} message(s) to their source topics?"):
        raise typer.Exit(1)
    console.print(f"replayed {dlq_mod.replay(bootstrap(), letters)} message(s)")


def main() -> None:
    app()


_ = SERVICES  # the service names, for --help texts of commands added with the services

if __name__ == "__main__":
    main()
