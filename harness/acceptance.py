"""`photopipe acceptance`: deploy a uniquely named stack, prove it works end to end, and always destroy it.

The checks, in order: the stack deploys (tagged); the bucket notification delivers (a canary upload, since a
new notification can take minutes to apply); a fixture set of one valid photo per format and several bad
inputs is uploaded; every valid photo gets every rendition; every bad one gets exactly one rejection notice
on the error topic (read through a temporary SQS subscription the run creates and removes); a deleted upload
loses its renditions; the handler's metrics reach CloudWatch; every alarm of the template exists and
notifies the alarm topic; one alarm forced into ALARM delivers its message to the alarm topic (which proves
the KMS key policy lets CloudWatch publish). Then the stack is destroyed, on failure and on Ctrl-C too.

The same run works against the embedded local stack (`--local`, in `nox -s tests`) and an account
(`--profile/--region`). What the local stack cannot prove is reported as `not-run-locally`, never as passed.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image
from rich.console import Console

from fixtures.generate import fixture_bytes, manifest
from handler.config import Settings
from handler.constants import MetricName
from handler.keys import rendition_keys
from harness.acceptance_report import (
    FAILED,
    NOT_APPLICABLE,
    NOT_RUN,
    NOT_RUN_LOCALLY,
    PASSED,
    AcceptanceReport,
    Check,
    RunUsage,
    run_cost,
)
from harness.canary import NotDeliveredError, deployed_settings, existing_renditions, wait_for_delivery
from harness.contract import LAMBDA_NAMESPACE, StackParameter
from harness.destroy import destroy
from harness.metrics import MetricsReport, read_metrics
from harness.outputs import StackOutput
from harness.tags import PURPOSE_ACCEPTANCE, default_tags, merge_tags
from harness.topics import subscribe_queue

STACK_PREFIX: Final = "photopipe-acc"
KEY_PREFIX: Final = "acceptance"
# One valid photo per input format the handler reads, and one of each way an input goes wrong.
VALID_FIXTURES: Final = ("jpeg-0.3mp", "png-palette-transparent", "gif", "webp", "heic", "avif")
BAD_FIXTURES: Final = ("zero-bytes", "jpeg-truncated", "random-bytes-jpg", "jpeg-claims-huge")
DELETED_FIXTURE: Final = "jpeg-0.3mp"
FORCED_ALARM: Final = "DeadLetterQueueAlarm"
ALARM_TYPE: Final = "AWS::CloudWatch::Alarm"
MOTO_ALARM_ACTIONS: Final = (
    "moto's SetAlarmState changes the alarm's state but runs no alarm actions (nothing is published to "
    "the alarm topic), so delivery through the KMS-encrypted topic can only be proven on an account"
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; an account needs minutes (a new notification, metric ingestion), the local stack seconds."""

    canary: float
    processing: float
    metrics: float
    alarm: float
    poll: float

    @classmethod
    def for_account(cls) -> Timeouts:
        return cls(canary=600.0, processing=300.0, metrics=600.0, alarm=300.0, poll=5.0)

    @classmethod
    def for_local(cls) -> Timeouts:
        return cls(canary=60.0, processing=60.0, metrics=30.0, alarm=5.0, poll=0.2)


class Target(Protocol):
    """Where the run deploys: the embedded local stack or an AWS account."""

    local: bool
    stack_name: str

    @property
    def region(self) -> str: ...

    @property
    def endpoint(self) -> str: ...

    def deploy(self, console: Console) -> dict[str, str]: ...

    def session(self) -> boto3.Session: ...

    def flush(self) -> None: ...

    def destroy(self, console: Console) -> str: ...

    def close(self) -> None: ...


def unique_stack_name(prefix: str = STACK_PREFIX, now: datetime | None = None) -> str:
    """`photopipe-acc-20261201t0215-3fa9`: sortable, unique per run, short enough for the bucket names."""
    moment = now or datetime.now(UTC)
    return f"{prefix}-{moment:%Y%m%dt%H%M}-{secrets.token_hex(2)}"


class CheckError(Exception):
    """A check found the stack not doing what it should; the message says what was expected and seen."""


def wait_until(condition: Callable[[], Any], timeout: float, poll: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise CheckError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


@dataclass
class TopicReader:
    """A temporary SQS queue subscribed to a topic: what the topic publishes can be read back."""

    session: boto3.Session
    topic_arn: str
    queue_name: str
    queue_url: str = ""
    subscription_arn: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)

    def open(self) -> TopicReader:
        self.queue_url, self.subscription_arn = subscribe_queue(
            self.session.client("sqs"),
            self.session.client("sns"),
            self.queue_name,
            self.topic_arn,
            {"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "3600"},
        )
        return self

    def read(self) -> list[dict[str, Any]]:
        """Every message so far (the SNS message text parsed as JSON where it is JSON)."""
        sqs = self.session.client("sqs")
        while True:
            answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            received = answer.get("Messages", [])
            if not received:
                return self.messages
            for message in received:
                envelope = json.loads(message["Body"])
                text = envelope.get("Message", "")
                try:
                    body = json.loads(text)
                except json.JSONDecodeError:
                    body = {"text": text}
                self.messages.append({"subject": envelope.get("Subject", ""), "body": body})
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def close(self) -> None:
        if self.subscription_arn and self.subscription_arn != "pending confirmation":
            with suppress(ClientError, BotoCoreError):
                self.session.client("sns").unsubscribe(SubscriptionArn=self.subscription_arn)
        if self.queue_url:
            with suppress(ClientError, BotoCoreError):
                self.session.client("sqs").delete_queue(QueueUrl=self.queue_url)


@dataclass
class Upload:
    fixture: str
    key: str
    version_id: str | None = None


@dataclass
class Run:
    target: Target
    console: Console
    timeouts: Timeouts
    report: AcceptanceReport
    outputs: dict[str, str] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    readers: list[TopicReader] = field(default_factory=list)
    valid: list[Upload] = field(default_factory=list)
    bad: list[Upload] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    key_prefix: str = ""
    errors: TopicReader | None = None
    alarms: TopicReader | None = None
    metrics: MetricsReport | None = None
    settings: Settings = field(default_factory=lambda: deployed_settings({}))
    """The renditions and formats the stack writes, from its deployed parameters (check_deploy)."""

    @property
    def session(self) -> boto3.Session:
        return self.target.session()

    def key(self, fixture: str) -> str:
        filename = next(entry["filename"] for entry in manifest() if entry["name"] == fixture)
        return f"{self.key_prefix}{KEY_PREFIX}/{self.run_id}/{fixture}-{filename}"

    def upload(self, fixture: str, key: str | None = None) -> Upload:
        key = key or self.key(fixture)
        answer = self.session.client("s3").put_object(
            Bucket=self.outputs[StackOutput.UPLOAD_BUCKET], Key=key, Body=fixture_bytes(fixture)
        )
        return Upload(fixture, key, answer.get("VersionId"))

    def expected_renditions(self, source_key: str) -> tuple[str, ...]:
        """Every rendition key the stack writes for `source_key` (each rendition in each format)."""
        return rendition_keys(self.settings, source_key)

    def rendition_keys(self, source_key: str) -> list[str]:
        """Those of the rendition keys of `source_key` that exist."""
        s3 = self.session.client("s3")
        return existing_renditions(
            s3, self.outputs[StackOutput.PROCESSED_BUCKET], self.expected_renditions(source_key)
        )


class ChecksPlan:
    """The checks in order, each with what it proves (the report lists them even when they do not run)."""

    ITEMS: Final = (
        ("deploy", "a uniquely named stack deploys (and carries the project and purpose tags)"),
        ("error-topic-subscription", "a temporary SQS queue subscribes to the error topic"),
        ("notification-delivers", "a canary upload reaches the function (the bucket notification is live)"),
        (
            "upload-fixtures",
            "one valid photo per input format and one bad input per failure kind are uploaded",
        ),
        ("renditions", "every valid photo has every rendition, each a decodable image"),
        ("rejection-notices", "every bad input has exactly one rejection notice naming its error type"),
        ("deletion-propagates", "deleting an upload deletes its renditions"),
        ("metrics", "the handler's metrics for the run reach CloudWatch"),
        ("alarms-present", "every alarm of the template exists and notifies the alarm topic"),
        ("alarm-delivers", "an alarm forced into ALARM publishes to the KMS-encrypted alarm topic"),
        ("destroy", "the stack and the run's temporary queues are gone"),
    )


def _check(report: AcceptanceReport, name: str) -> Check:
    return next(check for check in report.checks if check.name == name)


@contextmanager
def running(run: Run, name: str) -> Iterator[Check]:
    check = _check(run.report, name)
    started = time.perf_counter()
    run.console.print(f"[bold]{name}[/bold]: {check.description}")
    try:
        yield check
    except (CheckError, ClientError, BotoCoreError, OSError, RuntimeError, ValueError, KeyError) as exc:
        check.outcome = FAILED
        check.detail = str(exc) if isinstance(exc, CheckError) else f"{type(exc).__name__}: {exc}"
        raise CheckError(f"{name}: {check.detail}") from exc
    finally:
        check.seconds = time.perf_counter() - started
    if check.outcome == NOT_RUN:
        check.outcome = PASSED
    style = {PASSED: "green", FAILED: "red"}.get(check.outcome, "yellow")
    run.console.print(f"  [{style}]{check.outcome}[/{style}] ({check.seconds:.1f} s) {check.detail}")


def check_deploy(run: Run) -> None:
    with running(run, "deploy") as check:
        run.outputs = run.target.deploy(run.console)
        run.report.endpoint, run.report.region = run.target.endpoint, run.target.region
        stack = run.session.client("cloudformation").describe_stacks(StackName=run.target.stack_name)[
            "Stacks"
        ][0]
        tags = {str(tag["Key"]): str(tag.get("Value", "")) for tag in stack.get("Tags", [])}
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        run.key_prefix = parameters.get(StackParameter.UPLOAD_KEY_PREFIX, "")
        run.settings = deployed_settings(parameters)
        expected = default_tags(PURPOSE_ACCEPTANCE)
        if run.target.local:
            check.detail = f"{stack['StackStatus']}; tags not applied (the local stack deploys without tags)"
        else:
            missing = {k: v for k, v in expected.items() if tags.get(k) != v}
            if missing:
                raise CheckError(f"the stack lacks the tags {missing}; it has {tags}")
            check.detail = f"{stack['StackStatus']}, tagged {expected}"


def check_error_subscription(run: Run) -> None:
    with running(run, "error-topic-subscription") as check:
        run.errors = TopicReader(
            run.session, run.outputs[StackOutput.ERROR_TOPIC_ARN], f"{run.target.stack_name}-errors"
        )
        run.readers.append(run.errors)
        run.errors.open()
        check.detail = run.errors.queue_name


def check_notification(run: Run) -> None:
    with running(run, "notification-delivers") as check:
        key = f"{run.key_prefix}{KEY_PREFIX}/{run.run_id}/canary.jpg"
        try:
            seconds = wait_for_delivery(
                run.session,
                run.outputs,
                key=key,
                timeout=run.timeouts.canary,
                poll=run.timeouts.poll,
                remove=False,
                settings=run.settings,
            )
        except NotDeliveredError as exc:
            raise CheckError(str(exc)) from None
        check.detail = f"renditions after {seconds:.1f} s"


def check_upload(run: Run) -> None:
    with running(run, "upload-fixtures") as check:
        run.valid = [run.upload(name) for name in VALID_FIXTURES]
        run.bad = [run.upload(name) for name in BAD_FIXTURES]
        check.detail = f"{len(run.valid)} valid ({', '.join(VALID_FIXTURES)}), {len(run.bad)} bad"


def _decodes(run: Run, key: str) -> tuple[int, int]:
    body = run.session.client("s3").get_object(Bucket=run.outputs[StackOutput.PROCESSED_BUCKET], Key=key)[
        "Body"
    ]
    with Image.open(io.BytesIO(body.read())) as image:
        image.load()
        return image.size


def check_renditions(run: Run) -> None:
    with running(run, "renditions") as check:

        def missing() -> list[str]:
            return [
                u.fixture
                for u in run.valid
                if len(run.rendition_keys(u.key)) < len(run.expected_renditions(u.key))
            ]

        try:
            wait_until(lambda: not missing(), run.timeouts.processing, run.timeouts.poll, "every rendition")
        except CheckError:
            raise CheckError(
                f"no renditions for {', '.join(missing())} after {run.timeouts.processing:.0f} s"
            ) from None
        sizes = []
        for upload in run.valid:
            for key in run.rendition_keys(upload.key):
                width, height = _decodes(run, key)
                sizes.append(f"{upload.fixture}/{key.split('/', 1)[0]} {width}x{height}")
        check.detail = f"{len(sizes)} renditions decoded"


def check_rejections(run: Run) -> None:
    with running(run, "rejection-notices") as check:
        errors = run.errors
        if errors is None:
            raise CheckError("no subscription to the error topic")
        expected = {
            upload.key: next(e["error_type"] for e in manifest() if e["name"] == upload.fixture)
            for upload in run.bad
        }

        def ours() -> list[dict[str, Any]]:
            prefix = f"{run.key_prefix}{KEY_PREFIX}/{run.run_id}/"
            return [m["body"] for m in errors.read() if str(m["body"].get("key", "")).startswith(prefix)]

        try:
            wait_until(
                lambda: len(ours()) >= len(expected), run.timeouts.processing, run.timeouts.poll, "notices"
            )
        except CheckError:
            seen = sorted(str(n.get("key")) for n in ours())
            raise CheckError(f"expected a notice for each of {sorted(expected)}; saw {seen}") from None
        time.sleep(run.timeouts.poll)  # a duplicate would arrive right behind the first
        got = sorted((str(n["key"]), str(n["errorType"])) for n in ours())
        if got != sorted(expected.items()):
            raise CheckError(f"expected notices {sorted(expected.items())}; got {got}")
        check.detail = ", ".join(f"{key.rsplit('/', 1)[-1]}: {kind}" for key, kind in got)


def removal_events(run: Run) -> list[str]:
    """The ObjectRemoved events the upload bucket sends to a queue (none: deletions do not propagate)."""
    configuration = run.session.client("s3").get_bucket_notification_configuration(
        Bucket=run.outputs[StackOutput.UPLOAD_BUCKET]
    )
    return sorted(
        event
        for target in configuration.get("QueueConfigurations", [])
        for event in target.get("Events", [])
        if event.startswith("s3:ObjectRemoved")
    )


def check_deletion(run: Run) -> None:
    with running(run, "deletion-propagates") as check:
        if not removal_events(run):
            check.outcome = NOT_APPLICABLE
            check.detail = (
                "the upload bucket notifies no s3:ObjectRemoved event, so a deleted upload keeps its "
                "renditions (deletion propagation is not deployed)"
            )
            return
        upload = next(u for u in run.valid if u.fixture == DELETED_FIXTURE)
        run.session.client("s3").delete_object(Bucket=run.outputs[StackOutput.UPLOAD_BUCKET], Key=upload.key)
        try:
            wait_until(
                lambda: not run.rendition_keys(upload.key), run.timeouts.processing, run.timeouts.poll, ""
            )
        except CheckError:
            raise CheckError(
                f"the renditions of deleted {upload.key} still exist after {run.timeouts.processing:.0f} s: "
                f"{run.rendition_keys(upload.key)}"
            ) from None
        check.detail = f"{upload.key.rsplit('/', 1)[-1]}: renditions removed"


def check_metrics(run: Run) -> None:
    with running(run, "metrics") as check:
        processed_expected = len(run.valid) + 1  # the canary too
        errors_expected = len(run.bad)

        def read() -> Any:
            run.target.flush()
            report = read_metrics(
                run.session,
                run.target.stack_name,
                start=run.started_at - timedelta(minutes=1),
                outputs=run.outputs,
            )
            processed = report.total(MetricName.PROCESSED_IMAGES)
            errors = report.total(MetricName.PROCESSING_ERRORS)
            return report if processed >= processed_expected and errors >= errors_expected else None

        try:
            report = wait_until(read, run.timeouts.metrics, max(run.timeouts.poll, 1.0), "metrics")
        except CheckError:
            raise CheckError(
                f"CloudWatch did not show {processed_expected} {MetricName.PROCESSED_IMAGES} and "
                f"{errors_expected} {MetricName.PROCESSING_ERRORS} within {run.timeouts.metrics:.0f} s"
            ) from None
        run.metrics = report
        check.detail = (
            f"{report.total(MetricName.PROCESSED_IMAGES):.0f} {MetricName.PROCESSED_IMAGES}, "
            f"{report.total(MetricName.PROCESSING_ERRORS):.0f} {MetricName.PROCESSING_ERRORS}"
        )


def _alarm_names(run: Run) -> dict[str, str]:
    """Logical id -> alarm name, for the stack's alarms."""
    client = run.session.client("cloudformation")
    names: dict[str, str] = {}
    for page in client.get_paginator("list_stack_resources").paginate(StackName=run.target.stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == ALARM_TYPE and resource.get("PhysicalResourceId"):
                names[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    return names


def check_alarms(run: Run, template_alarms: int) -> dict[str, str]:
    with running(run, "alarms-present") as check:
        names = _alarm_names(run)
        if len(names) != template_alarms:
            raise CheckError(f"the template declares {template_alarms} alarms; the stack has {len(names)}")
        described = run.session.client("cloudwatch").describe_alarms(AlarmNames=sorted(names.values()))
        found: dict[str, Any] = {alarm["AlarmName"]: alarm for alarm in described["MetricAlarms"]}
        found.update({alarm["AlarmName"]: alarm for alarm in described.get("CompositeAlarms", [])})
        absent = sorted(set(names.values()) - set(found))
        if absent:
            raise CheckError(f"alarms missing in CloudWatch: {absent}")
        topic = run.outputs[StackOutput.ALARM_TOPIC_ARN]
        silent = sorted(name for name, alarm in found.items() if topic not in alarm.get("AlarmActions", []))
        if silent:
            raise CheckError(f"alarms that do not notify the alarm topic: {silent}")
        check.detail = f"{len(found)} alarms, each notifying the alarm topic"
        return names


def check_alarm_delivery(run: Run, names: Mapping[str, str]) -> None:
    with running(run, "alarm-delivers") as check:
        alarm = names[FORCED_ALARM]
        run.alarms = TopicReader(
            run.session, run.outputs[StackOutput.ALARM_TOPIC_ARN], f"{run.target.stack_name}-alarms"
        )
        run.readers.append(run.alarms)
        run.alarms.open()
        cloudwatch = run.session.client("cloudwatch")
        cloudwatch.set_alarm_state(
            AlarmName=alarm,
            StateValue="ALARM",
            StateReason="photopipe acceptance: forced to prove that alarms reach the alarm topic",
        )
        state = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]
        if state != "ALARM":
            raise CheckError(f"{alarm} is {state} after SetAlarmState ALARM")
        if run.target.local:
            check.outcome = NOT_RUN_LOCALLY
            check.detail = f"{alarm} set to ALARM; {MOTO_ALARM_ACTIONS}"
            return
        alarms = run.alarms

        def delivered() -> bool:
            return any(
                m["body"].get("AlarmName") == alarm and m["body"].get("NewStateValue") == "ALARM"
                for m in alarms.read()
            )

        try:
            wait_until(delivered, run.timeouts.alarm, run.timeouts.poll, "the alarm's message")
        except CheckError:
            raise CheckError(
                f"{alarm} went to ALARM but nothing reached the alarm topic within "
                f"{run.timeouts.alarm:.0f} s: "
                "check that the KMS key policy lets cloudwatch.amazonaws.com use the key for this alarm"
            ) from None
        check.detail = f"{alarm}: ALARM message delivered to the alarm topic"


def _usage(run: Run, hours: float) -> RunUsage:
    report = run.metrics
    function = run.outputs.get(StackOutput.FUNCTION_NAME, "")
    invocations = duration = 0.0
    if report is not None:
        invocations = report.get("Invocations", "Sum", LAMBDA_NAMESPACE, FunctionName=function) or 0.0
        duration = (
            report.get("Duration", "Average", LAMBDA_NAMESPACE, FunctionName=function) or 0.0
        ) * invocations
    memory, architecture = 1024, "arm64"
    try:
        config = run.session.client("lambda").get_function_configuration(FunctionName=function)
        memory = int(config["MemorySize"])
        architecture = str((config.get("Architectures") or ["x86_64"])[0])
    except (ClientError, BotoCoreError, KeyError):
        pass
    photos = len(run.valid) + len(run.bad) + (1 if run.valid else 0)
    return RunUsage(
        hours=hours,
        photos=photos,
        renditions_written=len(run.expected_renditions("canary.jpg")) * (len(run.valid) + 1),
        invocations=int(invocations),
        billed_duration_ms=duration,
        memory_mb=memory,
        architecture=architecture,
        alarms=len(_safe_alarm_count(run)),
        sns_messages=len(run.bad) + 1,
    )


def _safe_alarm_count(run: Run) -> dict[str, str]:
    try:
        return _alarm_names(run)
    except (ClientError, BotoCoreError):
        return {}


def template_alarm_count(template: Mapping[str, Any]) -> int:
    return sum(1 for resource in template.get("Resources", {}).values() if resource.get("Type") == ALARM_TYPE)


def run_acceptance(
    target: Target,
    *,
    template: Mapping[str, Any],
    console: Console | None = None,
    timeouts: Timeouts | None = None,
) -> AcceptanceReport:
    """Every check in order until one fails; then, always, the teardown. Ctrl-C stops the checks and runs
    the teardown; the report says the run was interrupted (a caller exits 130)."""
    console = console or Console(stderr=True)
    timeouts = timeouts or (Timeouts.for_local() if target.local else Timeouts.for_account())
    started = datetime.now(UTC)
    report = AcceptanceReport(
        stack_name=target.stack_name,
        region=target.region,
        endpoint=target.endpoint,
        started=started.isoformat(timespec="seconds"),
        checks=[Check(name, description) for name, description in ChecksPlan.ITEMS],
    )
    run = Run(target=target, console=console, timeouts=timeouts, report=report, started_at=started)
    clock = time.perf_counter()
    try:
        check_deploy(run)
        check_error_subscription(run)
        check_notification(run)
        check_upload(run)
        check_renditions(run)
        check_rejections(run)
        check_deletion(run)
        check_metrics(run)
        names = check_alarms(run, template_alarm_count(template))
        check_alarm_delivery(run, names)
    except CheckError as exc:
        console.print(f"[red]{exc}[/red]")
    except KeyboardInterrupt:
        report.interrupted = True
        console.print("[yellow]interrupted: destroying the stack before exiting[/yellow]")
    finally:
        _teardown(run, clock)
    return report


def _teardown(run: Run, clock: float) -> None:
    """Remove the temporary queues, destroy the stack, price the run; each step runs even if one fails."""
    report = run.report
    hours = (time.perf_counter() - clock) / 3600
    try:
        usage = _usage(run, hours)
        report.cost = run_cost(usage)
    except Exception as exc:  # the teardown must reach destroy whatever pricing does
        report.notes.append(f"cost not estimated: {type(exc).__name__}: {exc}")
    for reader in run.readers:
        reader.close()
    check = _check(report, "destroy")
    started = time.perf_counter()
    try:
        status = run.target.destroy(run.console)
        leftovers = [reader.queue_name for reader in run.readers if _queue_exists(run, reader.queue_name)]
        if leftovers:
            raise CheckError(f"temporary queues left behind: {leftovers}")
        check.outcome = PASSED
        check.detail = status
    except KeyboardInterrupt:  # a second Ctrl-C: stop, but still write the report that says what is left
        report.interrupted = True
        check.outcome = FAILED
        check.detail = (
            f"interrupted during destroy: run `photopipe destroy --stack-name {run.target.stack_name} --yes`"
        )
    except Exception as exc:
        check.outcome = FAILED
        check.detail = (
            f"{type(exc).__name__}: {exc}; the stack may be left: `photopipe destroy --stack-name "
            f"{run.target.stack_name} --yes` or `photopipe stacks clean`"
        )
    finally:
        check.seconds = time.perf_counter() - started
        report.seconds = time.perf_counter() - clock
        try:
            run.target.close()
        except Exception as exc:
            report.notes.append(f"closing the target failed: {type(exc).__name__}: {exc}")
    if run.target.local:
        report.notes.append(
            "local run: the cost is what the same run would cost on AWS (us-west-2 list prices); "
            f"alarm delivery is not provable locally ({MOTO_ALARM_ACTIONS})"
        )


def _queue_exists(run: Run, name: str) -> bool:
    try:
        run.session.client("sqs").get_queue_url(QueueName=name)
    except ClientError:
        return False
    return True


# ------------------------------------------------------------------------------------------------- targets


@dataclass
class AccountTarget:
    """An AWS account: the zip is built for the chosen runtime/architecture and deployed with tags."""

    aws: boto3.Session
    stack_name: str
    parameters: dict[str, str]
    package: Callable[[Console], Path]
    tags: dict[str, str] = field(default_factory=dict)
    role_arn: str | None = None
    local: bool = False
    endpoint: str = "aws"

    @property
    def region(self) -> str:
        return str(self.aws.region_name)

    def session(self) -> boto3.Session:
        return self.aws

    def deploy(self, console: Console) -> dict[str, str]:
        from harness.deploy import deploy

        result = deploy(
            session=self.aws,
            stack_name=self.stack_name,
            package_path=self.package(console),
            parameters=self.parameters,
            console=console,
            tags=merge_tags(default_tags(PURPOSE_ACCEPTANCE), self.tags),
            role_arn=self.role_arn,
        )
        return dict(result.outputs)

    def flush(self) -> None:
        return None

    def destroy(self, console: Console) -> str:
        return destroy(session=self.aws, stack_name=self.stack_name, console=console).status

    def close(self) -> None:
        return None


@dataclass
class LocalTarget:
    """The embedded local stack, started for this run and stopped after it (its moto state dies with it)."""

    stack_name: str
    parameters: dict[str, str]
    workdir: Path
    local: bool = True
    endpoint: str = ""
    region: str = ""
    _stack: Any = None

    def deploy(self, console: Console) -> dict[str, str]:
        from harness.emulator import EmbeddedStack

        stack = EmbeddedStack(
            port=0, stack_name=self.stack_name, parameters=self.parameters, workdir=self.workdir
        )
        self._stack = stack
        stack.start()  # close() stops whatever started, also when start fails half-way
        self.endpoint, self.region = stack.endpoint_url, stack.region
        return dict(stack.outputs)

    def session(self) -> boto3.Session:
        if self._stack is None:
            raise RuntimeError("the local stack is not started")
        session: boto3.Session = self._stack.session()
        return session

    def flush(self) -> None:
        if self._stack is not None:
            self._stack.flush()

    def destroy(self, console: Console) -> str:
        if self._stack is None or not self._stack.endpoint_url:
            return "NOT_DEPLOYED"
        return destroy(session=self.session(), stack_name=self.stack_name, console=console).status

    def close(self) -> None:
        if self._stack is not None:
            self._stack.stop()
