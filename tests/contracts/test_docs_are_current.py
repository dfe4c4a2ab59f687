"""docs/events.md, CATALOGUE.md and docs/api/*.openapi.json are generated from the code: `make docs` after a
change of contracts or routes, or this test fails."""

import pytest

from devstack.apidocs import documents

DOCS = documents()


@pytest.mark.parametrize("path", sorted(DOCS), ids=lambda p: p.name)
def test_generated_document_is_current(path):
    assert path.exists(), f"{path} is missing: run make docs"
    assert path.read_text() == DOCS[path], f"{path} is out of date: run make docs"
