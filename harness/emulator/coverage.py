"""What the local stack does with every resource type and top-level property of template/template.json.

Each entry is decided by experiment (deploy into moto, describe what exists): honoured by moto's
CloudFormation, applied by the wiring (wiring.py), honoured by the local Lambda runtime (runtime.py), or not
emulated, with the reason. tests/harness/emulator/test_emulator_coverage.py fails on any resource type or
property of the template without an entry here, so a new property needs a decision before it merges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

How = Literal["moto", "wiring", "runtime", "not emulated"]
MOTO: Final = "moto"
WIRING: Final = "wiring"
RUNTIME: Final = "runtime"
NOT_EMULATED: Final = "not emulated"


@dataclass(frozen=True)
class Decision:
    how: How
    detail: str


def _m(detail: str = "created as declared") -> Decision:
    return Decision("moto", detail)


def _w(detail: str) -> Decision:
    return Decision("wiring", detail)


def _r(detail: str) -> Decision:
    return Decision("runtime", detail)


def _n(reason: str) -> Decision:
    return Decision("not emulated", reason)


STORED_ONLY: Final = "stored by moto; moto performs no encryption"

# Resource type -> the decision for the resource itself and for each of its top-level properties.
RESOURCES: Final[Mapping[str, Decision]] = {
    "AWS::KMS::Key": _m("created; key policy and rotation stored, never evaluated"),
    "AWS::KMS::Alias": _m(),
    "AWS::S3::Bucket": _m("created; moto skips every property but the name and encryption (wired)"),
    "AWS::S3::BucketPolicy": _w("moto reports it created but stores nothing: PutBucketPolicy"),
    "AWS::SQS::Queue": _m(
        "created as declared; the runtime publishes its AWS/SQS depth metrics once a minute (not the age "
        "of the oldest message)"
    ),
    "AWS::SQS::QueuePolicy": _w("moto reports it created but stores nothing: SetQueueAttributes(Policy)"),
    "AWS::SNS::Topic": _m(),
    "AWS::SNS::TopicPolicy": _w("moto reports it created but stores nothing: SetTopicAttributes(Policy)"),
    "AWS::SNS::Subscription": _w("moto skips it: Subscribe (email is recorded, never delivered)"),
    "AWS::Logs::LogGroup": _m(),
    "AWS::IAM::Role": _m(
        "created with its policies; not enforced (the function runs with local credentials)"
    ),
    "AWS::Lambda::Function": _r("moto stores it (no Docker to run it); the local runtime runs the built zip"),
    "AWS::Lambda::EventSourceMapping": _r("moto stores it; one local poller per mapping reads the queue"),
    "AWS::CloudWatch::Alarm": _w("moto has no CloudFormation support: PutMetricAlarm (never evaluated)"),
    "AWS::CloudWatch::Dashboard": _m("stored; nothing renders it locally"),
}

PROPERTIES: Final[Mapping[str, Mapping[str, Decision]]] = {
    "AWS::KMS::Key": {
        "Description": _m(),
        "EnableKeyRotation": _m("GetKeyRotationStatus reports it"),
        "KeyPolicy": _m("stored; moto never evaluates key policies"),
    },
    "AWS::KMS::Alias": {"AliasName": _m(), "TargetKeyId": _m()},
    "AWS::S3::Bucket": {
        "BucketName": _m(),
        "BucketEncryption": _m("GetBucketEncryption reports it"),
        "VersioningConfiguration": _w("PutBucketVersioning"),
        "NotificationConfiguration": _w(
            "PutBucketNotificationConfiguration: moto's S3 sends the ObjectCreated and ObjectRemoved events "
            "to the queue (keys URL-encoded); the local stack adds versionId, a growing sequencer and the "
            "removals of a versioned bucket that moto omits (harness.emulator.motocompat)"
        ),
        "PublicAccessBlockConfiguration": _w("PutPublicAccessBlock"),
        "OwnershipControls": _w("PutBucketOwnershipControls"),
        "LifecycleConfiguration": _w("PutBucketLifecycleConfiguration: stored; moto never expires objects"),
    },
    "AWS::S3::BucketPolicy": {
        "Bucket": _w("target of PutBucketPolicy"),
        "PolicyDocument": _w(
            "PutBucketPolicy without its conditional Deny statements (TLS-only, TLS >= 1.2): moto ignores "
            "conditions, so they would deny every request; the template tests check them"
        ),
    },
    "AWS::SQS::Queue": {
        "MessageRetentionPeriod": _m(),
        "ReceiveMessageWaitTimeSeconds": _m(),
        "RedrivePolicy": _m("moto moves a message to the DLQ after maxReceiveCount receives"),
        "SqsManagedSseEnabled": _m(STORED_ONLY),
        "VisibilityTimeout": _m("moto makes unacknowledged messages visible again after it"),
        "KmsMasterKeyId": _m(STORED_ONLY),
    },
    "AWS::SQS::QueuePolicy": {
        "Queues": _w("targets of SetQueueAttributes"),
        "PolicyDocument": _w(
            "SetQueueAttributes(Policy) without conditional Deny statements; not evaluated by moto"
        ),
    },
    "AWS::SNS::Topic": {
        "DisplayName": _m(),
        "KmsMasterKeyId": _m(STORED_ONLY),
        "TopicName": _m(),
    },
    "AWS::SNS::TopicPolicy": {
        "Topics": _w("targets of SetTopicAttributes"),
        "PolicyDocument": _w("SetTopicAttributes(Policy) without conditional Deny statements; not evaluated"),
    },
    "AWS::SNS::Subscription": {
        "TopicArn": _w("Subscribe"),
        "Protocol": _w("Subscribe; sqs subscriptions deliver, email/sms/http ones deliver nothing"),
        "Endpoint": _w("Subscribe"),
        "FilterPolicy": _w("Subscribe attribute"),
        "RawMessageDelivery": _w("Subscribe attribute"),
    },
    "AWS::Logs::LogGroup": {
        "LogGroupName": _m(),
        "RetentionInDays": _m("stored; moto never deletes old events"),
        "KmsKeyId": _n(
            "moto's CloudFormation drops it and moto has no AssociateKmsKey: logs are unencrypted"
        ),
    },
    "AWS::IAM::Role": {
        "AssumeRolePolicyDocument": _m(),
        "Description": _m(),
        "Policies": _m("stored; not enforced: workers call moto as the account root (testing credentials)"),
    },
    "AWS::Lambda::Function": {
        "Architectures": _r(
            "the zip is built for this machine's architecture and the stack deployed with it"
        ),
        "Code": _r(
            "the runtime imports the unzipped built zip; its sha256 must equal the function's CodeSha256"
        ),
        "Description": _m(),
        "Environment": _r("worker environment, re-read when the function's configuration changes"),
        "Handler": _r("imported during the worker's init phase, from the zip only"),
        "LoggingConfig": _r(
            "stdout shipped to LoggingConfig.LogGroup; LogFormat and ApplicationLogLevel set "
            "AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL (read by Powertools); SystemLogLevel is not "
            "applied (the START/END/REPORT lines are always written)"
        ),
        "MemorySize": _r(
            "context.memory_limit_in_mb and the environment; not enforced (worker RSS reported)"
        ),
        "RecursiveLoop": _n("no recursion detection locally; the function never writes to its trigger"),
        "ReservedConcurrentExecutions": _r("caps the workers of every mapping"),
        "Role": _m("stored; not enforced (see AWS::IAM::Role)"),
        "Runtime": _r("workers run under that Python when installed, else the harness's Python (reported)"),
        "Timeout": _r("enforced: the worker is killed and replaced, the invocation counts as an error"),
        "TracingConfig": _n("no X-Ray locally: traces are not recorded, whatever the mode"),
    },
    "AWS::Lambda::EventSourceMapping": {
        "BatchSize": _r("records per invocation (several ReceiveMessage calls above 10)"),
        "Enabled": _r(
            "a mapping disabled at the start gets no poller; one disabled later (UpdateEventSourceMapping, "
            "as destroy does) stops receiving within 2 s and hands back what it received meanwhile"
        ),
        "EventSourceArn": _r("the queue the poller reads"),
        "FunctionName": _r("the function the poller invokes"),
        "FunctionResponseTypes": _r("ReportBatchItemFailures: only the listed messages stay in the queue"),
        "MaximumBatchingWindowInSeconds": _r("the poller gathers records for up to this long"),
        "ScalingConfig": _r("MaximumConcurrency caps the mapping's in-flight invocations"),
    },
    "AWS::CloudWatch::Alarm": {
        key: _w("PutMetricAlarm parameter; the alarm is stored, never evaluated, so it never notifies")
        for key in (
            "AlarmActions",
            "AlarmDescription",
            "AlarmName",
            "ComparisonOperator",
            "DatapointsToAlarm",
            "Dimensions",
            "EvaluationPeriods",
            "ExtendedStatistic",
            "InsufficientDataActions",
            "Metrics",
            "MetricName",
            "Namespace",
            "OKActions",
            "Period",
            "Statistic",
            "Threshold",
            "TreatMissingData",
            "Unit",
        )
    },
    "AWS::CloudWatch::Dashboard": {"DashboardBody": _m("stored"), "DashboardName": _m()},
}


@dataclass(frozen=True)
class Row:
    logical_id: str
    resource_type: str
    property: str  # "" for the resource itself
    decision: Decision | None


def rows(template: Mapping[str, Any]) -> list[Row]:
    """One row per resource and per top-level property it declares; decision None = undecided."""
    result = []
    for logical_id, spec in template.get("Resources", {}).items():
        kind = spec["Type"]
        result.append(Row(logical_id, kind, "", RESOURCES.get(kind)))
        decided = PROPERTIES.get(kind, {})
        for name in spec.get("Properties", {}):
            result.append(Row(logical_id, kind, name, decided.get(name)))
    return result


def undecided(template: Mapping[str, Any]) -> list[str]:
    return [
        f"{row.logical_id} ({row.resource_type}){'.' + row.property if row.property else ''}"
        for row in rows(template)
        if row.decision is None
    ]
