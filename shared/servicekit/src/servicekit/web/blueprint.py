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
    ARGUMENTS_PARSER = SchemaOnceParser()
