"""The template, read once per session; tests must not mutate it (copy.deepcopy when they need a variant)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.params import load_template


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return template["Resources"]  # type: ignore[no-any-return]
