"""A rejected upload's version carries the tag `photopipe-rejected=<ErrorType>`, its own tags kept; tagging is
best effort and never changes the outcome or the notice the failure contract owes."""

from __future__ import annotations

import pytest

from fixtures.generate import fixture_bytes
from handler.constants import REJECTED_TAG_KEY
from handler.errors import ErrorType
from handler.rejection import MAX_OBJECT_TAGS, REJECTION_NOT_TAGGED, TagSetFullError, tags_with_rejection
from tests.support.faults import Counter, Fault

from .aws import UPLOADS, Upload, World

PHOTO = "jpeg-0.3mp"
NOT_AN_IMAGE = "text-png"


def _tags(world: World, upload: Upload) -> dict[str, str]:
    answer = world.s3.get_object_tagging(Bucket=UPLOADS, Key=upload.key, VersionId=upload.version_id)
    return {tag["Key"]: tag["Value"] for tag in answer["TagSet"]}


# ----------------------------------------------------------------------------------------- the rule
def test_the_mark_is_added_to_the_uploads_own_tags() -> None:
    tags = tags_with_rejection({"owner": "alice"}, ErrorType.NOT_AN_IMAGE)

    assert tags == {"owner": "alice", REJECTED_TAG_KEY: ErrorType.NOT_AN_IMAGE}


def test_an_earlier_mark_gets_the_new_error_type_even_in_a_full_tag_set() -> None:
    full = {f"t{n}": "v" for n in range(MAX_OBJECT_TAGS - 1)} | {REJECTED_TAG_KEY: ErrorType.CORRUPT_IMAGE}

    tags = tags_with_rejection(full, ErrorType.NOT_AN_IMAGE)

    assert tags == {**full, REJECTED_TAG_KEY: ErrorType.NOT_AN_IMAGE}


def test_a_full_tag_set_without_the_mark_is_refused_naming_the_limit() -> None:
    full = {f"t{n}": "v" for n in range(MAX_OBJECT_TAGS)}

    with pytest.raises(TagSetFullError, match=f"already has {MAX_OBJECT_TAGS} tags, S3's most"):
        tags_with_rejection(full, ErrorType.NOT_AN_IMAGE)


# ----------------------------------------------------------------------------------------- in moto
def test_a_rejected_upload_is_tagged_with_its_error_type(world: World) -> None:
    bad = world.put("a/bad.jpg", fixture_bytes(NOT_AN_IMAGE))

    result = world.invoke(world.sqs_event(("m-1", world.body(bad))))

    assert result.response == {"batchItemFailures": []}
    assert [n["errorType"] for n in world.notifications()] == [ErrorType.NOT_AN_IMAGE]
    assert _tags(world, bad) == {REJECTED_TAG_KEY: ErrorType.NOT_AN_IMAGE}


def test_the_uploads_own_tags_are_kept(world: World) -> None:
    bad = world.put("a/bad.jpg", fixture_bytes(NOT_AN_IMAGE))
    world.s3.put_object_tagging(
        Bucket=UPLOADS,
        Key=bad.key,
        VersionId=bad.version_id,
        Tagging={"TagSet": [{"Key": "owner", "Value": "alice"}, {"Key": "album", "Value": "trip"}]},
    )

    world.invoke(world.sqs_event(("m-1", world.body(bad))))

    assert _tags(world, bad) == {"owner": "alice", "album": "trip", REJECTED_TAG_KEY: ErrorType.NOT_AN_IMAGE}


def test_only_the_rejected_version_is_tagged(world: World) -> None:
    """A declared size over the limit is refused before the version is compared with the key's current one,
    so the rejected version here is no longer the current one: the tag must go to the version, not the key."""
    rejected = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    replacement = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    body = world.body(rejected, size=world.settings.max_input_bytes + 1)

    world.invoke(world.sqs_event(("m-1", body)))

    assert _tags(world, rejected) == {REJECTED_TAG_KEY: ErrorType.TOO_MANY_BYTES}
    assert _tags(world, replacement) == {}


def test_an_upload_over_the_byte_limit_is_tagged(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    body = world.body(upload, size=world.settings.max_input_bytes + 1)

    world.invoke(world.sqs_event(("m-1", body)))

    assert _tags(world, upload) == {REJECTED_TAG_KEY: ErrorType.TOO_MANY_BYTES}


def test_an_upload_whose_rendition_key_would_be_too_long_is_tagged(world: World) -> None:
    upload = world.put("a/" + "x" * 1010 + ".jpg", fixture_bytes(PHOTO))  # 1,016 bytes: S3 takes 1,024

    world.invoke(world.sqs_event(("m-1", world.body(upload))))

    assert [n["errorType"] for n in world.notifications()] == [ErrorType.KEY_TOO_LONG]
    assert _tags(world, upload) == {REJECTED_TAG_KEY: ErrorType.KEY_TOO_LONG}


@pytest.mark.parametrize("operation", ["GetObjectTagging", "PutObjectTagging"])
def test_a_tagging_failure_leaves_the_rejection_and_its_one_notice_and_is_logged(
    world: World, operation: str
) -> None:
    bad = world.put("a/bad.jpg", fixture_bytes(NOT_AN_IMAGE))

    result = world.invoke(world.sqs_event(("m-1", world.body(bad))), world.deps(Fault(operation, "SlowDown")))

    assert result.response == {"batchItemFailures": []}
    assert [n["errorType"] for n in world.notifications()] == [ErrorType.NOT_AN_IMAGE]
    assert _tags(world, bad) == {}
    [log] = [line for line in result.logs if line.get("message") == REJECTION_NOT_TAGGED]
    assert (log["error_type"], "SlowDown" in log["error"]) == (ErrorType.NOT_AN_IMAGE, True)


def test_an_upload_with_a_full_tag_set_keeps_it_and_the_failure_is_logged(world: World) -> None:
    bad = world.put("a/bad.jpg", fixture_bytes(NOT_AN_IMAGE))
    full = [{"Key": f"t{n}", "Value": "v"} for n in range(MAX_OBJECT_TAGS)]
    world.s3.put_object_tagging(
        Bucket=UPLOADS, Key=bad.key, VersionId=bad.version_id, Tagging={"TagSet": full}
    )

    result = world.invoke(world.sqs_event(("m-1", world.body(bad))))

    assert [n["errorType"] for n in world.notifications()] == [ErrorType.NOT_AN_IMAGE]
    assert _tags(world, bad) == {tag["Key"]: tag["Value"] for tag in full}
    assert [line["message"] for line in result.logs].count(REJECTION_NOT_TAGGED) == 1


def test_a_processed_photo_is_not_tagged(world: World) -> None:
    good = world.put("a/good.jpg", fixture_bytes(PHOTO))
    puts = Counter("PutObjectTagging")

    world.invoke(world.sqs_event(("m-1", world.body(good))), world.deps(puts))

    assert len(world.renditions()) == 2
    assert (puts.calls, _tags(world, good)) == (0, {})


def test_a_malformed_message_names_no_upload_and_tags_nothing(world: World) -> None:
    puts = Counter("PutObjectTagging")

    result = world.invoke(world.sqs_event(("m-1", "not a notification")), world.deps(puts))

    assert result.response == {"batchItemFailures": []}
    assert [n["errorType"] for n in world.notifications()] == [ErrorType.MALFORMED_EVENT]
    assert puts.calls == 0
