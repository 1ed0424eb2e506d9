"""`photopipe acceptance`: one real run against the embedded local stack (the smoke), and the run's promises
with a stand-in target: a failed or interrupted run still destroys, and the report tells what was proven."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from harness.acceptance import ChecksPlan, Timeouts, run_acceptance, unique_stack_name
from harness.acceptance_report import FAILED, NOT_RUN, AcceptanceReport, Check, RunUsage, run_cost
from harness.cli import main
from harness.params import load_template

QUICK = Timeouts(canary=0.1, processing=0.1, metrics=0.1, alarm=0.1, poll=0.01)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    reports = tmp_path_factory.mktemp("acceptance")
    code = main(["acceptance", "--local", "--report-dir", str(reports), "--param", "MaximumConcurrency=2"])
    return code, reports


@pytest.mark.emulator
def test_the_local_acceptance_run_passes_and_writes_junit_json_and_markdown(
    local_run: tuple[int, Path],
) -> None:
    code, reports = local_run
    report = json.loads((reports / "acceptance.json").read_text())

    assert code == 0, (reports / "acceptance.md").read_text()
    assert report["passed"]
    assert [check["name"] for check in report["checks"]] == [name for name, _ in ChecksPlan.ITEMS]
    assert (reports / "acceptance.md").read_text().startswith("# photopipe acceptance: PASSED")
    suite = ET.parse(reports / "acceptance-junit.xml").getroot()
    assert suite.get("tests") == str(len(ChecksPlan.ITEMS))
    assert suite.get("failures") == "0"


@pytest.mark.emulator
def test_what_the_local_stack_cannot_prove_is_reported_as_not_run_locally(
    local_run: tuple[int, Path],
) -> None:
    _, reports = local_run
    checks = {
        check["name"]: check for check in json.loads((reports / "acceptance.json").read_text())["checks"]
    }

    assert checks["alarm-delivers"]["outcome"] == "not-run-locally"
    assert "moto" in checks["alarm-delivers"]["detail"]
    proven = {
        "deploy",
        "notification-delivers",
        "renditions",
        "rejection-notices",
        "metrics",
        "alarms-present",
    }
    assert {name for name, check in checks.items() if check["outcome"] == "passed"} >= proven | {"destroy"}


@pytest.mark.emulator
def test_the_run_prices_itself(local_run: tuple[int, Path]) -> None:
    _, reports = local_run
    report = json.loads((reports / "acceptance.json").read_text())

    assert 0 < report["estimated_cost_usd"] < 0.01
    assert {item["item"] for item in report["cost"]} >= {
        "Lambda",
        "S3 requests",
        "KMS key",
        "CloudWatch alarms",
    }


@dataclass
class StandInTarget:
    """A target whose deploy fails (or is interrupted): the run must still tear down."""

    failure: BaseException
    stack_name: str = "photopipe-acc-standin"
    local: bool = True
    region: str = "us-west-2"
    endpoint: str = "http://127.0.0.1:1"
    calls: list[str] = field(default_factory=list)

    def deploy(self, console: Console) -> dict[str, str]:
        self.calls.append("deploy")
        raise self.failure

    def session(self) -> boto3.Session:
        raise RuntimeError("no session: the stand-in never deployed")

    def flush(self) -> None:
        return None

    def destroy(self, console: Console) -> str:
        self.calls.append("destroy")
        return "DELETE_COMPLETE"

    def close(self) -> None:
        self.calls.append("close")


def _run(target: StandInTarget) -> AcceptanceReport:
    return run_acceptance(
        target, template=load_template(), console=Console(file=io.StringIO()), timeouts=QUICK
    )


def test_a_failed_deploy_is_reported_and_the_stack_is_still_destroyed() -> None:
    target = StandInTarget(RuntimeError("CREATE_FAILED: ProcessingFunction"))

    report = _run(target)

    assert target.calls == ["deploy", "destroy", "close"]
    outcomes = {check.name: check.outcome for check in report.checks}
    assert outcomes["deploy"] == FAILED
    assert "CREATE_FAILED" in report.checks[0].detail
    assert outcomes["destroy"] == "passed"
    assert {outcome for name, outcome in outcomes.items() if name not in ("deploy", "destroy")} == {NOT_RUN}
    assert not report.passed


def test_ctrl_c_stops_the_checks_but_not_the_destroy() -> None:
    target = StandInTarget(KeyboardInterrupt())

    report = _run(target)

    assert target.calls == ["deploy", "destroy", "close"]
    assert report.interrupted
    assert not report.passed
    assert report.to_markdown().startswith("# photopipe acceptance: INTERRUPTED")


def test_a_second_ctrl_c_during_the_destroy_still_leaves_a_report_naming_the_stack() -> None:
    class StubbornTarget(StandInTarget):
        def destroy(self, console: Console) -> str:
            self.calls.append("destroy")
            raise KeyboardInterrupt

    target = StubbornTarget(KeyboardInterrupt())

    report = _run(target)

    destroy = next(check for check in report.checks if check.name == "destroy")
    assert target.calls == ["deploy", "destroy", "close"]
    assert destroy.outcome == FAILED
    assert f"photopipe destroy --stack-name {target.stack_name} --yes" in destroy.detail


def test_a_failed_check_is_a_junit_failure_and_an_unrun_one_is_skipped() -> None:
    report = AcceptanceReport(
        stack_name="s", region="us-west-2", endpoint="aws", started="2026-12-01T00:00:00"
    )
    report.checks = [
        Check("deploy", "d", outcome="passed", seconds=1.0),
        Check("renditions", "r", outcome="failed", detail="no renditions for gif"),
        Check("metrics", "m"),
    ]

    suite = ET.fromstring(report.to_junit().split("\n", 1)[1])

    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["renditions"].find("failure") is not None
    assert cases["metrics"].find("skipped") is not None
    assert suite.get("failures") == "1"
    assert suite.get("skipped") == "1"


def test_fixed_monthly_charges_are_prorated_by_the_hour() -> None:
    usage = RunUsage(
        hours=730.0, photos=0, renditions_written=0, invocations=0, billed_duration_ms=0.0,
        memory_mb=1024, architecture="arm64", alarms=6, sns_messages=0,
    )  # fmt: skip

    items = {item.item: item.usd for item in run_cost(usage)}

    assert items["KMS key"] == pytest.approx(1.00)
    assert items["CloudWatch alarms"] == pytest.approx(0.60)
    assert items["Lambda"] == 0.0


def test_stack_names_are_unique_per_run_and_fit_the_bucket_name_budget() -> None:
    names = {unique_stack_name() for _ in range(50)}

    assert len(names) == 50
    assert all(name.startswith("photopipe-acc-") and len(name) <= 40 for name in names)


def test_acceptance_needs_a_region_or_local(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")

    with pytest.raises(SystemExit) as caught:
        main(["acceptance"])

    assert caught.value.code == 2
    assert "no region" in capsys.readouterr().err


def test_an_acceptance_run_takes_the_environment_but_not_its_stack_name_or_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "photopipe.toml"
    config.write_text(
        "[environments.staging]\n"
        'stack_name = "photopipe-staging"\n'
        'region = "us-west-2"\n'
        'parameters = { NotificationEmail = "ops@example.com", MaximumConcurrency = 5 }\n'
    )
    seen: list[Any] = []

    def record_and_stop(target: Any, **_: Any) -> None:
        seen.append(target)
        raise _StopError

    monkeypatch.setattr("harness.acceptance.run_acceptance", record_and_stop)

    with pytest.raises(_StopError):
        main(["acceptance", "--env", "staging", "--config", str(config)])

    assert seen[0].stack_name.startswith("photopipe-acc-")
    assert seen[0].region == "us-west-2"
    assert seen[0].parameters["MaximumConcurrency"] == "5"
    assert "NotificationEmail" not in seen[0].parameters  # no subscription mail from every test stack


class _StopError(Exception):
    """Ends the command once the target is built: nothing is deployed."""
