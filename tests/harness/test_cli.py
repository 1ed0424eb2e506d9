from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from harness.cli import is_local_endpoint, main
from harness.deploy import deploy
from tests.harness.conftest import MINI_TEMPLATE, REGION


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main(list(argv))
    assert caught.value.code == 2
    return capsys.readouterr().err


def test_an_unknown_command_is_refused_listing_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    error = _refused(capsys, "launch")

    assert "choose from" in error
    assert "'redrive'" in error


def test_an_invalid_stack_name_is_refused_with_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    error = _refused(capsys, "outputs", "--stack-name", "9lives")

    assert "starting with a letter" in error


def test_an_unknown_architecture_is_refused_with_the_allowed_ones(capsys: pytest.CaptureFixture[str]) -> None:
    error = _refused(capsys, "package", "--architecture", "aarch64")

    assert "invalid choice: 'aarch64'" in error
    assert "'arm64', 'x86_64'" in error


def test_python311_needs_the_explicit_flag(capsys: pytest.CaptureFixture[str]) -> None:
    error = _refused(capsys, "package", "--runtime", "python3.11")

    assert "--allow-python311" in error
    assert "Pillow <= 12.2" in error


def test_a_bad_template_parameter_is_refused_before_building(
    capsys: pytest.CaptureFixture[str], session: boto3.Session
) -> None:
    error = _refused(
        capsys,
        "deploy",
        "--stack-name",
        "pics",
        "--region",
        REGION,
        "--template",
        str(MINI_TEMPLATE),
        "--param",
        "MemorySize=64",
    )

    assert "MemorySize=64: below MinValue 128" in error


def test_contradicting_runtime_flag_and_parameter_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    error = _refused(
        capsys,
        "deploy",
        "--stack-name",
        "pics",
        "--template",
        str(MINI_TEMPLATE),
        "--runtime",
        "python3.12",
        "--param",
        "Runtime=python3.13",
    )

    assert "--runtime python3.12 contradicts --param Runtime=python3.13" in error


def test_destroy_of_a_remote_stack_asks_for_yes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    error = _refused(capsys, "destroy", "--stack-name", "pics", "--region", REGION)

    assert "add --yes to confirm" in error


def test_local_endpoints_are_recognised() -> None:
    assert is_local_endpoint("http://127.0.0.1:5000")
    assert is_local_endpoint("http://localhost:4566")
    assert not is_local_endpoint("https://cloudformation.us-west-2.amazonaws.com")
    assert not is_local_endpoint(None)


def test_outputs_json_is_the_only_thing_on_stdout(
    capsys: pytest.CaptureFixture[str], session: boto3.Session, package: Path
) -> None:
    deployed = deploy(
        session=session,
        stack_name="pics",
        package_path=package,
        parameters={},
        template_path=MINI_TEMPLATE,
        console=Console(file=io.StringIO()),
        poll_seconds=0.0,
    )
    capsys.readouterr()

    code = main(["--json", "outputs", "--stack-name", "pics", "--region", REGION])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == deployed.outputs


def test_a_missing_stack_fails_with_exit_1_naming_it(
    capsys: pytest.CaptureFixture[str], session: boto3.Session
) -> None:
    code = main(["outputs", "--stack-name", "nothing-here", "--region", REGION])

    assert code == 1
    assert "stack 'nothing-here' does not exist" in capsys.readouterr().out


def test_deploy_then_destroy_through_the_cli_with_json_results(
    capsys: pytest.CaptureFixture[str], session: boto3.Session, package: Path
) -> None:
    common = ["--stack-name", "pics", "--region", REGION]

    deployed = main(
        [
            "--json",
            "deploy",
            *common,
            "--template",
            str(MINI_TEMPLATE),
            "--package",
            str(package),
            "--param",
            "MemorySize=512",
        ]
    )
    deploy_result = json.loads(capsys.readouterr().out)
    destroyed = main(["--json", "destroy", *common, "--yes"])
    destroy_result = json.loads(capsys.readouterr().out)

    assert (deployed, destroyed) == (0, 0)
    assert deploy_result["status"] == "CREATE_COMPLETE"
    assert destroy_result["status"] == "DELETE_COMPLETE"


def _deployed(session: boto3.Session, package: Path) -> dict[str, str]:
    return deploy(
        session=session,
        stack_name="pics",
        package_path=package,
        parameters={},
        template_path=MINI_TEMPLATE,
        console=Console(file=io.StringIO()),
    ).outputs


def test_redrive_moves_the_stack_dead_letter_queue_back_and_prints_the_count(
    capsys: pytest.CaptureFixture[str], session: boto3.Session, package: Path
) -> None:
    outputs = _deployed(session, package)
    sqs = session.client("sqs")
    for index in range(3):
        sqs.send_message(QueueUrl=outputs["DeadLetterQueueUrl"], MessageBody=str(index))
    capsys.readouterr()

    code = main(["--json", "redrive", "--stack-name", "pics", "--region", REGION])

    assert code == 0
    assert json.loads(capsys.readouterr().out)["moved"] == 3


def test_metrics_json_reports_the_handler_counts_of_the_stack(
    capsys: pytest.CaptureFixture[str], session: boto3.Session, package: Path
) -> None:
    _deployed(session, package)
    session.client("cloudwatch").put_metric_data(
        Namespace="Photopipe",
        MetricData=[
            {
                "MetricName": "ProcessedImages",
                "Dimensions": [{"Name": "service", "Value": "pics"}],
                "Value": 4,
                "Timestamp": datetime.now(UTC) - timedelta(minutes=1),
            }
        ],
    )
    capsys.readouterr()

    code = main(["metrics", "--json", "--stack-name", "pics", "--region", REGION, "--minutes", "5"])

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    processed = [
        m["value"] for m in report["metrics"] if m["metric"] == "ProcessedImages" and m["stat"] == "Sum"
    ]
    assert processed == [4]


def test_an_update_without_runtime_flags_keeps_the_deployed_runtime_and_architecture(
    capsys: pytest.CaptureFixture[str], session: boto3.Session, package: Path
) -> None:
    common = ["deploy", "--stack-name", "pics", "--region", REGION, "--template", str(MINI_TEMPLATE)]
    main([*common, "--package", str(package), "--runtime", "python3.12", "--architecture", "x86_64"])

    main([*common, "--package", str(package), "--param", "MemorySize=512"])

    stack = session.client("cloudformation").describe_stacks(StackName="pics")["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert (values["Runtime"], values["Architecture"], values["MemorySize"]) == (
        "python3.12",
        "x86_64",
        "512",
    )


def test_without_a_usable_local_stack_local_fails_alone_and_says_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.cli.LOCAL_COMMAND_MODULE", "harness.no_such_local_stack")

    assert main(["local"]) == 1
    assert "the local stack is not available" in capsys.readouterr().out
    assert "choose from" in _refused(capsys, "package", "--runtime", "python2.7")


def test_the_region_can_come_from_aws_region_alone(
    capsys: pytest.CaptureFixture[str], session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    assert main(["outputs", "--stack-name", "nothing-here"]) == 1
    assert "does not exist in region eu-west-1" in capsys.readouterr().out
