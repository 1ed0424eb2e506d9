"""template/ci-role.json: GitHub Actions assume a role by OIDC, from one repository and branch only, and that
role and the CloudFormation service role it passes reach nothing beyond this project's test stacks."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harness import template_check
from harness.acceptance import STACK_PREFIX
from harness.contract import ROOT

CI_ROLE = ROOT / "template" / "ci-role.json"
READ_ONLY_ACCOUNT_WIDE = {
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "lambda:GetAccountSettings",
    "cloudformation:DescribeStacks",  # without a stack name: how `stacks clean` finds leaked stacks by tag
}


@pytest.fixture(scope="module")
def ci_role() -> dict[str, Any]:
    return json.loads(CI_ROLE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _statements(ci_role: dict[str, Any], role: str) -> list[dict[str, Any]]:
    (policy,) = ci_role["Resources"][role]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def test_the_template_is_kept_as_canonical_json() -> None:
    assert template_check.check_template(CI_ROLE.read_text(encoding="utf-8")).problems == []


def test_github_may_assume_the_role_only_from_the_given_repository_and_branch(
    ci_role: dict[str, Any],
) -> None:
    (trust,) = ci_role["Resources"]["GitHubActionsRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]

    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": {
            "Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${GitHubBranch}"
        },
    }


def test_only_cloudformation_may_assume_the_deploy_role_and_only_github_may_pass_it(
    ci_role: dict[str, Any],
) -> None:
    (trust,) = ci_role["Resources"]["CloudFormationRole"]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}

    passing = [s for s in _statements(ci_role, "GitHubActionsRole") if "iam:PassRole" in _actions(s)]
    assert [s["Resource"] for s in passing] == [{"Fn::Sub": "${CloudFormationRole.Arn}"}]
    assert passing[0]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }


@pytest.mark.parametrize("role", ["GitHubActionsRole", "CloudFormationRole"])
def test_nothing_writes_to_every_resource(ci_role: dict[str, Any], role: str) -> None:
    """Resource "*" only for read-only calls that cannot name a resource, and for kms:CreateKey, which is
    allowed only for a key carrying the project tag."""
    for statement in _statements(ci_role, role):
        if "*" not in _resources(statement):
            continue
        if _actions(statement) == {"kms:CreateKey"}:
            assert statement["Condition"] == {
                "StringEquals": {"aws:RequestTag/photopipe:project": "photopipe"}
            }
        else:
            assert _actions(statement) <= READ_ONLY_ACCOUNT_WIDE, statement["Sid"]


FUNCTIONS = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${StackNamePrefix}-*"
# Resources IAM cannot name by stack: each is allowed only under a condition that narrows it to the project.
NARROWED_BY_CONDITION = {
    ":key/*": {"StringEquals": {"aws:ResourceTag/photopipe:project": "photopipe"}},
    ":event-source-mapping:*": {"ArnLike": {"lambda:FunctionArn": {"Fn::Sub": FUNCTIONS}}},
}


def _scoped(pattern: str) -> bool:
    return (
        "${StackNamePrefix}-" in pattern
        or "${AWS::AccountId}-${AWS::Region}" in pattern  # buckets: <prefix>-<role>-<account>-<region>-<id>
        or pattern == "${CloudFormationRole.Arn}"
        or "changeSet/photopipe-" in pattern  # change sets of the stacks above, named by photopipe deploy
    )


@pytest.mark.parametrize("role", ["GitHubActionsRole", "CloudFormationRole"])
def test_named_resources_are_scoped_to_the_stack_prefix_or_narrowed_by_a_condition(
    ci_role: dict[str, Any], role: str
) -> None:
    for statement in _statements(ci_role, role):
        for resource in _resources(statement):
            if resource == "*":
                continue
            pattern = resource["Fn::Sub"]
            narrowed = [
                condition for end, condition in NARROWED_BY_CONDITION.items() if pattern.endswith(end)
            ]
            if narrowed:
                assert statement["Condition"] == narrowed[0], statement["Sid"]
            else:
                assert _scoped(pattern), (statement["Sid"], pattern)


def test_the_roles_prefix_is_the_one_acceptance_names_its_stacks_with(ci_role: dict[str, Any]) -> None:
    assert ci_role["Parameters"]["StackNamePrefix"]["Default"] == STACK_PREFIX


def test_the_github_role_can_make_every_call_the_acceptance_makes(ci_role: dict[str, Any]) -> None:
    granted = set().union(*(_actions(s) for s in _statements(ci_role, "GitHubActionsRole")))

    assert {
        "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack",
        "s3:PutObject", "s3:GetObject", "s3:ListBucketVersions", "s3:DeleteObjectVersion",
        "s3:GetBucketNotification", "sqs:CreateQueue", "sqs:ReceiveMessage", "sqs:DeleteQueue",
        "sns:Subscribe", "sns:Unsubscribe", "cloudwatch:SetAlarmState", "cloudwatch:DescribeAlarms",
        "cloudwatch:GetMetricData", "lambda:UpdateEventSourceMapping", "lambda:GetAccountSettings",
    } <= granted  # fmt: skip


def test_the_template_creates_both_roles_in_moto(
    ci_role: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="us-west-2")
        cloudformation.create_stack(
            StackName="photopipe-ci",
            TemplateBody=json.dumps(ci_role),
            Parameters=[
                {"ParameterKey": "GitHubRepository", "ParameterValue": "acme/photopipe"},
                {"ParameterKey": "CreateOidcProvider", "ParameterValue": "false"},
            ],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName="photopipe-ci")["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

        assert stack["StackStatus"] == "CREATE_COMPLETE"
        role = boto3.client("iam").get_role(RoleName=outputs["GitHubActionsRoleArn"].rsplit("/", 1)[-1])[
            "Role"
        ]
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Federated"].endswith(
            ":oidc-provider/token.actions.githubusercontent.com"
        )
