from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from harness import destroy as destroy_module
from harness.destroy import destroy
from harness.stack import describe_stack
from tests.harness.conftest import MINI_TEMPLATE, STACK, deploy_quietly


def test_destroy_empties_every_version_and_delete_marker_then_deletes_the_stack(
    session: boto3.Session, package: Path
) -> None:
    quiet = Console(file=io.StringIO())
    outputs = _deploy(session, package, MINI_TEMPLATE)
    s3 = session.client("s3")
    bucket = outputs["UploadBucketName"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="photos/a.jpg", Body=b"v1")
    s3.put_object(Bucket=bucket, Key="photos/a.jpg", Body=b"v2")
    s3.delete_object(Bucket=bucket, Key="photos/a.jpg")  # a delete marker on top of two versions

    result = destroy(session=session, stack_name=STACK, console=quiet, poll_seconds=0.0)

    assert result.existed
    assert result.status == "DELETE_COMPLETE"
    assert result.emptied == {bucket: 3}
    assert describe_stack(session.client("cloudformation"), STACK) is None


def test_destroying_a_stack_that_does_not_exist_reports_it_and_succeeds(session: boto3.Session) -> None:
    result = destroy(session=session, stack_name="never-deployed", console=Console(file=io.StringIO()))

    assert not result.existed
    assert result.status == "DOES_NOT_EXIST"


def _template_with_mapping(tmp_path: Path) -> Path:
    template = json.loads(MINI_TEMPLATE.read_text())
    template["Resources"]["ProcessingEventSourceMapping"] = {
        "Type": "AWS::Lambda::EventSourceMapping",
        "Properties": {
            "EventSourceArn": {"Fn::GetAtt": ["ProcessingQueue", "Arn"]},
            "FunctionName": {"Ref": "ProcessingFunction"},
            "Enabled": True,
            "BatchSize": 10,
        },
    }
    path = tmp_path / "with_mapping.json"
    path.write_text(json.dumps(template))
    return path


def _deploy(session: boto3.Session, package: Path, template: Path) -> dict[str, str]:
    return deploy_quietly(session, package, template=template).outputs


def _deploy_with_mapping(session: boto3.Session, package: Path, tmp_path: Path) -> dict[str, str]:
    return _deploy(session, package, _template_with_mapping(tmp_path))


def test_destroy_disables_the_event_source_mapping_before_it_empties_the_buckets(
    session: boto3.Session, package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deploy_with_mapping(session, package, tmp_path)
    lambda_client = session.client("lambda")
    (mapping,) = lambda_client.list_event_source_mappings()["EventSourceMappings"]
    states_when_emptying: list[str] = []
    real_empty = destroy_module.empty_bucket

    def empty_and_record(s3: Any, bucket: str) -> int:
        states_when_emptying.append(lambda_client.get_event_source_mapping(UUID=mapping["UUID"])["State"])
        return real_empty(s3, bucket)

    monkeypatch.setattr(destroy_module, "empty_bucket", empty_and_record)

    result = destroy(session=session, stack_name=STACK, console=Console(file=io.StringIO()), poll_seconds=0.0)

    assert result.disabled_mappings == [mapping["UUID"]]
    assert states_when_emptying
    assert set(states_when_emptying) == {"Disabled"}


def test_destroy_waits_while_records_are_in_flight_and_stops_at_the_function_timeout() -> None:
    """A record the function holds is invisible; the wait ends when none are, or when no invocation that
    started before the disable can still be running (the function timeout plus a grace)."""
    counts = iter([2, 1, 0])
    slept: list[float] = []

    class Queue:
        def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
            return {"Attributes": {"ApproximateNumberOfMessagesNotVisible": str(next(counts))}}

    destroy_module.wait_out_in_flight(
        Queue(),  # type: ignore[arg-type]
        ["https://sqs/q"],
        60.0,
        poll_seconds=1.0,
        console=Console(file=io.StringIO()),
        sleep=slept.append,
    )
    assert slept == [1.0, 1.0]

    class Stuck:
        def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
            return {"Attributes": {"ApproximateNumberOfMessagesNotVisible": "3"}}

    out = io.StringIO()
    waited = destroy_module.wait_out_in_flight(
        Stuck(),  # type: ignore[arg-type]
        ["https://sqs/q"],
        0.0,
        poll_seconds=0.0,
        console=Console(file=out),
        sleep=lambda _: None,
        grace_seconds=0.05,
    )
    assert waited >= 0.05
    assert "3 record(s) still invisible" in out.getvalue()


def test_a_write_that_races_the_emptying_is_removed_by_a_second_pass_and_the_delete_retried(
    session: boto3.Session, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = Console(file=io.StringIO())
    outputs = _deploy(session, package, MINI_TEMPLATE)
    bucket = outputs["UploadBucketName"]
    real_empty = destroy_module.empty_bucket
    passes: list[int] = []

    def empty_then_late_write(s3: Any, name: str) -> int:
        removed = real_empty(s3, name)
        passes.append(removed)
        if len(passes) == 1:  # a rendition written just after the first pass
            s3.put_object(Bucket=name, Key="large/late.jpg", Body=b"late")
        return removed

    monkeypatch.setattr(destroy_module, "empty_bucket", empty_then_late_write)
    real_delete = destroy_module._delete
    deletes: list[str] = []

    def delete_refused_while_the_bucket_holds_objects(client: Any, stack_name: str, *args: Any) -> Any:
        """moto deletes a bucket that holds objects; CloudFormation refuses it (BucketNotEmpty)."""
        deletes.append(stack_name)
        holding = session.client("s3").list_object_versions(Bucket=bucket).get("Versions")
        if holding:
            return "DELETE_FAILED", "UploadBucket (AWS::S3::Bucket): The bucket is not empty"
        return real_delete(client, stack_name, *args)

    monkeypatch.setattr(destroy_module, "_delete", delete_refused_while_the_bucket_holds_objects)

    result = destroy(session=session, stack_name=STACK, console=quiet, poll_seconds=0.0)

    assert result.status == "DELETE_COMPLETE"
    assert result.delete_attempts == 2
    assert len(deletes) == 2
    assert result.emptied == {bucket: 1}
    assert describe_stack(session.client("cloudformation"), STACK) is None
