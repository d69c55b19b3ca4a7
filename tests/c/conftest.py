"""The C reader's tests compile it once per session (see c_harness.build)."""

from __future__ import annotations

from typing import Any

import pytest
from c_harness import build


@pytest.fixture(scope="session")
def c_build(tmp_path_factory) -> dict[str, Any]:
    return build(tmp_path_factory.mktemp("c_reader"))
