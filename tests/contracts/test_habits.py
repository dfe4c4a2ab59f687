"""Habits the tree keeps: the README's test command lints and typechecks what ships, SQL built from strings is
flagged, docstrings and comments carry no benchmark figures, and docs/DEVELOPING.md's example is the code."""

import io
import os
import re
import subprocess
import tokenize
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.parent for p in ROOT.glob("*/*/pyproject.toml")
                 if p.parts[-3] in ("shared", "services", "tools") and (p.parent / "src").is_dir())


def _make_test_commands() -> list[str]:
    # run from `make test` itself too: the parent make's flags stay out of this dry run
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(["make", "-n", "test"], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()


def _index(lines: list[str], needle: str) -> int:
    found = [i for i, line in enumerate(lines) if needle in line]
    assert found, f"`make test` does not run {needle!r}"
    return found[0]


def test_make_test_runs_ruff_and_mypy_before_the_tests():
    lines = _make_test_commands()
    tests = _index(lines, "-m pytest")
    assert _index(lines, "ruff check .") < tests
    assert _index(lines, "mypy ") < tests


def test_the_typecheck_covers_every_package_the_project_ships():
    assert len(SHIPPED) >= 9
    lines = _make_test_commands()
    mypy = lines[_index(lines, "mypy ")].split()
    missing = [str(p.relative_to(ROOT)) for p in SHIPPED if f"{p.relative_to(ROOT)}/src" not in mypy]
    assert not missing, f"make typecheck leaves out {missing}"


def test_ruff_flags_sql_built_from_strings_outside_tests_and_benchmarks():
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    assert "S608" not in lint["ignore"]
    for pattern, ignored in lint.get("per-file-ignores", {}).items():
        if "S" in ignored or "S608" in ignored:
            assert "tests" in pattern or pattern.startswith("bench"), pattern


# A figure with a unit of time, size or rate, a speed-up ("70x") or a share ("8%").
FIGURE = re.compile(r"\d(?:[\d,.]*\d)?\s?(?:ms|us|µs|kB|KiB|MB|MiB|GB|GiB)\b"
                    r"|\d(?:[\d,.]*\d)?\s(?:s|seconds)\b"
                    r"|\d(?:[\d,.]*\d)?\s?\w*/s\b"
                    r"|\b\d+(?:\.\d+)?x\b"
                    r"|\d%")
# Facts about settings and outside limits, not measurements.
NOT_MEASURED = (
    "Kafka's default 1 MiB message limit",
    "its default is 64 MB per partition",
    "Stripe allows 100 requests/s live and 25/s in test mode",
    "default 300 s",
    "wait up to 100 ms for a fetch to fill",
)


def _docstrings_and_comments(path: Path):
    previous = tokenize.NEWLINE
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.COMMENT:
            yield tok.start[0], tok.string
        elif tok.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT,
                                                            tokenize.DEDENT) and tok.string.endswith(('"""', "'''")):
            for n, line in enumerate(tok.string.splitlines()):
                yield tok.start[0] + n, line
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            previous = tok.type


@pytest.mark.parametrize("package", SHIPPED, ids=lambda p: p.name)
def test_no_benchmark_figure_in_a_docstring_or_comment(package):
    found = []
    for path in sorted((package / "src").rglob("*.py")):
        for line_no, text in _docstrings_and_comments(path):
            cleaned = text
            for fact in NOT_MEASURED:
                cleaned = cleaned.replace(fact, "")
            if FIGURE.search(cleaned):
                found.append(f"{path.relative_to(ROOT)}:{line_no}: {text.strip()}")
    assert not found, "benchmark figures belong in bench/README.md ('Measured design choices'):\n" + "\n".join(found)


def test_the_write_path_example_in_developing_is_the_code_as_it_is():
    from subscription_service.service_layer import subscriptions as handlers

    doc = (ROOT / "docs/DEVELOPING.md").read_text()
    section = doc[doc.index("## The write path"):]
    example = re.search(r"```python\n(.*?)```", section, re.S)
    assert example is not None
    route = ROOT / "services/subscription-service/src/subscription_service/entrypoints/api/subscriptions.py"
    assert example.group(1) in route.read_text()
    for name in re.findall(r"handlers\.(\w+)\(", example.group(1)):
        assert callable(getattr(handlers, name, None)), f"no handler {name}"
