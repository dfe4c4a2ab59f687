"""flask-smorest's Blueprint, with one rule for query parameters and each argument schema made once.

Query parameters, the same for every route of every service (checked before the view runs):
- a parameter the route does not take (none, for a route without query arguments) is a 400
  ``unknown-query-parameter`` problem naming it;
- a parameter given more than once is a 400 ``repeated-query-parameter`` problem naming it, unless its field is a
  list (``fields.List``: e.g. ``status=placed&status=confirmed``, any of the values);
- bad values stay field-by-field 422s (webargs).

Schemas made once:

Given a schema class, ``@blp.arguments(SomeSchema)`` hands it to webargs, which instantiates it for every request: the
fields are deep-copied, and every Nested field builds its own schema again on first use: a measurable share of a
subscription create's Python time (bench/README.md, "Measured design choices"). A schema keeps no state between loads
(marshmallow 4 has no context), so one instance per class serves every request and thread; a Nested field's schema is
then built once, on its first load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import current_app, request
from flask_smorest import Blueprint as _Blueprint
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy

from servicekit.web.problems import Problem

QUERY_LOCATIONS = ("query", "querystring")


class SchemaOnceParser(FlaskParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._made: dict[type[ma.Schema], ma.Schema] = {}
        self._lock = threading.Lock()

    def _get_schema(self, argmap: Any, req: Any) -> ma.Schema:
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            made = self._made.get(argmap)
            if made is None:
                with self._lock:
                    made = self._made.setdefault(argmap, argmap())
            return made
        return super()._get_schema(argmap, req)


class UnknownQueryParameter(Problem):
    status, title, slug = 400, "Unknown query parameter", "unknown-query-parameter"


class RepeatedQueryParameter(Problem):
    status, title, slug = 400, "Repeated query parameter", "repeated-query-parameter"


class QueryRule:
    """The names a route's query takes, and those that may repeat, read once per view from its argument schemas."""

    def __init__(self, parser: FlaskParser) -> None:
        self.parser = parser
        self._known: dict[Callable[..., Any], tuple[frozenset[str], frozenset[str]]] = {}

    def names(self, view: Callable[..., Any]) -> tuple[frozenset[str], frozenset[str]]:
        found = self._known.get(view)
        if found is None:
            taken: set[str] = set()
            multiple: set[str] = set()
            for param in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                if param.get("in") not in QUERY_LOCATIONS:
                    continue
                schema = self.parser._get_schema(param["schema"], request)
                taken |= {f.data_key or name for name, f in schema.fields.items() if not f.dump_only}
                multiple |= MultiDictProxy(request.args, schema).multiple_keys
            found = self._known[view] = (frozenset(taken), frozenset(multiple))
        return found

    def check(self) -> None:
        view = current_app.view_functions.get(request.endpoint or "")
        if view is None or not request.args:
            return
        taken, multiple = self.names(view)
        unknown = sorted(set(request.args) - taken)
        if unknown:
            raise UnknownQueryParameter(f"This operation takes no query parameter {', '.join(unknown)}"
                                        + (f" (it takes {', '.join(sorted(taken))})." if taken else "."),
                                        errors={k: ["Unknown query parameter."] for k in unknown})
        repeated = sorted(k for k in set(request.args) - multiple if len(request.args.getlist(k)) > 1)
        if repeated:
            raise RepeatedQueryParameter(f"Give {', '.join(repeated)} once.",
                                         errors={k: ["Takes one value: give it once."] for k in repeated})


class Blueprint(_Blueprint):
    """Also documents each operation with an ``operationId``, ``<blueprint>.<endpoint>`` (the Flask endpoint
    name, so stable and unique in the app; ``.<method>`` added when one view serves several methods), and a view
    marked ``@public`` with no bearer requirement (``security: []``, unless the view documents its own)."""

    ARGUMENTS_PARSER = SchemaOnceParser()
    QUERY_RULE = QueryRule(ARGUMENTS_PARSER)

    def _store_endpoint_docs(self, endpoint: str, obj: Any, parameters: Any, tags: Any, **options: Any) -> None:
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        methods = [m for m in self._docs[endpoint] if m != "parameters"]
        for method in methods:
            manual = self._docs[endpoint][method].setdefault("manual_doc", {})
            manual.setdefault("operationId", f"{self.name}.{endpoint}" + (f".{method}" if len(methods) > 1 else ""))
            if getattr(obj, "_public", False):
                manual.setdefault("security", [])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(self.QUERY_RULE.check)

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable[..., Any]:
        """flask-smorest's, documenting the 400 of the query rule on operations that take a query."""
        decorate = super().arguments(schema, location=location, **kwargs)
        if location not in QUERY_LOCATIONS:
            return decorate

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            return self.alt_response(400, response="BAD_REQUEST")(decorate(func))

        return decorator
