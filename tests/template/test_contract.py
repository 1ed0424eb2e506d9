"""The names other parts use: logical IDs, outputs, and the resources in the order the data flows."""

from __future__ import annotations

import re
from typing import Any

from handler.constants import METRICS_NAMESPACE
from harness.outputs import StackOutput

from .cfn import strings

CONTRACT_RESOURCES = [
    "PipelineKey", "PipelineKeyAlias", "UploadBucket", "UploadBucketPolicy", "DeadLetterQueue",
    "ProcessingQueue", "ProcessingQueuePolicy", "FunctionLogGroup", "FunctionRole", "ProcessingFunction",
    "ProcessingEventSourceMapping", "ProcessedBucket", "ProcessedBucketPolicy", "ErrorTopic",
    "ErrorTopicPolicy", "ErrorTopicEmailSubscription", "AlarmTopic", "AlarmTopicPolicy",
    "AlarmTopicEmailSubscription",
]  # fmt: skip
# The flow of DESIGN.md: upload -> queue -> function -> renditions / errors -> alarms -> dashboard.
FLOW = [
    "UploadBucket",
    "ProcessingQueue",
    "ProcessingFunction",
    "ProcessedBucket",
    "ErrorTopic",
    "AlarmTopic",
]


def test_the_contract_logical_ids_exist(resources: dict[str, Any]) -> None:
    assert [name for name in resources if name in CONTRACT_RESOURCES] == CONTRACT_RESOURCES
    assert "Dashboard" in resources


def test_resources_follow_the_flow(resources: dict[str, Any]) -> None:
    order = list(resources)
    positions = [order.index(name) for name in FLOW]
    first_alarm = min(i for i, name in enumerate(order) if name.endswith("Alarm"))

    assert positions == sorted(positions)
    assert positions[-1] < first_alarm
    assert order[-1] == "Dashboard"


def test_the_outputs_are_exactly_what_the_harness_reads(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) == {str(key) for key in StackOutput}


def test_the_metric_outputs_name_the_handlers_namespace_and_the_stack(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs[StackOutput.METRICS_NAMESPACE]["Value"] == METRICS_NAMESPACE
    assert outputs[StackOutput.SERVICE_NAME]["Value"] == {"Ref": "AWS::StackName"}


def test_every_output_is_described(template: dict[str, Any]) -> None:
    for name, output in template["Outputs"].items():
        assert output.get("Description"), name


REGION = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov)?-[a-z]+-\d\b")
ACCOUNT = re.compile(r"(?<![\d.])\d{12}(?![\d.])")
PARTITION_ARN = re.compile(r"arn:aws(?:-cn|-us-gov|-iso[a-z-]*)?:")
PARTITION_NAME = re.compile(r"^aws(?:-cn|-us-gov|-iso[a-z-]*)?$")


def test_no_region_account_or_partition_is_written_literally(template: dict[str, Any]) -> None:
    offending = [
        text
        for text in strings(template)
        if REGION.search(text)
        or ACCOUNT.search(text)
        or PARTITION_ARN.search(text)
        or PARTITION_NAME.match(text)
    ]
    assert offending == []


def test_the_literal_scan_would_catch_each_kind_of_literal() -> None:
    assert REGION.search("arn:${AWS::Partition}:s3:us-west-2:bucket")
    assert REGION.search("https://console.aws.amazon.com/?region=us-gov-west-1")
    assert ACCOUNT.search("arn:${AWS::Partition}:iam::123456789012:root")
    assert PARTITION_ARN.search("arn:aws:iam::${AWS::AccountId}:root")
    assert PARTITION_NAME.match("aws-cn")
    assert not REGION.search("${AWS::Region}")
    assert not ACCOUNT.search("52428800")


def test_every_checkov_skip_carries_a_written_reason(template: dict[str, Any]) -> None:
    skips = [
        (name, skip)
        for name, spec in template["Resources"].items()
        for skip in spec.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "the template documents its checkov skips in resource Metadata"
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
        assert len(skip.get("comment", "").split()) >= 8, f"{name} skips {skip['id']} without a reason"
