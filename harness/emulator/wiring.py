"""Apply, through the AWS APIs of the moto server, what moto's CloudFormation creates but silently skips.

The values come from template/template.json resolved against the deployed stack (its parameters, physical ids
and attributes), so the wiring can never drift from the template: a property is either honoured by moto,
applied here, honoured by the local runtime, or listed as not emulated (see coverage.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import boto3

from harness.emulator.resolve import Lookups, ResolveError, Resolver, parameter_values

PARTITION: Final = "aws"
URL_SUFFIX: Final = "amazonaws.com"


@dataclass
class WiringReport:
    applied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DeployedStack:
    """What the resolver needs to know about the stack moto created."""

    name: str
    stack_id: str
    region: str
    account_id: str
    parameters: dict[str, str]
    resources: dict[str, tuple[str, str]]  # logical id -> (type, physical id)


def describe_deployed(session: boto3.Session, stack_name: str, template: Mapping[str, Any]) -> DeployedStack:
    cloudformation = session.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    given = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
    resources: dict[str, tuple[str, str]] = {}
    for item in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]:
        logical_id = item.get("LogicalResourceId")
        if logical_id and item.get("PhysicalResourceId"):
            resources[logical_id] = (item["ResourceType"], item["PhysicalResourceId"])
    account = session.client("sts").get_caller_identity()["Account"]
    return DeployedStack(
        name=stack_name,
        stack_id=stack["StackId"],
        region=str(session.region_name),
        account_id=account,
        parameters=parameter_values(template, given),
        resources=resources,
    )


class AttributeReader:
    """Fn::GetAtt values read from the live resources (moto's CloudFormation keeps none we can query)."""

    def __init__(self, session: boto3.Session, deployed: DeployedStack) -> None:
        self.session = session
        self.deployed = deployed
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, logical_id: str, attribute: str) -> Any:
        key = (logical_id, attribute)
        if key not in self._cache:
            self._cache[key] = self._read(logical_id, attribute)
        return self._cache[key]

    def _read(self, logical_id: str, attribute: str) -> Any:
        kind, physical = self.deployed.resources[logical_id]
        region, account = self.deployed.region, self.deployed.account_id
        if kind == "AWS::SQS::Queue":
            arn = self.session.client("sqs").get_queue_attributes(
                QueueUrl=physical, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            return {"Arn": arn, "QueueUrl": physical, "QueueName": arn.rsplit(":", 1)[-1]}[attribute]
        if kind == "AWS::S3::Bucket":
            return {
                "Arn": f"arn:{PARTITION}:s3:::{physical}",
                "DomainName": f"{physical}.s3.{URL_SUFFIX}",
                "RegionalDomainName": f"{physical}.s3.{region}.{URL_SUFFIX}",
            }[attribute]
        if kind == "AWS::IAM::Role":
            role = self.session.client("iam").get_role(RoleName=physical)["Role"]
            return {"Arn": role["Arn"], "RoleId": role["RoleId"]}[attribute]
        if kind == "AWS::KMS::Key":
            key = self.session.client("kms").describe_key(KeyId=physical)["KeyMetadata"]
            return {"Arn": key["Arn"], "KeyId": key["KeyId"]}[attribute]
        if kind == "AWS::Lambda::Function":
            arn = self.session.client("lambda").get_function_configuration(FunctionName=physical)[
                "FunctionArn"
            ]
            return {"Arn": arn}[attribute]
        if kind == "AWS::SNS::Topic":
            return {"TopicArn": physical, "TopicName": physical.rsplit(":", 1)[-1]}[attribute]
        if kind == "AWS::Logs::LogGroup":
            return {"Arn": f"arn:{PARTITION}:logs:{region}:{account}:log-group:{physical}:*"}[attribute]
        raise ResolveError(f"Fn::GetAtt {logical_id}.{attribute}: {kind} attributes are not readable locally")


def make_resolver(session: boto3.Session, deployed: DeployedStack, template: Mapping[str, Any]) -> Resolver:
    lookups = Lookups(
        parameters=deployed.parameters,
        pseudo={
            "AWS::AccountId": deployed.account_id,
            "AWS::Region": deployed.region,
            "AWS::StackName": deployed.name,
            "AWS::StackId": deployed.stack_id,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
        },
        physical_ids={logical: physical for logical, (_kind, physical) in deployed.resources.items()},
        get_att=AttributeReader(session, deployed),
        mappings=template.get("Mappings", {}),
    )
    return Resolver(template, lookups)


def _policy(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _is_conditional_deny(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Deny" and bool(statement.get("Condition"))


def local_policy(document: Any, where: str, report: WiringReport) -> str:
    """The policy without its conditional Deny statements (TLS-only, TLS >= 1.2, ...): moto ignores policy
    conditions, so such a statement would deny every request, over the plain HTTP of 127.0.0.1 or not."""
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = parsed.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [item for item in statements if not _is_conditional_deny(item)]
    dropped = [str(item.get("Sid", "?")) for item in statements if _is_conditional_deny(item)]
    if dropped:
        report.notes.append(
            f"{where}: conditional Deny statement(s) {', '.join(dropped)} not applied (moto ignores "
            "conditions and would deny every request); checked by the template tests instead"
        )
    return _policy({**parsed, "Statement": kept})


def _filter_rules(filter_: Mapping[str, Any] | None) -> dict[str, Any]:
    if not filter_:
        return {}
    rules = filter_.get("S3Key", {}).get("Rules", [])
    return {"Filter": {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}}


def notification_configuration(value: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's NotificationConfiguration in the shape of PutBucketNotificationConfiguration."""
    result: dict[str, Any] = {}
    for cfn_key, api_key, target_key, api_target in (
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
    ):
        items = value.get(cfn_key, [])
        if items:
            result[api_key] = [
                {api_target: item[target_key], "Events": [item["Event"]], **_filter_rules(item.get("Filter"))}
                for item in items
            ]
    return result


def lifecycle_rules(value: Mapping[str, Any]) -> list[dict[str, Any]]:
    """CloudFormation's LifecycleConfiguration rules in the shape of PutBucketLifecycleConfiguration."""
    rules = []
    for rule in value.get("Rules", []):
        api: dict[str, Any] = {"Status": rule["Status"]}
        if "Id" in rule:
            api["ID"] = rule["Id"]
        api["Filter"] = {"Prefix": rule.get("Prefix", "")}
        if "AbortIncompleteMultipartUpload" in rule:
            api["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            }
        if "NoncurrentVersionExpiration" in rule:
            api["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
            }
        if "NoncurrentVersionExpirationInDays" in rule:
            api["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])
            }
        expiration: dict[str, Any] = {}
        if "ExpiredObjectDeleteMarker" in rule:
            expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
        if "ExpirationInDays" in rule:
            expiration["Days"] = int(rule["ExpirationInDays"])
        if expiration:
            api["Expiration"] = expiration
        transitions = list(rule.get("Transitions", [])) + (
            [rule["Transition"]] if "Transition" in rule else []
        )
        if transitions:
            api["Transitions"] = [
                {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in transitions
            ]
        rules.append(api)
    return rules


_ALARM_NUMBERS: Final = {
    "Period": int,
    "EvaluationPeriods": int,
    "DatapointsToAlarm": int,
    "Threshold": float,
}


def alarm_request(props: Mapping[str, Any]) -> dict[str, Any]:
    """AWS::CloudWatch::Alarm properties are PutMetricAlarm's parameters (numbers arrive as text)."""
    request: dict[str, Any] = {}
    for key, value in props.items():
        request[key] = _ALARM_NUMBERS[key](value) if key in _ALARM_NUMBERS else value
    for query in request.get("Metrics", []):
        if "Period" in query:
            query["Period"] = int(query["Period"])
        stat = query.get("MetricStat")
        if stat and "Period" in stat:
            stat["Period"] = int(stat["Period"])
    return request


Applier = Callable[[boto3.Session, str, dict[str, Any], WiringReport], None]


def _bucket(session: boto3.Session, name: str, props: dict[str, Any], report: WiringReport) -> None:
    s3: Any = session.client("s3")
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
        report.applied.append(f"s3 {name}: versioning {props['VersioningConfiguration']['Status']}")
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
        report.applied.append(f"s3 {name}: public access block")
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
        report.applied.append(f"s3 {name}: ownership controls")
    if "LifecycleConfiguration" in props:
        rules = lifecycle_rules(props["LifecycleConfiguration"])
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        report.applied.append(
            f"s3 {name}: {len(rules)} lifecycle rule(s) (stored; moto never expires objects)"
        )
    if "NotificationConfiguration" in props:
        configuration = notification_configuration(props["NotificationConfiguration"])
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=configuration)
        targets = [item.get("QueueArn", "") for item in configuration.get("QueueConfigurations", [])]
        report.applied.append(f"s3 {name}: notifications to {', '.join(targets)}")


def _bucket_policy(session: boto3.Session, _name: str, props: dict[str, Any], report: WiringReport) -> None:
    where = f"s3 {props['Bucket']} bucket policy"
    policy = local_policy(props["PolicyDocument"], where, report)
    session.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=policy)
    report.applied.append(f"s3 {props['Bucket']}: bucket policy")


def _queue_policy(session: boto3.Session, _name: str, props: dict[str, Any], report: WiringReport) -> None:
    sqs = session.client("sqs")
    for url in props["Queues"]:
        policy = local_policy(props["PolicyDocument"], f"sqs {url.rsplit('/', 1)[-1]} queue policy", report)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        report.applied.append(f"sqs {url.rsplit('/', 1)[-1]}: queue policy")


def _topic_policy(session: boto3.Session, _name: str, props: dict[str, Any], report: WiringReport) -> None:
    sns = session.client("sns")
    for arn in props["Topics"]:
        policy = local_policy(props["PolicyDocument"], f"sns {arn.rsplit(':', 1)[-1]} topic policy", report)
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=policy)
        report.applied.append(f"sns {arn.rsplit(':', 1)[-1]}: topic policy")


def _subscription(session: boto3.Session, _name: str, props: dict[str, Any], report: WiringReport) -> None:
    attributes: dict[str, str] = {
        key: _policy(props[key]) if key == "FilterPolicy" else str(props[key]).lower()
        for key in ("FilterPolicy", "RawMessageDelivery")
        if key in props
    }
    session.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props["Endpoint"],
        Attributes=attributes,
    )
    topic = props["TopicArn"].rsplit(":", 1)[-1]
    report.applied.append(f"sns {topic}: {props['Protocol']} subscription {props['Endpoint']}")
    if props["Protocol"] in ("email", "email-json", "sms", "http", "https"):
        report.notes.append(
            f"{props['Protocol']} subscription of {topic} to {props['Endpoint']} is recorded but nothing is "
            "delivered locally (no confirmation, no mail): subscribe an SQS queue to read the messages"
        )


def _alarm(session: boto3.Session, _name: str, props: dict[str, Any], report: WiringReport) -> None:
    session.client("cloudwatch").put_metric_alarm(**alarm_request(props))
    report.applied.append(f"cloudwatch alarm {props['AlarmName']} (stored; moto never evaluates alarms)")


APPLIERS: Final[Mapping[str, Applier]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::SNS::Subscription": _subscription,
    "AWS::CloudWatch::Alarm": _alarm,
}


def wire(session: boto3.Session, stack_name: str, template: Mapping[str, Any]) -> WiringReport:
    """Apply every skipped property of every created resource, in template order (moto checks neither that
    S3 may send to the queue nor the order of policies, so the order only has to follow existence)."""
    deployed = describe_deployed(session, stack_name, template)
    resolver = make_resolver(session, deployed, template)
    report = WiringReport()
    for logical_id, spec in template["Resources"].items():
        applier = APPLIERS.get(spec["Type"])
        if applier is None or not resolver.resource_exists(logical_id):
            continue
        physical = deployed.resources.get(logical_id, ("", ""))[1]
        applier(session, physical, resolver.properties(logical_id), report)
    return report
