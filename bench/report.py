"""Writing the results: a table on the terminal, results.json and results.md, plots as PNG."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def _load(value: Any) -> str:
    return " ".join(f"{x:.2f}" for x in value) if value else "?"


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.details: dict[str, Any] = {}
        self.started = datetime.now(UTC)

    def add(self, section: str, metric: str, value: Any, unit: str = "", *, target: str = "",
            ratio: float | None = None, ratio_to: str = "", note: str = "") -> None:
        self.rows.append({"section": section, "metric": metric, "value": value, "unit": unit, "target": target,
                          "ratio": None if ratio is None else round(ratio, 3), "ratio_to": ratio_to, "note": note})

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    def markdown(self) -> str:
        lines = [f"# Benchmark results ({self.started:%Y-%m-%d %H:%M} UTC)", "",
                 f"Machine: {platform.node()}, {platform.processor() or platform.machine()}, "
                 f"Python {platform.python_version()}, {os.cpu_count()} CPUs.", "",
                 f"Command: `{self.details.get('command', 'python -m bench')}`; load average (1, 5, 15 min) at the "
                 f"start {_load(self.details.get('load_average_at_start'))}, at the end "
                 f"{_load(self.details.get('load_average_at_end'))}. Ratios compare with the limits measured in "
                 "the same run.", "",
                 "| section | metric | value | unit | target | ratio | ratio to | note |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r['section']} | {r['metric']} | {r['value']} | {r['unit']} | {r['target']} | "
                         f"{'' if r['ratio'] is None else r['ratio']} | {r['ratio_to']} | {r['note']} |")
        notes = self.details.get("notes") or []
        if notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
        return "\n".join(lines) + "\n"

    def print(self) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table("section", "metric", "value", "unit", "target", "ratio", "ratio to", "note")
        for r in self.rows:
            table.add_row(r["section"], r["metric"], str(r["value"]), r["unit"], r["target"],
                          "" if r["ratio"] is None else str(r["ratio"]), r["ratio_to"], r["note"])
        Console(width=220).print(table)
        print(f"command: {self.details.get('command')}; load average at the start "
              f"{_load(self.details.get('load_average_at_start'))}, at the end "
              f"{_load(self.details.get('load_average_at_end'))}")

    def write(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "results.json").write_text(json.dumps({"started": self.started.isoformat(), "rows": self.rows,
                                                          "details": self.details}, indent=2, default=str))
        (RESULTS / "results.md").write_text(self.markdown())
        return RESULTS


def plot_series(path: Path, title: str, series: dict[str, list[tuple[float, float]]], xlabel: str,
                ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    for label, points in series.items():
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
