"""docs/events.md, CATALOGUE.md and docs/api/*.openapi.json are generated from the code: `make docs` after a
change of contracts or routes, or this test fails."""

import pytest

from devstack.apidocs import documents

DOCS = documents()


@pytest.mark.parametrize("path", sorted(DOCS), ids=lambda p: p.name)
def test_generated_document_is_current(path):
    assert path.exists(), f"{path} is missing: run make docs"
    assert path.read_text() == DOCS[path], f"{path} is out of date: run make docs"


def test_building_the_documents_leaves_the_environment_alone(monkeypatch):
    # The test stack reads DATABASE_URL as an external database: a placeholder left behind by the docs build made
    # every later stack connect to port 1 (CI, when this module was collected before the stack started).
    monkeypatch.delenv("DATABASE_URL", raising=False)
    documents()
    import os

    assert "DATABASE_URL" not in os.environ
