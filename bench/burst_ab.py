"""A/B of the cycle's open and close: an older checkout (a git worktree with its own ``make bootstrap``) and this
one, in turn, ``runs`` times each, each run a whole ``python -m bench --only burst`` (``--rebuild``: ``burst,rebuild``)
on its own fresh stack, so each tree replays into its own schema.

    git worktree add /tmp/old <rev> && (cd /tmp/old && make bootstrap) && python bench/burst_ab.py /tmp/old 2

Interleaving puts both trees through the machine's quiet and busy spells alike; the load average at each run's
start is printed beside its figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
ROWS = ("cycle open", "cycle close")  # and, with --rebuild, each service's replay rate


def one_run(tree: Path, subscriptions: int, rebuild: bool) -> dict[str, object]:
    sections = "burst,rebuild" if rebuild else "burst"
    subprocess.run([str(tree / ".venv" / "bin" / "python"), "-m", "bench", "--only", sections, "--subscriptions",
                    str(subscriptions)], cwd=tree, check=True)
    results = json.loads((tree / "bench" / "results" / "results.json").read_text())
    found: dict[str, object] = {"load_at_start": results["details"].get("load_average_at_start")}
    for row in results["rows"]:
        for key in ROWS:
            if row["metric"].startswith(key):
                found[key] = row["value"]
        if row["section"] == "rebuild" and "replay" in row["metric"]:
            found[row["metric"].split(":")[0]] = row["value"]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python bench/burst_ab.py")
    parser.add_argument("old_tree", type=Path)
    parser.add_argument("runs", type=int, nargs="?", default=2)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="also each service's rebuild rate (events/s)")
    args = parser.parse_args()
    lines = []
    for i in range(args.runs):
        for label, tree in (("before", args.old_tree.resolve()), ("after (this tree)", HERE)):
            r = one_run(tree, args.subscriptions, args.rebuild)
            rebuilds = ", ".join(f"{k} {v} events/s" for k, v in r.items() if k.endswith("-service"))
            lines.append(f"run {i + 1} {label:<18} open {r.get('cycle open')} s, close {r.get('cycle close')} s, "
                         f"{rebuilds + ', ' if rebuilds else ''}load at start {r['load_at_start']}")
            print(lines[-1], flush=True)
    print("\n".join(["", f"burst A/B, {args.subscriptions:,} subscriptions:", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
