"""JSON for the events and for PostgreSQL's json/jsonb columns, with orjson.

The json module was a large share of the hot paths; orjson encodes and parses an event several times faster
(bench/README.md, "Measured design choices").

- ``dumps`` writes exactly what ``json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()`` writes
  for the JSON types (tests/unit/test_jsoncodec.py compares them on every event example), so an event's bytes
  do not depend on which of the two encoded it.
- ``loads`` rejects what is not JSON (NaN, Infinity, invalid UTF-8, nesting deeper than 1,024) with a ValueError.
- Importing this module makes psycopg use the same functions for json and jsonb, process-wide (``shared_events``
  imports it, so every service's connections do); dict keys that are not strings are written as strings, as the
  json module did.
"""

from __future__ import annotations

from typing import Any

import orjson
from psycopg.types.json import set_json_dumps, set_json_loads

loads = orjson.loads


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def dumps_for_postgres(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


set_json_dumps(dumps_for_postgres)
set_json_loads(orjson.loads)
