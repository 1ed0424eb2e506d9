"""photopipe.toml: named environments, refused with the place of the mistake; the shipped file is valid."""

from __future__ import annotations

import tomllib
from pathlib import Path

import boto3
import pytest

from harness.cli import main
from harness.contract import ROOT
from harness.environments import load_environment, parse_environments
from harness.params import InvalidInputError, load_template, validate_parameters
from tests.harness.conftest import MINI_TEMPLATE

SHIPPED = ROOT / "photopipe.toml"


def test_the_shipped_environments_are_valid_for_the_template() -> None:
    environments = parse_environments(tomllib.loads(SHIPPED.read_text()))

    assert set(environments) >= {"staging", "production"}
    for environment in environments.values():
        assert environment.stack_name
        assert environment.region
        validate_parameters(environment.parameters, load_template())


def test_numbers_in_toml_become_the_strings_cloudformation_takes() -> None:
    environment = parse_environments(
        {"environments": {"dev": {"parameters": {"MemorySize": 1024, "Tracing": True}}}}
    )["dev"]

    assert environment.parameters == {"MemorySize": "1024", "Tracing": "true"}


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"environments": {"dev": {"stackname": "x"}}}, r"environments\.dev: unknown key\(s\) stackname"),
        ({"environments": {"dev": {"region": "Oregon"}}}, r"environments\.dev: region 'Oregon'"),
        ({"environments": {"dev": {"stack_name": "9lives"}}}, r"environments\.dev: stack name '9lives'"),
        ({"environments": {"dev": {"tags": {"aws:x": "y"}}}}, "the aws: prefix is reserved"),
        ({"environment": {}}, "unknown table"),
    ],
)
def test_a_mistake_is_refused_with_its_place_in_the_file(data: dict[str, object], complaint: str) -> None:
    with pytest.raises(InvalidInputError, match=complaint):
        parse_environments(data)


def test_an_unknown_environment_lists_the_defined_ones() -> None:
    with pytest.raises(InvalidInputError, match="defined: production, staging"):
        load_environment("qa", SHIPPED)


def test_deploy_takes_the_stack_name_parameters_and_tags_from_the_environment(
    session: boto3.Session, package: Path, tmp_path: Path
) -> None:
    config = tmp_path / "photopipe.toml"
    config.write_text(
        "[environments.dev]\n"
        'stack_name = "photopipe-dev"\n'
        'region = "us-west-2"\n'
        'parameters = { NamePrefix = "ppdev", MemorySize = 512 }\n'
        'tags = { team = "photos" }\n'
    )

    code = main(
        [
            "deploy", "--env", "dev", "--config", str(config), "--template", str(MINI_TEMPLATE),
            "--package", str(package), "--param", "MemorySize=768", "--tags", "ticket=PP-1",
        ]
    )  # fmt: skip

    assert code == 0
    stack = session.client("cloudformation").describe_stacks(StackName="photopipe-dev")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
    assert (parameters["NamePrefix"], parameters["MemorySize"]) == ("ppdev", "768")
    assert tags == {
        "photopipe:project": "photopipe",
        "photopipe:purpose": "deploy",
        "team": "photos",
        "ticket": "PP-1",
    }


def test_a_command_without_stack_name_or_environment_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["outputs", "--region", "us-west-2"])

    assert caught.value.code == 2
    assert "--stack-name is required" in capsys.readouterr().err
