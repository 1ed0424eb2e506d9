"""Deploy conventions: tags on every stack, review-only change sets, a service role, and a reserved
concurrency the account can actually give (checked before anything is uploaded)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from harness.deploy import (
    CHANGE_SET_CREATED,
    check_reserved_concurrency,
    concurrency_problem,
    deploy,
    validate_role_arn,
)
from harness.params import InvalidInputError
from harness.stack import describe_stack
from harness.tags import PROJECT_TAG, PURPOSE_TAG, default_tags, merge_tags, parse_tags
from tests.harness.conftest import MINI_TEMPLATE

STACK = "photopipe-conventions"
NEW_ACCOUNT = {"AccountLimit": {"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}}
ROOMY_ACCOUNT = {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}}


def _deploy(session: boto3.Session, package: Path, **options: Any) -> Any:
    return deploy(
        session=session,
        stack_name=STACK,
        package_path=package,
        parameters=options.pop("parameters", {}),
        template_path=options.pop("template_path", MINI_TEMPLATE),
        console=Console(file=io.StringIO()),
        poll_seconds=0.0,
        **options,
    )


def test_a_new_account_cannot_reserve_any_concurrency_and_is_told_why() -> None:
    problem = concurrency_problem(NEW_ACCOUNT, 10)

    assert problem is not None
    assert "ReservedConcurrency=10 would leave 0 of this account's 10" in problem
    assert "at least 100 unreserved" in problem
    assert "ReservedConcurrency=0" in problem


def test_a_roomy_account_can_reserve_up_to_all_but_100_units() -> None:
    assert concurrency_problem(ROOMY_ACCOUNT, 900) is None
    assert concurrency_problem(ROOMY_ACCOUNT, 901) is not None


def test_an_update_counts_the_units_the_function_already_holds() -> None:
    settings = {"AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 100}}

    assert concurrency_problem(settings, 20, already_reserved=20) is None
    assert concurrency_problem(settings, 21, already_reserved=20) is not None


class AccountSettings:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.meta = type("Meta", (), {"endpoint_url": "https://lambda.us-west-2.amazonaws.com"})()

    def get_account_settings(self) -> dict[str, Any]:
        return self.settings


def test_no_reservation_needs_no_account_check() -> None:
    class Unreachable(AccountSettings):
        def get_account_settings(self) -> dict[str, Any]:
            raise AssertionError("GetAccountSettings called for ReservedConcurrency=0")

    check_reserved_concurrency(Unreachable({}), 0, None, Console(file=io.StringIO()))  # type: ignore[arg-type]


def test_a_reservation_the_account_cannot_give_is_refused_before_the_upload(
    session: boto3.Session, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_client = session.client

    def client(name: str, **kwargs: Any) -> Any:
        made = real_client(name, **kwargs)  # type: ignore[call-overload]
        if name == "lambda":
            made.get_account_settings = lambda: NEW_ACCOUNT
        return made

    monkeypatch.setattr(session, "client", client)

    with pytest.raises(InvalidInputError, match="ReservedConcurrency=5 would leave 5"):
        deploy(
            session=session,
            stack_name=STACK,
            package_path=package,
            parameters={"Architecture": "x86_64", "ReservedConcurrency": "5"},
            console=Console(file=io.StringIO()),
            poll_seconds=0.0,
        )
    assert session.client("s3").list_buckets()["Buckets"] == []


def test_the_stack_carries_the_default_and_the_given_tags(session: boto3.Session, package: Path) -> None:
    tags = merge_tags(default_tags("acceptance"), parse_tags(["team=photos", "cost-centre=42"]))

    _deploy(session, package, tags=tags)

    stack = describe_stack(session.client("cloudformation"), STACK)
    assert stack is not None
    assert {tag["Key"]: tag["Value"] for tag in stack["Tags"]} == {
        PROJECT_TAG: "photopipe",
        PURPOSE_TAG: "acceptance",
        "team": "photos",
        "cost-centre": "42",
    }


@pytest.mark.parametrize(
    ("pair", "complaint"),
    [
        ("aws:owner=me", "the aws: prefix is reserved"),
        ("=x", "not KEY=VALUE"),
        ("k" * 129 + "=v", "1 to 128 characters"),
        ("team=a;b", "letters, digits, spaces"),
    ],
)
def test_tags_cloudformation_would_refuse_are_refused_with_the_rule(pair: str, complaint: str) -> None:
    with pytest.raises(InvalidInputError, match=complaint):
        parse_tags([pair])


def test_no_execute_creates_and_shows_the_change_set_but_creates_nothing(
    session: boto3.Session, package: Path
) -> None:
    result = _deploy(session, package, execute=False)

    assert result.status == CHANGE_SET_CREATED
    assert not result.changed
    assert {row["logical_id"] for row in result.changes} >= {"UploadBucket", "ProcessingFunction"}
    cloudformation = session.client("cloudformation")
    described = cloudformation.describe_change_set(ChangeSetName=result.change_set)
    assert described["Status"] == "CREATE_COMPLETE"
    assert described["ExecutionStatus"] == "AVAILABLE"
    stack = describe_stack(cloudformation, STACK)
    assert stack is not None
    assert stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    names = [bucket["Name"] for bucket in session.client("s3").list_buckets()["Buckets"]]
    assert [name for name in names if "artifacts" not in name] == []


def test_the_service_role_is_passed_to_cloudformation(
    session: boto3.Session, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = "arn:aws:iam::123456789012:role/photopipe-cloudformation"
    requests: list[dict[str, Any]] = []
    real_client = session.client

    def client(name: str, **kwargs: Any) -> Any:
        made = real_client(name, **kwargs)  # type: ignore[call-overload]
        if name == "cloudformation":
            create = made.create_change_set

            def recording(**request: Any) -> Any:
                requests.append(request)
                return create(**request)

            made.create_change_set = recording
        return made

    monkeypatch.setattr(session, "client", client)

    _deploy(session, package, role_arn=role, execute=False)

    assert [request["RoleARN"] for request in requests] == [role]


@pytest.mark.parametrize("arn", ["photopipe-role", "arn:aws:iam::12345:role/x", "arn:aws:s3:::bucket"])
def test_a_role_that_is_not_an_iam_role_arn_is_refused(arn: str) -> None:
    with pytest.raises(InvalidInputError, match="is not an IAM role ARN"):
        validate_role_arn(arn)
