"""`photopipe local --explain`: what the local stack emulates and what it does not, without starting it."""

from __future__ import annotations

import json

import pytest

from harness.cli import main


def test_explain_lists_every_resource_with_how_it_is_emulated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "local", "--explain"]) == 0
    rows = json.loads(capsys.readouterr().out)
    resources = {row["logical_id"] for row in rows if row["property"] == ""}
    assert {"UploadBucket", "ProcessingFunction", "ProcessingEventSourceMapping", "Dashboard"} <= resources
    assert {row["how"] for row in rows} <= {"moto", "wiring", "runtime", "not emulated"}


def test_explain_names_what_is_not_emulated_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "local", "--explain"]) == 0
    rows = json.loads(capsys.readouterr().out)
    not_emulated = {
        (row["logical_id"], row["property"]): row["detail"] for row in rows if row["how"] == "not emulated"
    }
    assert ("FunctionLogGroup", "KmsKeyId") in not_emulated
    assert all(detail for detail in not_emulated.values())


def test_a_parameter_aws_would_refuse_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["local", "--port", "0", "--param", "MaxReceiveCount=0"])
    assert exit_info.value.code == 2
    assert "MaxReceiveCount=0" in capsys.readouterr().err
