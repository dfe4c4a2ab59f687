"""The layers keep their SQL where it belongs: a use case asks an adapter a question in the domain's words and
the adapter owns the statement; no SQL text crosses from one layer to another; the domain does no I/O."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "order_service"
SQL = re.compile(r"%s|\bSELECT\b[\s\S]+\bFROM\b|\bINSERT INTO\b|\bUPDATE\s+\w+[\s\S]+\bSET\b|\bDELETE FROM\b")


def _modules(layer: str) -> list[Path]:
    return sorted(p for p in (PACKAGE / layer).glob("*.py") if p.name != "__init__.py")


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda]:
    return [n for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)]


@pytest.mark.parametrize("path", _modules("service_layer") + _modules("adapters"), ids=lambda p: p.name)
def test_no_function_takes_a_sql_condition_from_its_caller(path):
    takes_sql = [f"{getattr(f, 'name', 'lambda')}({a.arg})" for f in _functions(path)
                 for a in f.args.args + f.args.kwonlyargs if a.arg in {"where", "condition_sql", "sql_filter"}]
    assert takes_sql == []


@pytest.mark.parametrize("path", _modules("service_layer"), ids=lambda p: p.name)
def test_no_use_case_hands_sql_text_to_another_function(path):
    """No SQL in a lambda (a reaction that passes a filter) nor in an argument of a call to another layer."""
    tree = ast.parse(path.read_text())
    handed = [s for node in ast.walk(tree) if isinstance(node, ast.Lambda) for s in _strings(node) if SQL.search(s)]
    handed += [s for node in ast.walk(tree) if isinstance(node, ast.Call)
               and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
               and node.func.value.id in {"repository", "runs", "notifications", "order_projection", "dues"}
               for arg in node.args + [k.value for k in node.keywords] for s in _strings(arg) if SQL.search(s)]
    assert handed == []


@pytest.mark.parametrize("path", _modules("service_layer"), ids=lambda p: p.name)
def test_the_use_cases_hold_no_sql_of_their_own(path):
    source = path.read_text()
    assert [s for s in _strings(ast.parse(source)) if SQL.search(s)] == []
    assert "adapters.db" not in source and "conn.execute" not in source and "cursor(" not in source


@pytest.mark.parametrize("path", _modules("domain"), ids=lambda p: p.name)
def test_the_domain_does_no_io(path):
    imported = {alias.name.split(".")[0] if isinstance(node, ast.Import) else (node.module or "").split(".")[0]
                for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in node.names}
    assert not imported & {"psycopg", "confluent_kafka", "requests", "stripe", "flask", "smtplib", "socket"}
    assert "order_service.adapters" not in path.read_text() and "order_service.service_layer" not in path.read_text()
