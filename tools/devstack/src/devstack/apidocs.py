"""The documents in docs/ that are generated from code, so they cannot drift: the event catalogue and the AsyncAPI
document (from the registry in shared/events) and each service's OpenAPI document (from its Flask app).

python -m devstack.apidocs   (make docs) writes them; tests/contracts/test_docs_are_current.py checks them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.stack import SERVICES, repo_root

if TYPE_CHECKING:
    from flask import Flask


@contextmanager
def service_app(package: str) -> Iterator[Flask]:
    """A service's Flask app, built without connecting anywhere (its pool is closed after).

    The app's configuration needs a DATABASE_URL; an unreachable one is set only while the app is built and the
    environment is restored after, so that nothing else in the process (the test stack reads DATABASE_URL as an
    external database) ever sees it."""
    import importlib

    module = importlib.import_module(f"{package}.entrypoints.flask_app")
    before = os.environ.get("DATABASE_URL")
    os.environ.setdefault("DATABASE_URL", "postgresql://docs@127.0.0.1:1/none")
    try:
        app = module.create_app()
    finally:
        if before is None:
            os.environ.pop("DATABASE_URL", None)
    try:
        yield app
    finally:
        app.extensions["pool"].close()


def openapi(package: str) -> dict:
    """A service's OpenAPI document, as its app serves it."""
    with service_app(package) as app:
        return app.test_client().get("/openapi.json").get_json()


def documents() -> dict[Path, str]:
    from devstack import asyncapi
    from shared_events.catalogue import render

    root = repo_root()
    docs: dict[Path, str] = {root / "docs" / "events.md": render(),
                             root / "shared/events/src/shared_events/CATALOGUE.md": render(),
                             root / "docs" / "asyncapi.json": asyncapi.render()}
    for svc in SERVICES:
        docs[root / "docs" / "api" / f"{svc.name}.openapi.json"] = json.dumps(openapi(svc.package), indent=2,
                                                                             sort_keys=True) + "\n"
    return docs


def main() -> None:
    from shared_events.catalogue import write_samples

    for path, text in documents().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    for path in write_samples():  # the golden sample of a new event type (an existing one is never rewritten)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
