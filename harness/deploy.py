"""Deploy the packaged function and template/template.json through a CloudFormation change set.

A change set shows what will change before it happens and makes "nothing changed" a normal outcome rather than
an error; the artifact is stored under its sha256 so that re-deploying the same build changes nothing.
Everything a user can get wrong is checked before the first upload.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from handler.errors import error_code, is_gone
from harness.contract import TEMPLATE_PATH, StackParameter
from harness.package import sha256_file
from harness.params import (
    InvalidInputError,
    load_template,
    missing_required,
    template_parameters,
    validate_bucket_name,
    validate_parameters,
    validate_region,
    validate_stack_name,
)
from harness.stack import (
    DEAD_STATUSES,
    SUCCESS_STATUSES,
    StackError,
    client_is_local,
    describe_stack,
    events_table,
    failed_events,
    outputs_of,
    outputs_table,
    poll_interval,
    wait_for_stack,
)
from harness.tags import as_cloudformation, from_cloudformation, validate_tags

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

CAPABILITIES: Final = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
TEMPLATE_BODY_LIMIT: Final = 51_200
ARTIFACT_PREFIX: Final = "photopipe/lambda"
TEMPLATE_PREFIX: Final = "photopipe/templates"
NO_CHANGES_MARKERS: Final = ("didn't contain changes", "No updates are to be performed")
# Lambda keeps this many concurrency units unreserved in every account; a reservation below it is refused.
UNRESERVED_MINIMUM: Final = 100
ROLE_ARN_PATTERN: Final = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
CHANGE_SET_CREATED: Final = "CHANGE_SET_CREATED"


class DeployError(Exception):
    """The deploy failed after it started; the message names the failing resource and its reason."""


@dataclass(frozen=True, slots=True)
class DeployResult:
    stack_name: str
    outputs: dict[str, str]
    changed: bool
    status: str
    artifact: str = ""
    changes: list[dict[str, str]] = field(default_factory=list)
    change_set: str = ""
    """The change set left for review (--no-execute); empty when it was executed or deleted."""

    def to_json(self) -> dict[str, Any]:
        return {
            "stack_name": self.stack_name,
            "outputs": self.outputs,
            "changed": self.changed,
            "status": self.status,
            "artifact": self.artifact,
            "changes": self.changes,
            "change_set": self.change_set,
        }


def validate_role_arn(role_arn: str) -> str:
    if not ROLE_ARN_PATTERN.fullmatch(role_arn):
        raise InvalidInputError(
            f"role ARN {role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
        )
    return role_arn


def concurrency_problem(settings: Mapping[str, Any], requested: int, already_reserved: int = 0) -> str | None:
    """Why Lambda would refuse reserving `requested` units (None if it would not), from GetAccountSettings.
    `already_reserved` is what this function holds today (an update releases it before reserving anew)."""
    limit = int(settings.get("AccountLimit", {}).get("ConcurrentExecutions", 0))
    unreserved = int(settings.get("AccountLimit", {}).get("UnreservedConcurrentExecutions", limit))
    left = unreserved + already_reserved - requested
    if left >= UNRESERVED_MINIMUM:
        return None
    reserved = StackParameter.RESERVED_CONCURRENCY
    return (
        f"{reserved}={requested} would leave {left} of this account's {limit} concurrent "
        f"executions unreserved; Lambda keeps at least {UNRESERVED_MINIMUM} unreserved, so the function "
        f"would fail to create and the stack roll back. Deploy with {reserved}=0 (the default: "
        f"the queue's {StackParameter.MAXIMUM_CONCURRENCY} still caps the function), reserve at most "
        f"{max(0, unreserved + already_reserved - UNRESERVED_MINIMUM)}, or ask for a higher quota "
        "(Service Quotas: Lambda 'Concurrent executions')"
    )


def check_reserved_concurrency(
    lambda_client: LambdaClient, requested: int, function_name: str | None, console: Console
) -> None:
    """Pre-flight: refuse a reservation the account cannot give, before anything is uploaded."""
    if requested <= 0:
        return
    try:
        settings: Mapping[str, Any] = lambda_client.get_account_settings()
    except (ClientError, BotoCoreError) as exc:
        if client_is_local(lambda_client):
            console.print(
                f"note: the local endpoint has no GetAccountSettings ({type(exc).__name__}); "
                "reserved concurrency not checked"
            )
            return
        raise
    already = 0
    if function_name:
        try:
            answer = lambda_client.get_function_concurrency(FunctionName=function_name)
            already = int(answer.get("ReservedConcurrentExecutions") or 0)
        except ClientError:
            already = 0
    problem = concurrency_problem(settings, requested, already)
    if problem:
        raise InvalidInputError(problem)


@dataclass(slots=True)
class _Artifact:
    bucket: str
    key: str
    uploaded_version: str | None = None
    """Set when this deploy uploaded the object (so a failed deploy removes exactly that version)."""
    uploaded: bool = False


def default_artifact_bucket(session: boto3.Session, region: str) -> str:
    account = session.client("sts").get_caller_identity()["Account"]
    return f"photopipe-artifacts-{account}-{region}"


def ensure_artifact_bucket(s3: S3Client, bucket: str, region: str, console: Console) -> bool:
    """Create the bucket private, encrypted, versioned, owner-enforced if missing; True if it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if error_code(exc) in ("403", "AccessDenied", "Forbidden"):
            raise InvalidInputError(
                f"artifact bucket {bucket!r} exists but this account cannot use it; pass --artifact-bucket"
            ) from None
        if not is_gone(exc):
            raise
    console.print(f"creating artifact bucket [bold]{bucket}[/bold]")
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerEnforced")
    else:
        s3.create_bucket(
            Bucket=bucket,
            ObjectOwnership="BucketOwnerEnforced",
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    return True


def _upload(s3: S3Client, path: Path, artifact: _Artifact, content_type: str) -> None:
    """Upload unless the content-addressed key is already there (the same bytes by construction)."""
    try:
        s3.head_object(Bucket=artifact.bucket, Key=artifact.key)
        return
    except ClientError as exc:
        if not is_gone(exc):
            raise
    with path.open("rb") as body:
        response = s3.put_object(
            Bucket=artifact.bucket,
            Key=artifact.key,
            Body=body,
            ContentType=content_type,
            ServerSideEncryption="AES256",
        )
    artifact.uploaded = True
    artifact.uploaded_version = response.get("VersionId")


def _remove(s3: S3Client, artifact: _Artifact, console: Console) -> None:
    if not artifact.uploaded:
        return
    try:
        if artifact.uploaded_version:
            s3.delete_object(Bucket=artifact.bucket, Key=artifact.key, VersionId=artifact.uploaded_version)
        else:
            s3.delete_object(Bucket=artifact.bucket, Key=artifact.key)
        console.print(f"removed the artifact this deploy uploaded: s3://{artifact.bucket}/{artifact.key}")
    except ClientError as exc:
        console.print(f"[red]could not remove s3://{artifact.bucket}/{artifact.key}: {exc}[/red]")


def _change_set_parameters(
    given: Mapping[str, str], template: Mapping[str, Any], existing: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Given values, and on update `UsePreviousValue` for every other parameter the stack already has."""
    declared = template_parameters(template)
    result: list[dict[str, Any]] = [
        {"ParameterKey": key, "ParameterValue": value}
        for key, value in sorted(given.items())
        if key in declared
    ]
    if existing is not None:
        previous = {item["ParameterKey"] for item in existing.get("Parameters", []) or []}
        for key in sorted(declared):
            if key not in given and key in previous:
                result.append({"ParameterKey": key, "UsePreviousValue": True})
    return result


def _changes(client: CloudFormationClient, change_set_id: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The change set's description (its status is on every page) and its changes from all pages."""
    rows: list[dict[str, str]] = []
    description: dict[str, Any] = {}
    for page in client.get_paginator("describe_change_set").paginate(ChangeSetName=change_set_id):
        description = dict(page)
        for change in description.get("Changes", []):
            resource = change.get("ResourceChange", {})
            rows.append(
                {
                    "action": str(resource.get("Action", "")),
                    "logical_id": str(resource.get("LogicalResourceId", "")),
                    "type": str(resource.get("ResourceType", "")),
                    "replacement": str(resource.get("Replacement", "")),
                }
            )
    return description, rows


def _changes_table(rows: list[dict[str, str]]) -> Table:
    table = Table(title="changes", title_justify="left")
    for column in ("action", "resource", "type", "replacement"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["action"], row["logical_id"], row["type"], row["replacement"])
    return table


def _wait_change_set(
    client: CloudFormationClient, change_set_id: str, poll_seconds: float, timeout_seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_seconds
    while True:
        description = dict(client.describe_change_set(ChangeSetName=change_set_id))
        if description["Status"] in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE"):
            return description
        if time.monotonic() > deadline:
            raise DeployError(f"change set still {description['Status']} after {timeout_seconds:.0f} s")
        time.sleep(poll_seconds)


def _is_no_change(text: str) -> bool:
    return any(marker in text for marker in NO_CHANGES_MARKERS)


def validate_inputs(
    *,
    session: boto3.Session,
    stack_name: str,
    package_path: Path,
    parameters: Mapping[str, str],
    template: Mapping[str, Any],
    artifact_bucket: str | None,
) -> str:
    """All checks that need no AWS call; returns the region."""
    validate_stack_name(stack_name)
    region = validate_region(session.region_name, session.get_available_regions("cloudformation"))
    validate_parameters(parameters, template)
    if artifact_bucket is not None:
        validate_bucket_name(artifact_bucket)
    if not package_path.is_file():
        raise InvalidInputError(f"package {package_path} does not exist; run `photopipe package` first")
    return region


def deploy(
    *,
    session: boto3.Session,
    stack_name: str,
    package_path: Path,
    parameters: Mapping[str, str],
    artifact_bucket: str | None = None,
    console: Console | None = None,
    template_path: Path = TEMPLATE_PATH,
    poll_seconds: float | None = None,
    timeout_seconds: float = 3600.0,
    tags: Mapping[str, str] | None = None,
    role_arn: str | None = None,
    execute: bool = True,
) -> DeployResult:
    """Create or update `stack_name`; InvalidInputError before any upload, DeployError after a failure.

    `tags` go on the stack (and CloudFormation copies them to its resources); `role_arn` is the service role
    CloudFormation acts as; with `execute=False` the change set is created, shown and left for review."""
    console = console or Console(stderr=True)
    template = load_template(template_path)
    region = validate_inputs(
        session=session,
        stack_name=stack_name,
        package_path=package_path,
        parameters=parameters,
        template=template,
        artifact_bucket=artifact_bucket,
    )
    if tags is not None:
        validate_tags(tags)
    if role_arn is not None:
        validate_role_arn(role_arn)
    client: CloudFormationClient = session.client("cloudformation")
    s3: S3Client = session.client("s3")
    poll = poll_interval(client, poll_seconds)
    existing = describe_stack(client, stack_name)
    busy = existing is not None and str(existing["StackStatus"]).endswith("_IN_PROGRESS")
    if busy and existing is not None and existing["StackStatus"] != "REVIEW_IN_PROGRESS":
        raise StackError(
            f"stack {stack_name!r} is busy ({existing['StackStatus']}); try again when it settles"
        )
    creating = existing is None or existing["StackStatus"] == "REVIEW_IN_PROGRESS"
    if creating:
        required = missing_required(
            [*parameters, StackParameter.CODE_S3_BUCKET, StackParameter.CODE_S3_KEY], template
        )
        if required:
            raise InvalidInputError(f"the template needs parameter(s) {', '.join(required)} (no default)")
    reserved = _effective_value(
        StackParameter.RESERVED_CONCURRENCY, parameters, template, None if creating else existing
    )
    if reserved and reserved.isdigit():
        deployed_function = outputs_of(existing).get("FunctionName") if existing and not creating else None
        check_reserved_concurrency(session.client("lambda"), int(reserved), deployed_function, console)

    bucket = artifact_bucket or default_artifact_bucket(session, region)
    validate_bucket_name(bucket)
    ensure_artifact_bucket(s3, bucket, region, console)
    digest = sha256_file(package_path)
    artifact = _Artifact(bucket=bucket, key=f"{ARTIFACT_PREFIX}/{digest}.zip")
    with console.status(f"uploading {package_path.name} to s3://{bucket}/{artifact.key}"):
        _upload(s3, package_path, artifact, "application/zip")

    uploads = [artifact]
    try:
        return _deploy_stack(
            client=client,
            s3=s3,
            console=console,
            stack_name=stack_name,
            template_path=template_path,
            template=template,
            parameters={
                **parameters,
                StackParameter.CODE_S3_BUCKET: bucket,
                StackParameter.CODE_S3_KEY: artifact.key,
            },
            existing=existing,
            artifact=artifact,
            uploads=uploads,
            region=region,
            poll_seconds=poll,
            timeout_seconds=timeout_seconds,
            tags=tags,
            role_arn=role_arn,
            execute=execute,
        )
    except Exception:  # not KeyboardInterrupt: a stack still deploying may be reading the artifact
        for upload in uploads:
            _remove(s3, upload, console)
        raise


def _deploy_stack(
    *,
    client: CloudFormationClient,
    s3: S3Client,
    console: Console,
    stack_name: str,
    template_path: Path,
    template: Mapping[str, Any],
    parameters: Mapping[str, str],
    existing: dict[str, Any] | None,
    artifact: _Artifact,
    uploads: list[_Artifact],
    region: str,
    poll_seconds: float,
    timeout_seconds: float,
    tags: Mapping[str, str] | None = None,
    role_arn: str | None = None,
    execute: bool = True,
) -> DeployResult:
    """Everything after the upload; what it uploads itself goes on `uploads` so a failure removes it."""
    artifact_uri = f"s3://{artifact.bucket}/{artifact.key}"
    if existing is not None and existing["StackStatus"] in DEAD_STATUSES:
        console.print(
            f"stack {stack_name} is {existing['StackStatus']} from a failed create: deleting it first"
        )
        client.delete_stack(StackName=stack_name)
        wait_for_stack(
            client,
            stack_name,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            console=console,
            label=f"deleting {stack_name}",
            gone_is="DELETE_COMPLETE",
        )
        existing = None
    creating = existing is None or existing["StackStatus"] == "REVIEW_IN_PROGRESS"
    change_set_type: Literal["CREATE", "UPDATE"] = "CREATE" if creating else "UPDATE"

    template_body = template_path.read_text(encoding="utf-8")
    template_source: dict[str, str]
    if len(template_body.encode()) > TEMPLATE_BODY_LIMIT:
        stored = _Artifact(bucket=artifact.bucket, key=f"{TEMPLATE_PREFIX}/{sha256_file(template_path)}.json")
        _upload(s3, template_path, stored, "application/json")
        uploads.append(stored)
        template_source = {"TemplateURL": f"https://{stored.bucket}.s3.{region}.amazonaws.com/{stored.key}"}
    else:
        template_source = {"TemplateBody": template_body}
    change_set_parameters: Any = _change_set_parameters(parameters, template, None if creating else existing)

    started = datetime.now(UTC)
    name = f"photopipe-{started:%Y%m%d%H%M%S}-{artifact.key.rsplit('/', 1)[-1][:8]}"
    extra: dict[str, Any] = {}
    if tags is not None:
        extra["Tags"] = as_cloudformation(tags)
    if role_arn is not None:
        extra["RoleARN"] = role_arn
    try:
        created = client.create_change_set(
            StackName=stack_name,
            ChangeSetName=name,
            ChangeSetType=change_set_type,
            Parameters=change_set_parameters,
            Capabilities=CAPABILITIES,  # type: ignore[arg-type]
            Description=f"photopipe deploy of {artifact_uri}",
            **template_source,  # type: ignore[arg-type]
            **extra,
        )
    except ClientError as exc:
        if _is_no_change(str(exc)):
            return _no_change(client, stack_name, artifact_uri, console)
        raise DeployError(f"CloudFormation refused the change set: {exc}") from exc
    change_set_id = created["Id"]
    with console.status(f"creating change set {name}"):
        description = _wait_change_set(client, change_set_id, poll_seconds, timeout_seconds)
    if description["Status"] == "FAILED":
        reason = str(description.get("StatusReason", ""))
        client.delete_change_set(ChangeSetName=change_set_id)
        if _is_no_change(reason) and not creating:
            return _no_change(client, stack_name, artifact_uri, console)
        if creating:
            _delete_review_stack(client, stack_name)
        raise DeployError(f"change set failed: {reason}")
    description, rows = _changes(client, change_set_id)
    if (
        not creating
        and not rows
        and _same_as_deployed(client, stack_name, description, template)
        and (tags is None or from_cloudformation(existing.get("Tags") if existing else None) == dict(tags))
    ):
        # AWS fails such a change set itself; moto (given a TemplateURL) cannot tell, so check here.
        client.delete_change_set(ChangeSetName=change_set_id)
        return _no_change(client, stack_name, artifact_uri, console)
    console.print(
        _changes_table(rows) if rows else "changes: parameters, tags or outputs only (no resource changes)"
    )
    if not execute:
        console.print(
            f"change set {name} created and [bold]not executed[/bold]; review it in the console, then run "
            f"`aws cloudformation execute-change-set --change-set-name {change_set_id}` (or delete it)"
        )
        return DeployResult(
            stack_name=stack_name,
            outputs={},
            changed=False,
            status=CHANGE_SET_CREATED,
            artifact=artifact_uri,
            changes=rows,
            change_set=str(change_set_id),
        )

    try:
        client.execute_change_set(ChangeSetName=change_set_id)
    except Exception as exc:  # moto in-process raises its own errors (ValueError, KeyError) here
        _report_failure(client, stack_name, started, console)
        if creating:  # an emulator fails synchronously and leaves a half-made stack: remove it
            _delete_quietly(client, stack_name, console)
        raise DeployError(f"executing the change set for {stack_name} failed: {exc}") from exc
    status = wait_for_stack(
        client,
        stack_name,
        poll_seconds=poll_seconds,
        timeout_seconds=timeout_seconds,
        console=console,
        label=f"{'creating' if creating else 'updating'} {stack_name}",
    )
    if status not in SUCCESS_STATUSES:
        cause = _report_failure(client, stack_name, started, console)
        raise DeployError(f"deploy of {stack_name} failed with {status}: {cause}")
    stack = describe_stack(client, stack_name)
    outputs = outputs_of(stack) if stack else {}
    console.print(f"[green]{stack_name}: {status}[/green]")
    console.print(outputs_table(outputs))
    return DeployResult(
        stack_name=stack_name,
        outputs=outputs,
        changed=True,
        status=status,
        artifact=artifact_uri,
        changes=rows,
    )


def _same_as_deployed(
    client: CloudFormationClient, stack_name: str, change_set: Mapping[str, Any], template: Mapping[str, Any]
) -> bool:
    """An update with no resource changes, the deployed template and the deployed parameter values."""
    stack = describe_stack(client, stack_name)
    if stack is None:
        return False
    deployed_template = client.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    if isinstance(deployed_template, str):
        try:
            deployed_template = json.loads(deployed_template)
        except json.JSONDecodeError:
            return False
    if deployed_template != template:
        return False

    def values(items: Any) -> dict[str, str]:
        return {item["ParameterKey"]: item.get("ParameterValue", "") for item in items or []}

    return values(change_set.get("Parameters")) == values(stack.get("Parameters"))


def _report_failure(
    client: CloudFormationClient, stack_name: str, started: datetime, console: Console
) -> str:
    """Print the failed events of this deploy; return the first (the cause of the others) as text."""
    events = failed_events(client, stack_name, since=started)
    if events:
        console.print(events_table(events))
    cause = events[0] if events else None
    return (
        f"{cause.logical_id} ({cause.resource_type}): {cause.reason}" if cause else "no failed event recorded"
    )


def _delete_quietly(client: CloudFormationClient, stack_name: str, console: Console) -> None:
    try:
        client.delete_stack(StackName=stack_name)
        console.print(f"deleted the stack {stack_name} that the failed create left behind")
    except (ClientError, BotoCoreError) as exc:
        console.print(f"[red]could not delete {stack_name}: {exc}[/red]")


def _delete_review_stack(client: CloudFormationClient, stack_name: str) -> None:
    """A refused CREATE change set leaves an empty REVIEW_IN_PROGRESS stack; remove it."""
    stack = describe_stack(client, stack_name)
    if stack is not None and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        client.delete_stack(StackName=stack_name)


def _no_change(
    client: CloudFormationClient, stack_name: str, artifact_uri: str, console: Console
) -> DeployResult:
    stack = describe_stack(client, stack_name)
    status = str(stack["StackStatus"]) if stack else "UNKNOWN"
    outputs = outputs_of(stack) if stack else {}
    console.print(f"{stack_name}: no changes ({status})")
    console.print(outputs_table(outputs))
    return DeployResult(
        stack_name=stack_name, outputs=outputs, changed=False, status=status, artifact=artifact_uri
    )


def _effective_value(
    name: str, given: Mapping[str, str], template: Mapping[str, Any], existing: Mapping[str, Any] | None
) -> str | None:
    """The value a parameter will have: given, else kept from the stack on update, else the default."""
    if name in given:
        return given[name]
    if existing is not None:
        for item in existing.get("Parameters", []) or []:
            if item["ParameterKey"] == name:
                return str(item.get("ParameterValue", ""))
    default = template_parameters(template).get(name, {}).get("Default")
    return None if default is None else str(default)
