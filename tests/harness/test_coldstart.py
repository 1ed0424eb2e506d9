"""The cold-start measure: a candidate's extra import time after the handler, in fresh processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.measures.coldstart import ImportCost, import_cost, main, to_markdown


def test_a_module_the_baseline_already_imported_costs_nothing_extra() -> None:
    cost = import_cost("json", baseline=("json",), repeat=1)

    assert cost.module == "json"
    assert cost.extra_ms < 1.0  # already in sys.modules: a dictionary lookup


def test_a_module_that_cannot_be_imported_is_an_error_naming_it() -> None:
    with pytest.raises(RuntimeError, match="no_such_module_here"):
        import_cost("no_such_module_here", baseline=("json",), repeat=1)


def test_at_least_one_run_is_required() -> None:
    with pytest.raises(ValueError, match="repeat=0"):
        import_cost("json", repeat=0)


def test_the_table_has_one_row_per_candidate() -> None:
    table = to_markdown([ImportCost("a.b", 100.0, 12.34, 3), ImportCost("c", 100.0, 0.5, 3)])

    assert "| `a.b` | 12.3 | 100 | 3 |" in table
    assert "| `c` | 0.5 | 100 | 3 |" in table


def test_the_command_writes_json_and_markdown(tmp_path: Path) -> None:
    assert main(["--repeat", "1", "--out", str(tmp_path), "aws_lambda_powertools.utilities.typing"]) == 0

    (row,) = json.loads((tmp_path / "coldstart.json").read_text())
    assert row["module"] == "aws_lambda_powertools.utilities.typing"
    assert row["extra_ms"] >= 0
    assert "aws_lambda_powertools.utilities.typing" in (tmp_path / "coldstart.md").read_text()
