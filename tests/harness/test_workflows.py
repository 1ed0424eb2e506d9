"""The GitHub workflows: valid YAML, CI runs the README's test command, the acceptance workflow assumes a role
by OIDC (no stored keys), runs the README's acceptance command and keeps its reports."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.contract import ROOT, TEMPLATE_PATH

WORKFLOWS = ROOT / ".github" / "workflows"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as the boolean true.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    return job["steps"]  # type: ignore[no-any-return]


def _runs(workflow: dict[str, Any]) -> str:
    return "\n".join(" ".join(str(step.get("run", "")).split()) for step in _steps(workflow))


def _uses(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(step["uses"]).split("@")[0]: step for step in _steps(workflow) if "uses" in step}


@pytest.mark.parametrize("name", ["ci.yml", "acceptance.yml"])
def test_every_action_is_pinned_to_a_version(name: str) -> None:
    for step in _steps(_load(name)):
        if "uses" in step:
            assert "@v" in step["uses"], step["uses"]


def test_ci_runs_the_readmes_test_command_with_caching() -> None:
    ci = _load("ci.yml")

    assert "nox -s lint tests" in _runs(ci)
    assert "nox -s lint tests" in README
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    cached = _uses(ci)["actions/cache"]["with"]["path"]
    assert ".nox" in cached
    assert "build/wheels" in cached


def _noxfile_constant(name: str) -> str:
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return str(ast.literal_eval(node.value))
    raise AssertionError(f"noxfile.py assigns no {name}")


def test_ci_also_runs_the_suite_on_the_python_of_the_default_runtime() -> None:
    template = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    runtime = template["Parameters"]["Runtime"]["Default"]

    assert runtime == "python" + _noxfile_constant("DEFAULT_RUNTIME_PYTHON")
    assert "nox -s tests-3.13" in _runs(_load("ci.yml"))
    assert _noxfile_constant("DEFAULT_RUNTIME_PYTHON") == "3.13"


def test_acceptance_runs_by_hand_and_nightly_with_a_role_assumed_by_oidc() -> None:
    acceptance = _load("acceptance.yml")

    assert set(acceptance["on"]) == {"workflow_dispatch", "schedule"}
    assert acceptance["permissions"]["id-token"] == "write"
    credentials = _uses(acceptance)["aws-actions/configure-aws-credentials"]["with"]
    assert credentials["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert "aws-access-key-id" not in credentials
    assert "nox -s acceptance -- --region" in _runs(acceptance)
    assert "nox -s acceptance -- --region" in README


def test_acceptance_keeps_its_reports_and_cleans_leaked_stacks_even_when_it_fails() -> None:
    steps = _steps(_load("acceptance.yml"))
    upload = next(step for step in steps if str(step.get("uses", "")).startswith("actions/upload-artifact"))
    clean = next(step for step in steps if "stacks clean" in str(step.get("run", "")))

    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/acceptance/"
    assert clean["if"] == "always()"
    assert "--yes" in clean["run"]


def test_the_reports_directory_is_the_one_acceptance_writes_by_default() -> None:
    from harness.cli import build_parser

    args = build_parser().parse_args(["acceptance", "--local"])

    assert args.report_dir == Path("reports/acceptance")
