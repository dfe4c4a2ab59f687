"""flask-smorest's Blueprint, with each argument schema made once instead of once per request.

Given a schema class, ``@blp.arguments(SomeSchema)`` hands it to webargs, which instantiates it for every
request: the fields are deep-copied, and every Nested field builds its own schema again on first use. For a
subscription create that was 8% of a worker's Python time. A schema keeps no state between loads (marshmallow 4
has no context), so one instance per class serves every request and thread; a Nested field's schema is then
built once, on its first load.
"""

from __future__ import annotations

import threading
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint as _Blueprint
from webargs.flaskparser import FlaskParser


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


class Blueprint(_Blueprint):
    """Also documents each operation with an ``operationId``, ``<blueprint>.<endpoint>`` (the Flask endpoint
    name, so stable and unique in the app; ``.<method>`` added when one view serves several methods), and a view
    marked ``@public`` with no bearer requirement (``security: []``, unless the view documents its own)."""

    ARGUMENTS_PARSER = SchemaOnceParser()

    def _store_endpoint_docs(self, endpoint: str, obj: Any, parameters: Any, tags: Any, **options: Any) -> None:
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        methods = [m for m in self._docs[endpoint] if m != "parameters"]
        for method in methods:
            manual = self._docs[endpoint][method].setdefault("manual_doc", {})
            manual.setdefault("operationId", f"{self.name}.{endpoint}" + (f".{method}" if len(methods) > 1 else ""))
            if getattr(obj, "_public", False):
                manual.setdefault("security", [])
