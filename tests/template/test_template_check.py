"""The lint step's own check: canonical 2-space JSON and an exact cfn-flip round trip, YAML written."""

from __future__ import annotations

import json
from pathlib import Path

import cfn_flip
import pytest

from harness import template_check
from harness.contract import TEMPLATE_PATH

SMALL = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 0}}}}


def test_the_template_passes_and_its_yaml_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml_out = tmp_path / "build" / "template.yaml"

    code = template_check.main([str(TEMPLATE_PATH), "--yaml-out", str(yaml_out)])

    assert code == 0, capsys.readouterr().err
    assert "ProcessingFunction:" in yaml_out.read_text(encoding="utf-8")


def test_a_four_space_indented_template_fails_on_formatting(tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(SMALL, indent=4) + "\n", encoding="utf-8")

    result = template_check.check_template(path.read_text(encoding="utf-8"))

    assert len(result.problems) == 1
    assert "not canonical JSON" in result.problems[0]


def test_a_missing_final_newline_fails_on_formatting() -> None:
    result = template_check.check_template(json.dumps(SMALL, indent=2))
    assert [p.split(";")[0] for p in result.problems] == [
        "the file is not canonical JSON (json.dumps(indent=2) plus a final newline)"
    ]


def test_invalid_json_is_reported_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "template.json"
    path.write_text('{"Resources": {"Queue": {"Type": "AWS::SQS::Queue",}}}\n', encoding="utf-8")

    code = template_check.main([str(path)])

    assert code == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_a_round_trip_that_changes_a_value_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = json.dumps(
        {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": "0"}}}}
    )
    monkeypatch.setattr(cfn_flip, "to_json", lambda _yaml: changed)

    result = template_check.check_template(template_check.canonical_json(SMALL))

    assert result.problems == [
        "the cfn-flip round trip (JSON -> YAML -> JSON) changed "
        "$.Resources.Queue.Properties.DelaySeconds: int 0 became str '0'"
    ]


@pytest.mark.parametrize(
    ("left", "right", "where"),
    [
        ({"a": [1, 2]}, {"a": [1]}, "$.a: 2 items became 1"),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, "$: key order changed"),
        ({"a": {"b": 1}}, {"a": {}}, "$.a.b: lost"),
        ({"a": "x"}, {"a": "y"}, "$.a: 'x' became 'y'"),
    ],
)
def test_first_difference_names_the_path(left: object, right: object, where: str) -> None:
    assert template_check.first_difference(left, right) == where


def test_equal_documents_have_no_difference() -> None:
    assert template_check.first_difference(SMALL, json.loads(json.dumps(SMALL))) is None
