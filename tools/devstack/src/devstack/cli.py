"""devstack: start, stop and inspect the local system.

  devstack up        infrastructure only (PostgreSQL, Kafka, localstripe, SMTP sink), databases, topics
  devstack run       up + migrations + the four services + the web app + demo data; prints where everything listens
                     (with JAEGER=<binary>, as make run sets it, Jaeger too: the services export their traces to it)
  devstack status    what runs where
  devstack down      stop everything this folder started
  devstack logs NAME the tail of a process log
"""

from __future__ import annotations

import importlib
import time

import typer
from rich.console import Console
from rich.table import Table

from devstack.stack import SERVICES, Stack, web_installed

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()


@app.command()
def up() -> None:
    """Start the infrastructure (idempotent)."""
    started = time.monotonic()
    stack = Stack()
    stack.up()
    console.print(f"[green]infrastructure up[/green] in {time.monotonic() - started:.1f}s")
    status()


@app.command()
def run(demo: bool = typer.Option(True, help="load the demo data")) -> None:
    """Infrastructure + migrations + services + demo data."""
    started = time.monotonic()
    stack = Stack()
    stack.up()
    stack.migrate()
    stack.start_services()
    if web_installed():
        stack.start_web()
    console.print(f"[green]system up[/green] in {time.monotonic() - started:.1f}s")
    if demo:
        try:
            loader = importlib.import_module("devstack.demo")
        except ImportError:
            loader = None
        if loader is not None:
            loader.load(stack, console)
    status()
    if web_installed():
        console.print(f"[bold]Web app: {stack.web_url}[/bold]  (customers sign in with a link emailed to them: read it "
                      f"in the mailbox, {stack.smtp.web_url})")
    if stack.jaeger is not None:
        console.print(f"[bold]Traces: {stack.jaeger.web_url}[/bold]  (Jaeger: pick a service, or search by the "
                      "trace_id of a log line)")


@app.command()
def migrate() -> None:
    """Apply every service's migrations."""
    Stack().migrate()


@app.command("start-services")
def start_services() -> None:
    Stack().start_services()


@app.command("stop-services")
def stop_services() -> None:
    Stack().stop_services()


@app.command()
def down() -> None:
    """Stop the services and the infrastructure started from this folder."""
    Stack().down()
    console.print("[green]stopped[/green]")


@app.command()
def status() -> None:
    """What runs, and where."""
    stack = Stack()
    table = Table("component", "state", "address")
    for name, state, where in stack.status():
        table.add_row(name, f"[green]{state}[/green]" if state in ("running", "external") else f"[red]{state}[/red]",
                      where)
    console.print(table)
    if any(stack.procs.running(f"{s.name}.api") for s in SERVICES):
        console.print("API docs: " + "  ".join(f"{stack.service_url(s.name)}/docs" for s in SERVICES))


@app.command()
def logs(name: str, lines: int = typer.Option(50, "-n")) -> None:
    """Show the last lines of a process log (e.g. order-service.consumer, kafka)."""
    path = Stack().procs.log_path(name)
    if not path.exists():
        raise typer.BadParameter(f"no log for {name}")
    console.print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]), markup=False, highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
