"""The function's role grants exactly what the handler does, on exactly its own resources, nothing else."""

from __future__ import annotations

from typing import Any

from handler.constants import DEFAULT_RENDITIONS
from harness.params import load_template
from tests.support.cfn import resolve_value

from .cfn import resources_of_type, walk


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _arn(resource: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [resource, "Arn"]}


# Sid -> (actions, resources). Reading renditions lets the handler's ordering guard see the sequencer of the
# rendition it would replace (an older event must never overwrite a newer photo's rendition).
EXPECTED_STATEMENTS: dict[str, tuple[set[str], list[Any]]] = {
    "ReadUploads": (
        {"s3:GetObject", "s3:GetObjectVersion"},
        [_sub("${UploadBucket.Arn}/${UploadKeyPrefix}*")],
    ),
    # A rejected upload's version is tagged (handler/rejection.py), its own tags read first and kept; only
    # uploads, never renditions or anything outside the upload prefix.
    "TagRejectedUploads": (
        {
            "s3:GetObjectTagging",
            "s3:GetObjectVersionTagging",
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
        },
        [_sub("${UploadBucket.Arn}/${UploadKeyPrefix}*")],
    ),
    "ReadAndWriteRenditions": (  # s3:DeleteObject only while DeletionPropagation is Enabled (the default)
        {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
        # One prefix per rendition of the Renditions parameter (tests/template/test_renditions.py), resolved
        # here for the default list.
        [f"ProcessedBucket-Arn/{spec.name}/*" for spec in DEFAULT_RENDITIONS],
    ),
    "ListOwnBucketsSoMissingObjectsAnswer404": (
        {"s3:ListBucket"},
        [_arn("UploadBucket"), _arn("ProcessedBucket")],
    ),
    "ConsumeProcessingQueue": (
        {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
        [_arn("ProcessingQueue")],
    ),
    "PublishRejections": ({"sns:Publish"}, [{"Ref": "ErrorTopic"}]),
    "UseThePipelineKeyForTheErrorTopic": ({"kms:Decrypt", "kms:GenerateDataKey"}, [_arn("PipelineKey")]),
    "WriteOwnLogGroup": ({"logs:CreateLogStream", "logs:PutLogEvents"}, [_arn("FunctionLogGroup")]),
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions(statement: dict[str, Any], *, deletion_propagation: bool = True) -> set[str]:
    """A statement's actions; a grant that depends on DeletionPropagation is read for the given setting
    (tests/template/test_deletion.py checks that branch itself)."""
    action = statement["Action"]
    if isinstance(action, dict):
        condition, enabled, disabled = action["Fn::If"]
        assert condition == "PropagatesDeletions", statement["Sid"]
        action = enabled if deletion_propagation else disabled
    return set(_as_list(action))


def _all_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    policies = resources["FunctionRole"]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def _role_statements(resources: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements every stack has (the tracing grant is conditional: see its own test)."""
    return [statement for statement in _all_statements(resources) if "Fn::If" not in statement]


def test_the_only_conditional_grant_is_sending_traces_when_tracing_is_active(
    resources: dict[str, Any],
) -> None:
    conditional = [statement["Fn::If"] for statement in _all_statements(resources) if "Fn::If" in statement]
    assert conditional == [
        [
            "TracingIsActive",
            {
                "Sid": "SendTracesWhenTracingIsActive",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
            {"Ref": "AWS::NoValue"},
        ]
    ]


def test_the_function_role_is_the_only_identity_and_carries_only_inline_policies(
    template: dict[str, Any],
) -> None:
    identities = {
        name for name, spec in template["Resources"].items() if spec["Type"].startswith("AWS::IAM::")
    }
    assert identities == {"FunctionRole"}
    properties = template["Resources"]["FunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in properties
    assert "PermissionsBoundary" not in properties


def test_only_lambda_can_assume_the_role(resources: dict[str, Any]) -> None:
    trust = resources["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_the_role_statements_are_exactly_the_listed_grants(resources: dict[str, Any]) -> None:
    statements = _role_statements(resources)

    actual = {s["Sid"]: (_actions(s), _as_list(s["Resource"])) for s in statements}
    rendition_grant = actual["ReadAndWriteRenditions"]
    actual["ReadAndWriteRenditions"] = (
        rendition_grant[0],
        resolve_value(load_template(), rendition_grant[1]),
    )

    assert len(statements) == len(actual), "two statements share a Sid"
    assert actual == EXPECTED_STATEMENTS


def test_every_role_statement_is_a_plain_allow(resources: dict[str, Any]) -> None:
    for statement in _role_statements(resources):
        assert statement["Effect"] == "Allow"
        assert set(statement) == {"Sid", "Effect", "Action", "Resource"}, statement["Sid"]


def test_no_action_wildcard_and_no_resource_wildcard_in_the_role(resources: dict[str, Any]) -> None:
    for statement in _role_statements(resources):
        for action in _actions(statement) | _actions(statement, deletion_propagation=False):
            assert "*" not in action, statement["Sid"]
        assert "*" not in _as_list(statement["Resource"]), statement["Sid"]


def test_resource_wildcards_appear_only_in_the_key_policy_and_the_tracing_grant_and_are_explained(
    template: dict[str, Any],
) -> None:
    holders = set()
    for name, spec in template["Resources"].items():
        for node in walk(spec.get("Properties", {})):
            if isinstance(node, dict) and node.get("Resource") == "*":
                holders.add(name)
    assert holders == {"PipelineKey", "FunctionRole"}
    for holder in holders:
        assert "Resource '*'" in template["Resources"][holder]["Metadata"]["Comment"], holder


def test_no_resource_policy_allows_an_anonymous_principal(template: dict[str, Any]) -> None:
    for name, spec in template["Resources"].items():
        for node in walk(spec.get("Properties", {})):
            if isinstance(node, dict) and node.get("Effect") == "Allow" and "Principal" in node:
                assert node["Principal"] != "*", name
                assert node["Principal"] != {"AWS": "*"}, name


def test_the_key_grants_cloudwatch_only_for_this_stacks_alarms(template: dict[str, Any]) -> None:
    key = resources_of_type(template, "AWS::KMS::Key")["PipelineKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    by_sid = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    alarms = by_sid["AlarmsOfThisStackPublishToEncryptedTopics"]

    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"] == _sub(
        "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"
    )


def test_the_key_lets_cloudwatch_logs_encrypt_only_the_function_log_group(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    by_sid = {s["Sid"]: s for s in resources["PipelineKey"]["Properties"]["KeyPolicy"]["Statement"]}
    logs = by_sid["LogsEncryptsTheFunctionLogGroup"]
    log_group_name = resources["FunctionLogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"]

    context = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]

    assert context == _sub(
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group_name}"
    )
