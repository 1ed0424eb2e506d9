"""`photopipe stacks`: find this project's stacks by tag; clean only old test stacks, and only when told."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from harness.cli import main
from harness.deploy import deploy
from harness.params import InvalidInputError
from harness.stacks import clean, parse_age, project_stacks
from harness.tags import default_tags
from tests.harness.conftest import MINI_TEMPLATE

LATER = datetime.now(UTC) + timedelta(days=2)


def _deploy(session: boto3.Session, package: Path, name: str, tags: dict[str, str] | None) -> None:
    deploy(
        session=session,
        stack_name=name,
        package_path=package,
        parameters={"NamePrefix": name[:10]},
        template_path=MINI_TEMPLATE,
        console=Console(file=io.StringIO()),
        poll_seconds=0.0,
        tags=tags,
    )


@pytest.fixture
def three_stacks(session: boto3.Session, package: Path) -> boto3.Session:
    _deploy(session, package, "acc-old", default_tags("acceptance"))
    _deploy(session, package, "staging", default_tags("deploy"))
    _deploy(session, package, "someone-else", None)
    return session


def test_only_stacks_tagged_as_this_projects_are_listed(three_stacks: boto3.Session) -> None:
    stacks = project_stacks(three_stacks.client("cloudformation"))

    assert {(stack.name, stack.purpose) for stack in stacks} == {
        ("acc-old", "acceptance"),
        ("staging", "deploy"),
    }


def test_clean_destroys_only_old_acceptance_stacks_after_confirmation(three_stacks: boto3.Session) -> None:
    questions: list[str] = []

    destroyed = clean(
        three_stacks,
        purpose="acceptance",
        older_than=timedelta(hours=24),
        console=Console(file=io.StringIO()),
        confirm=lambda question: questions.append(question) is None,
        now=LATER,
    )

    assert destroyed == ["acc-old"]
    assert len(questions) == 1
    names = {
        stack["StackName"] for stack in three_stacks.client("cloudformation").describe_stacks()["Stacks"]
    }
    assert "acc-old" not in names
    assert {"staging", "someone-else"} <= names


def test_a_declined_confirmation_destroys_nothing(three_stacks: boto3.Session) -> None:
    destroyed = clean(
        three_stacks,
        purpose="acceptance",
        older_than=timedelta(hours=24),
        console=Console(file=io.StringIO()),
        confirm=lambda _: False,
        now=LATER,
    )

    assert destroyed == []
    assert len(project_stacks(three_stacks.client("cloudformation"))) == 2


def test_a_young_stack_is_not_a_leak(three_stacks: boto3.Session) -> None:
    asked: list[str] = []

    destroyed = clean(
        three_stacks,
        purpose="acceptance",
        older_than=timedelta(hours=24),
        console=Console(file=io.StringIO()),
        confirm=lambda question: asked.append(question) is None,
    )

    assert destroyed == []
    assert asked == []


@pytest.mark.parametrize(("text", "hours"), [("30m", 0.5), ("24h", 24.0), ("7d", 168.0), ("1.5h", 1.5)])
def test_ages_are_minutes_hours_or_days(text: str, hours: float) -> None:
    assert parse_age(text) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["24", "h", "1w", "-1h"])
def test_an_age_without_a_unit_is_refused_with_examples(text: str) -> None:
    with pytest.raises(InvalidInputError, match="like 30m, 24h, 7d"):
        parse_age(text)


def test_clean_without_a_terminal_needs_yes(
    three_stacks: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    with pytest.raises(SystemExit) as caught:
        main(["stacks", "clean", "--older-than", "0m", "--region", "us-west-2"])

    assert caught.value.code == 2
    assert "Add --yes" in capsys.readouterr().err
    assert len(project_stacks(three_stacks.client("cloudformation"))) == 2


def test_the_list_command_prints_each_stack_with_its_purpose_and_age(
    three_stacks: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--json", "stacks", "list", "--region", "us-west-2"]) == 0

    listed = json.loads(capsys.readouterr().out)
    assert {(stack["name"], stack["purpose"]) for stack in listed} == {
        ("acc-old", "acceptance"),
        ("staging", "deploy"),
    }
    assert all(stack["age_hours"] >= 0 for stack in listed)
