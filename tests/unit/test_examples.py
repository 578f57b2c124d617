"""The manifests the project ships (deploy/examples) read and decode strictly, as `klctl apply` reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.klctl.manifests import read_manifests

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "deploy" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_shipped_example_decodes(path: Path) -> None:
    assert read_manifests([str(path)])
