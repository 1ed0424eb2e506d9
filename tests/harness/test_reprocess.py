"""`photopipe reprocess` against moto: the messages S3 would have sent, for the chosen uploads, paced."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from handler.constants import EnvVar
from handler.events import ObjectEvent, parse_body
from harness.cli import main
from harness.drift import PhotoStatus
from harness.pacing import Pacer
from harness.params import InvalidInputError
from harness.reprocess import NoPhotosError, ReprocessResult, listing_prefix, reprocess, send_messages
from harness.stack import StackError
from harness.survey import deployed_fingerprint, lambda_time, list_objects, list_uploads, resolve

from .drift_world import LONG_AGO, REGION, STACK, UPLOADS, FakeClock, RecordingSqs, World, build_world, pacer


@pytest.fixture
def world(session: boto3.Session) -> World:
    return build_world(session)


def run(world: World, **options: Any) -> ReprocessResult:
    options.setdefault("pacer", pacer())
    return reprocess(world.s3, world.sqs, world.deployed, region=REGION, **options)


def test_each_upload_gets_one_message_shaped_as_s3_writes_it(world: World) -> None:
    version = world.upload("photos/my photo é.jpg", b"photo")
    world.render("photos/my photo é.jpg", sequencer="0055AEB2", version=version)

    run(world)

    (body,) = world.messages()
    (record,) = body["Records"]
    assert (record["eventVersion"], record["eventSource"], record["eventName"]) == (
        "2.1",
        "aws:s3",
        "ObjectCreated:Put",
    )
    assert record["s3"]["bucket"]["name"] == UPLOADS
    assert record["s3"]["object"] == {
        "key": "photos/my+photo+%C3%A9.jpg",
        "size": 5,
        "eTag": hashlib.md5(b"photo").hexdigest(),
        "versionId": version,
        "sequencer": "0055AEB2",
    }


def test_the_handler_reads_a_reprocess_message_as_the_upload_it_names(world: World) -> None:
    version = world.upload("photos/a+b & c.jpg", b"photo")
    world.render("photos/a+b & c.jpg", sequencer="0055AEB2", version=version)
    run(world)
    message = world.sqs.receive_message(QueueUrl=world.deployed.queue_url)["Messages"][0]

    (event,) = parse_body(message["Body"])

    assert isinstance(event, ObjectEvent)
    assert (event.bucket, event.key, event.version_id, event.sequencer, event.size, event.is_create) == (
        UPLOADS,
        "photos/a+b & c.jpg",
        version,
        "0055AEB2",
        5,
        True,
    )


def test_a_photo_without_renditions_is_sent_without_a_sequencer(world: World) -> None:
    world.upload("a.jpg")

    run(world)

    (body,) = world.messages()
    assert "sequencer" not in body["Records"][0]["s3"]["object"]


def test_stale_only_sends_the_missing_the_outdated_and_the_stale_but_not_the_current(world: World) -> None:
    for key in ("current.jpg", "missing.jpg", "outdated.jpg", "stale.jpg"):
        world.upload(key)
    world.reject("rejected.jpg", world.upload("rejected.jpg"))
    world.render("current.jpg")
    world.render("outdated.jpg", version="an-older-version")
    world.render("stale.jpg", fingerprint="0123456789abcdef")

    result = run(world, stale_only=True)

    assert world.message_keys() == ["missing.jpg", "outdated.jpg", "stale.jpg"]
    assert result.sent == 3
    assert result.drift.counts()[PhotoStatus.CURRENT] == result.drift.counts()[PhotoStatus.REJECTED] == 1


def test_without_stale_only_every_photo_is_sent_and_the_guard_decides(world: World) -> None:
    """A rejected photo too: naming its prefix is the user's explicit choice (it earns a new notice)."""
    for key in ("current.jpg", "missing.jpg"):
        world.upload(key)
    world.render("current.jpg")
    world.reject("rejected.jpg", world.upload("rejected.jpg"))

    run(world)

    assert world.message_keys() == ["current.jpg", "missing.jpg", "rejected.jpg"]


def test_a_dry_run_lists_what_would_be_sent_and_sends_nothing(world: World) -> None:
    world.upload("a.jpg")
    world.upload("b.jpg")

    result = run(world, dry_run=True)

    assert [photo.upload.key for photo in result.chosen] == ["a.jpg", "b.jpg"]
    assert result.sent == 0
    assert world.messages() == []


def test_more_than_a_thousand_uploads_are_all_listed_and_sent(world: World) -> None:
    keys = [f"album/{index:04}.jpg" for index in range(1001)]
    world.put_many(UPLOADS, keys)

    sqs = RecordingSqs()

    result = reprocess(world.s3, sqs, world.deployed, region=REGION, pacer=pacer(per_second=1000))  # type: ignore[arg-type]

    assert result.sent == 1001
    assert sqs.keys() == keys


def test_the_prefix_narrows_the_photos_sent(world: World) -> None:
    world.upload("album-1/a.jpg")
    world.upload("album-2/b.jpg")

    run(world, prefix="album-1/")

    assert world.message_keys() == ["album-1/a.jpg"]


def test_since_keeps_uploads_last_modified_at_or_after_it(world: World) -> None:
    world.upload("a.jpg")
    (listed,) = list_uploads(world.s3, UPLOADS)

    at = [item.key for item in list_uploads(world.s3, UPLOADS, since=listed.last_modified)]
    after = list(list_uploads(world.s3, UPLOADS, since=listed.last_modified + timedelta(microseconds=1)))

    assert (at, after) == (["a.jpg"], [])


def test_a_removed_upload_is_not_listed(world: World) -> None:
    world.upload("kept.jpg")
    world.upload("removed.jpg")
    world.s3.delete_object(Bucket=UPLOADS, Key="removed.jpg")

    assert [item.key for item in list_uploads(world.s3, UPLOADS)] == ["kept.jpg"]


def test_a_prefix_with_no_photos_is_refused_naming_it(world: World) -> None:
    world.upload("album/a.jpg")

    with pytest.raises(NoPhotosError, match="no photos under prefix 'albun/'"):
        run(world, prefix="albun/")
    assert world.messages() == []


def test_a_since_after_every_upload_is_refused_naming_it(world: World) -> None:
    world.upload("a.jpg")
    (listed,) = list_uploads(world.s3, UPLOADS)

    with pytest.raises(NoPhotosError, match="last modified since"):
        run(world, since=listed.last_modified + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("requested", "stack_prefix", "listed"),
    [(None, "", ""), ("a/", "", "a/"), ("up/a/", "up/", "up/a/"), ("u", "up/", "up/"), (None, "up/", "up/")],
)
def test_the_listing_prefix_stays_within_the_stacks_upload_prefix(
    requested: str | None, stack_prefix: str, listed: str
) -> None:
    assert listing_prefix(requested, stack_prefix) == listed


def test_a_prefix_outside_the_stacks_upload_prefix_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="outside the stack's UploadKeyPrefix 'up/'"):
        listing_prefix("other/", "up/")


def test_messages_go_in_batches_of_ten_paced_to_the_rate(world: World) -> None:
    clock = FakeClock()

    sent = send_messages(world.sqs, world.deployed.queue_url, [f"{n}" for n in range(25)], pacer(10, clock))

    assert sent == 25
    assert clock.sleeps == [1.0, 1.0]  # 10 at once, 10 a second later, the last 5 a second after that
    assert len(world.messages()) == 25


def test_a_pacer_refuses_a_rate_of_zero() -> None:
    with pytest.raises(InvalidInputError, match="allowed 0 < messages per second"):
        Pacer(0)


class FlakySqs:
    """SendMessageBatch that fails the first entry once, with a given fault."""

    def __init__(self, sender_fault: bool) -> None:
        self.sender_fault = sender_fault
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append([entry["Id"] for entry in Entries])
        if len(self.calls) == 1:
            failed = {"Id": Entries[0]["Id"], "SenderFault": self.sender_fault, "Code": "X", "Message": "no"}
            return {"Successful": [{"Id": e["Id"]} for e in Entries[1:]], "Failed": [failed]}
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def test_an_entry_sqs_failed_on_its_side_is_sent_again() -> None:
    sqs = FlakySqs(sender_fault=False)

    assert send_messages(sqs, "queue", ["a", "b"], pacer()) == 2  # type: ignore[arg-type]
    assert sqs.calls == [["0", "1"], ["0"]]


def test_an_entry_sqs_refuses_as_ours_stops_the_run_with_the_count_sent() -> None:
    with pytest.raises(RuntimeError, match=r"refused a reprocess message: X: no \(1 sent\)"):
        send_messages(FlakySqs(sender_fault=True), "queue", ["a", "b"], pacer())  # type: ignore[arg-type]


def test_resolve_reads_the_deployed_functions_settings_and_the_stacks_prefix(session: boto3.Session) -> None:
    build_world(session, upload_prefix="up/", environment={EnvVar.RENDITIONS: "large=800x600"})

    deployed = resolve(session, STACK)

    assert deployed.upload_prefix == "up/"
    assert deployed.rendition_names == ("large",)
    assert deployed.expected("up/a.jpg") == ("large/up/a.jpg",)


@pytest.mark.parametrize(
    "written", ["2026-11-29T03:00:00.000+0000", "2026-11-29T03:00:00.000000000Z", "2026-11-29T04:00:00+01:00"]
)
def test_the_functions_last_update_is_read_as_lambda_and_emulators_write_it(written: str) -> None:
    assert lambda_time(written) == datetime(2026, 11, 29, 3, tzinfo=UTC)


def test_resolve_refuses_a_stack_that_does_not_exist(session: boto3.Session) -> None:
    with pytest.raises(StackError, match="stack 'no-such-stack' does not exist"):
        resolve(session, "no-such-stack")


def test_a_rendition_written_since_the_function_settled_says_what_fingerprint_it_writes(
    session: boto3.Session,
) -> None:
    world = build_world(session, settled_at=LONG_AGO)
    (key, *_) = world.render("a.jpg", fingerprint="f00df00df00df00d")

    fingerprint = deployed_fingerprint(
        world.s3, world.deployed, list_objects(world.s3, world.deployed.processed_bucket)
    )

    assert (fingerprint.value, fingerprint.seen_on) == ("f00df00df00df00d", key)


def test_before_the_function_wrote_anything_the_fingerprint_is_computed_from_its_settings(
    world: World,
) -> None:
    world.render("a.jpg", fingerprint="f00df00df00df00d")  # written before the function settled

    fingerprint = deployed_fingerprint(
        world.s3, world.deployed, list_objects(world.s3, world.deployed.processed_bucket)
    )

    assert (fingerprint.value, fingerprint.seen_on) == (world.deployed.settings.fingerprint, None)


def test_the_cli_refuses_a_prefix_with_no_photos_with_exit_status_2(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.upload("album/a.jpg")

    with pytest.raises(SystemExit) as exit_:
        main(["reprocess", "--stack-name", STACK, "--prefix", "nothing-here/"])

    assert exit_.value.code == 2
    assert "no photos under prefix 'nothing-here/'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--since", "last tuesday", "is not an ISO 8601 time"),
        ("--since", "2999-01-01", "is in the future"),
        ("--rate", "0", "allowed 0 < messages per second"),
    ],
)
def test_the_cli_refuses_a_bad_option_with_exit_status_2(
    world: World, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["reprocess", "--stack-name", STACK, option, value])

    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_cli_refuses_a_stack_that_does_not_exist(
    session: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reprocess", "--stack-name", "no-such-stack"]) == 1
    assert "stack 'no-such-stack' does not exist" in capsys.readouterr().out


def test_the_cli_sends_and_prints_a_json_summary(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.upload("a.jpg")

    assert main(["--json", "reprocess", "--stack-name", STACK, "--rate", "1000"]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert (summary["uploads"], summary["sent"], summary["dry_run"]) == (1, 1, False)
    assert world.message_keys() == ["a.jpg"]
