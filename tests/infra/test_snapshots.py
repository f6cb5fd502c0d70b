"""Snapshots of every synthesized stack: each change to the generated Terraform is a reviewed diff.

After an intended change: `.venv/bin/pytest tests/infra/test_snapshots.py --snapshot-update`,
then read the diff of tests/infra/__snapshots__/ before committing it.
"""

from __future__ import annotations

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.infra.conftest import STACKS


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
def test_synthesized_stack_matches_snapshot(synthesized, snapshot_json, stack):
    assert synthesized[stack] == snapshot_json
