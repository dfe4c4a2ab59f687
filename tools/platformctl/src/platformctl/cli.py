"""platformctl: operate the recurring-orders platform.

Addresses come from the environment (see platformctl.targets); locally they default to `make run`'s.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any

import requests
import typer
from rich.console import Console
from rich.table import Table

from platformctl import dlq as dlq_mod
from platformctl import lag as lag_mod
from platformctl.targets import SERVICES, all_targets, bootstrap

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter topics: list, show, replay after a fix.")
tokens_app = typer.Typer(no_args_is_help=True, help="API tokens: issue, list, revoke.")
shops_app = typer.Typer(no_args_is_help=True, help="Shops: list, enable or disable subscriptions, managers.")
clock_app = typer.Typer(no_args_is_help=True, help="The test clock (test clock mode only): show, advance.")
app.add_typer(dlq_app, name="dlq")
app.add_typer(tokens_app, name="tokens")
app.add_typer(shops_app, name="shops")
app.add_typer(clock_app, name="clock")
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
    lag_table = Table("consumer group", "topic", "lag", "partitions behind (partition: lag)")
    for group, topics in lag_mod.consumer_lag(bootstrap()).items():
        for topic, partitions in sorted(topics.items()):
            n = sum(partitions.values())
            behind = ", ".join(f"{p}: {lag}" for p, lag in sorted(partitions.items()) if lag)
            lag_table.add_row(group, topic, f"[red]{n}[/red]" if n else "0", behind or "-")
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


# -- tokens ----------------------------------------------------------------------------------------------------


@tokens_app.command("issue")
def tokens_issue(role: str = typer.Option(..., help="manager or customer"),
                 shop: list[str] = typer.Option(..., help="shop id (repeat for a manager of several shops)"),
                 customer: str | None = typer.Option(None, help="customer id (role customer)"),
                 label: str | None = typer.Option(None)) -> None:
    """Issue a token; the secret is printed once and never stored."""
    body = {"role": role, "shop_ids": shop, "customer_id": customer, "label": label}
    out = _api("subscription-service", "POST", "/api/v1/tokens", json={k: v for k, v in body.items() if v})
    console.print(f"token id {out['id']} ({out['role']}, shops {', '.join(out['shop_ids'])})")
    console.print(f"secret (shown once): [bold]{out['token']}[/bold]")


@tokens_app.command("list")
def tokens_list() -> None:
    table = Table("id", "role", "shops", "customer", "label", "revoked")
    for t in _pages("subscription-service", "/api/v1/tokens"):
        table.add_row(t["id"], t["role"], ", ".join(t["shop_ids"]), t.get("customer_id") or "", t.get("label") or "",
                      t.get("revoked_at") or "")
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token: every service refuses it from the moment it has seen the event (about a second)."""
    _api("subscription-service", "DELETE", f"/api/v1/tokens/{token_id}")
    console.print(f"revoked {token_id}")


# -- shops -----------------------------------------------------------------------------------------------------


@shops_app.command("list")
def shops_list() -> None:
    table = Table("id", "name", "currency", "time zone", "subscriptions")
    for s in _pages("subscription-service", "/api/v1/shops"):
        table.add_row(s["id"], s["name"], s["currency"], s["timezone"],
                      "[green]enabled[/green]" if s["subscriptions_enabled"] else "[red]disabled[/red]")
    console.print(table)


def _set_enabled(shop_id: str, enabled: bool, reason: str | None) -> None:
    current = _api("subscription-service", "GET", f"/api/v1/shops/{shop_id}")
    headers = {"If-Match": f'"{current["version"]}"'}
    if reason:
        headers["X-Change-Reason"] = reason
    _api("subscription-service", "PATCH", f"/api/v1/shops/{shop_id}", json={"subscriptions_enabled": enabled},
         headers=headers)
    console.print(f"{current['name']}: subscriptions {'enabled' if enabled else 'disabled'}")


@shops_app.command("enable")
def shops_enable(shop_id: str, reason: str | None = typer.Option(None)) -> None:
    """Turn subscriptions back on: open cycles get their orders at once."""
    _set_enabled(shop_id, True, reason)


@shops_app.command("disable")
def shops_disable(shop_id: str, reason: str | None = typer.Option(None)) -> None:
    """The kill switch: no new orders are placed for this shop."""
    _set_enabled(shop_id, False, reason)


@shops_app.command("add-manager")
def shops_add_manager(shop_id: str, email: str) -> None:
    """Make EMAIL a manager of the shop (its first one, typically): they sign in to the shop's console with a
    one-time link sent to that address (the console's sign-in page, /manage/sign-in)."""
    added = _api("subscription-service", "POST", f"/api/v1/shops/{shop_id}/managers", json={"email": email})
    console.print(f"{added['email']} manages shop {shop_id} (manager {added['id']})")


@shops_app.command("managers")
def shops_managers(shop_id: str) -> None:
    """The shop's managers."""
    table = Table("id", "email", "added")
    for m in _pages("subscription-service", f"/api/v1/shops/{shop_id}/managers"):
        table.add_row(m["id"], m["email"], m["added_at"])
    console.print(table)


# -- test clock and report -------------------------------------------------------------------------------------


@clock_app.command("show")
def clock_show() -> None:
    out = _api("scheduler-service", "GET", "/api/v1/test-clock")
    console.print(f"mode {out.get('mode')}, now {out.get('now')}")
    pending = _api("scheduler-service", "GET", "/api/v1/boundaries/pending")
    items = pending.get("items", pending) if isinstance(pending, dict) else pending
    for b in list(items)[:10]:
        console.print(f"  next: {b.get('kind')} of cycle {b.get('order_cycle_id')} (shop {b.get('shop_id')}) "
                      f"at {b.get('fire_at_local')}")


@clock_app.command("advance")
def clock_advance(to: str | None = typer.Option(None, help="an ISO time"),
                  hours: float = typer.Option(0, help="move forward by this many hours"),
                  days: float = typer.Option(0, help="... and days"),
                  next_: str | None = typer.Option(None, "--next", help="open, close or boundary: just past the next"),
                  report: bool = typer.Option(True, help="wait for the platform to settle and print what happened"),
                  ) -> None:
    """Move the test clock forward; every boundary crossed fires in order, as real time would."""
    import time as _time
    from datetime import datetime, timedelta

    from platformctl import report as report_mod

    now = datetime.fromisoformat(_api("scheduler-service", "GET", "/api/v1/test-clock")["now"])
    if next_:
        pending = _api("scheduler-service", "GET", "/api/v1/boundaries/pending")
        items = pending.get("items", pending) if isinstance(pending, dict) else pending
        wanted = [b for b in items if next_ == "boundary" or b.get("kind") == next_]
        if not wanted:
            fail(f"no pending {next_} boundary")
        first = min(wanted, key=lambda b: b["fire_at"])
        target_at = datetime.fromisoformat(first["fire_at"]) + timedelta(seconds=1)
    elif to:
        target_at = datetime.fromisoformat(to)
    else:
        target_at = now + timedelta(hours=hours, days=days)
    if target_at <= now:
        fail(f"the clock is at {now.isoformat()}: it only moves forward")
    since = _time.time()
    out = _api("scheduler-service", "POST", "/api/v1/test-clock/advance", json={"to": target_at.isoformat()})
    fired = out.get("boundaries", []) if isinstance(out, dict) else []
    console.print(f"clock {now.isoformat()} -> {target_at.isoformat()}: {len(fired)} boundary(ies) fired")
    for b in fired:
        console.print(f"  {b.get('kind')} of {b.get('order_cycle_id')} ({b.get('due_count', '-')} orders due)")
    if report:
        took = report_mod.settle()
        console.print(f"(settled in {took:.1f}s)")
        cycles = sorted({b["order_cycle_id"] for b in fired if b.get("order_cycle_id")})
        report_mod.print_report(console, since=since, cycle_ids=cycles or None)


@app.command()
def report(cycle: str | None = typer.Option(None, help="only this order cycle")) -> None:
    """Orders, payments and emails of every shop, as a readable report."""
    from platformctl import report as report_mod

    report_mod.print_report(console, cycle_ids=[cycle] if cycle else None)


# -- projections -----------------------------------------------------------------------------------------------


@app.command()
def rebuild(service: str = typer.Argument(..., help=f"one of {', '.join(SERVICES)}"),
            swap: bool = typer.Option(False, help="replace the live projections with the rebuilt ones")) -> None:
    """Replay a service's topics from offset 0 into a scratch schema, compare with the live projections
    (and replace them with --swap), with a progress bar and the replay rate."""
    import importlib
    import os

    from rich.progress import BarColumn, Progress, TextColumn

    from platformctl.targets import target

    t = target(service)
    os.environ["DATABASE_URL"] = t.database_url
    module = importlib.import_module(f"{t.package}.entrypoints.rebuild")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed} events"),
                  TextColumn("{task.fields[rate]}"), console=console) as progress:
        task = progress.add_task(f"rebuilding {service}", total=None, rate="")
        started = __import__("time").perf_counter()

        def on_progress(n: int) -> None:
            elapsed = __import__("time").perf_counter() - started
            progress.update(task, completed=n, rate=f"{n / elapsed:,.0f} events/s" if elapsed else "")

        import inspect

        kwargs: dict[str, object] = {"swap": swap, "bootstrap": bootstrap()}
        if "progress" in inspect.signature(module.run).parameters:
            kwargs["progress"] = on_progress
        report_ = module.run(t.database_url, **kwargs)
        progress.update(task, completed=report_.events,
                        rate=f"{report_.events_per_second:,.0f} events/s")
    console.print(f"{report_.events} events in {report_.seconds:.1f}s = {report_.events_per_second:,.0f} events/s")
    for table, diff in report_.differences.items():
        console.print(f"  {table}: {'identical' if diff == 0 else f'[red]{diff} rows differ[/red]'}")
    if report_.swapped:
        console.print("[green]live projections replaced[/green]")
    if not report_.identical and not swap:
        raise typer.Exit(1)


def _api(service: str, method: str, path: str, **kw: Any) -> Any:
    from platformctl.api import ApiFailure, call

    try:
        return call(service, method, path, **kw)
    except ApiFailure as exc:
        fail(str(exc))
        raise


def _pages(service: str, path: str) -> list[dict]:
    from platformctl.api import ApiFailure, all_pages

    try:
        return all_pages(service, path)
    except ApiFailure as exc:
        fail(str(exc))
        raise


def main() -> None:
    app()

if __name__ == "__main__":
    main()
