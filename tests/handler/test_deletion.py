"""Deletion propagation (handler/removal.py): a photo has renditions exactly while its upload exists, in every
order S3 may deliver the events of one key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest

from fixtures.generate import fixture_bytes
from handler.config import ConfigError, Settings
from handler.constants import (
    DELETION_PROPAGATION_DISABLED,
    SKIP_REASON_DIMENSION,
    EnvVar,
    MetricName,
)
from handler.keys import rendition_keys
from handler.storage import META_SEQUENCER
from tests.support.faults import Counter, Fault

from .aws import PROCESSED, UPLOADS, Result, Upload, World

PHOTO = "jpeg-0.3mp"
KEY = "albums/summer/beach.jpg"


def _keys(world: World, key: str = KEY) -> set[str]:
    return set(rendition_keys(world.settings, key))


def _create(world: World, upload: Upload, deps: Any = None, settings: Settings | None = None) -> Result:
    return world.invoke(world.sqs_event((f"c-{upload.version_id}", world.body(upload))), deps, settings)


def _remove(world: World, removed: Upload, event_name: str = "ObjectRemoved:DeleteMarkerCreated") -> Result:
    body = world.removal(removed, event_name)
    return world.invoke(world.sqs_event((f"r-{removed.version_id}", body)))


def _outcome(result: Result) -> dict[str, float]:
    """What the record counted: ProcessedImages, ProcessedDeletions, or SkippedObjects by reason."""
    counts: dict[str, float] = {}
    for blob in result.emf:
        for name in (MetricName.PROCESSED_IMAGES, MetricName.PROCESSED_DELETIONS):
            if name in blob:
                counts[name] = counts.get(name, 0) + 1
        if MetricName.SKIPPED_OBJECTS in blob:
            reason = f"skipped:{blob[SKIP_REASON_DIMENSION]}"
            counts[reason] = counts.get(reason, 0) + 1
    assert result.response == {"batchItemFailures": []}, "no record of these is retried"
    return counts


def _sources(world: World) -> set[str]:
    return {item["metadata"]["source-version-id"] for item in world.renditions().values()}


DELETED = {MetricName.PROCESSED_DELETIONS: 1}
PROCESSED_ONE = {MetricName.PROCESSED_IMAGES: 1}
GONE = {"skipped:ObjectGone": 1}
STALE_REMOVAL = {"skipped:StaleRemoval": 1}


# ----------------------------------------------------------------------------------------- in order
@pytest.mark.parametrize("permanent", [False, True], ids=["delete-marker", "version-deleted"])
def test_a_removed_upload_loses_every_rendition(world: World, permanent: bool) -> None:
    upload = world.put(KEY, fixture_bytes(PHOTO))
    _create(world, upload)
    assert set(world.renditions()) == _keys(world)

    if permanent:
        result = _remove(world, world.remove(KEY, upload.version_id), "ObjectRemoved:Delete")
    else:
        result = _remove(world, world.remove(KEY))

    assert _outcome(result) == DELETED
    assert world.renditions() == {}
    assert world.notifications() == []


def test_create_delete_create_in_order_ends_with_the_new_photo(world: World) -> None:
    first = world.put(KEY, fixture_bytes(PHOTO))
    _create(world, first)
    _remove(world, world.remove(KEY))
    second = world.put(KEY, fixture_bytes("jpeg-orientation-3"))

    assert _outcome(_create(world, second)) == PROCESSED_ONE
    assert _sources(world) == {second.version_id}


# ----------------------------------------------------------------------------------------- out of order
def test_create_delete_create_delivered_backwards_ends_with_the_new_photo(world: World) -> None:
    first = world.put(KEY, fixture_bytes(PHOTO))
    removed = world.remove(KEY)
    second = world.put(KEY, fixture_bytes("jpeg-orientation-3"))

    assert _outcome(_create(world, second)) == PROCESSED_ONE
    assert _outcome(_remove(world, removed)) == STALE_REMOVAL, "the key has a newer upload"
    assert _outcome(_create(world, first)) == {"skipped:Stale": 1}, "older than the renditions"
    assert _sources(world) == {second.version_id}


def test_a_delete_before_its_create_arrives_writes_nothing(world: World) -> None:
    upload = world.put(KEY, fixture_bytes(PHOTO))
    removed = world.remove(KEY)  # the version still exists under the delete marker
    reads, writes = Counter("GetObject"), Counter("PutObject")

    assert _outcome(_create(world, upload, world.deps(reads, writes))) == GONE
    assert (reads.calls, writes.calls) == (0, 0), "not even briefly: a CDN could cache it"
    assert _outcome(_remove(world, removed)) == DELETED
    assert world.renditions() == {}


def test_an_event_for_a_replaced_version_is_not_rendered(world: World) -> None:
    old = world.put(KEY, fixture_bytes(PHOTO))
    world.put(KEY, fixture_bytes("jpeg-orientation-3"))  # its own event is still on the way
    reads, writes = Counter("GetObject"), Counter("PutObject")

    assert _outcome(_create(world, old, world.deps(reads, writes))) == GONE
    assert (reads.calls, writes.calls) == (0, 0)


def test_a_duplicate_removal_is_harmless(world: World) -> None:
    upload = world.put(KEY, fixture_bytes(PHOTO))
    _create(world, upload)
    removed = world.remove(KEY)

    assert _outcome(_remove(world, removed)) == DELETED
    assert _outcome(_remove(world, removed)) == DELETED, "nothing left to delete; nothing fails"
    assert world.renditions() == {}


def test_a_removal_older_than_the_renditions_keeps_them(world: World) -> None:
    """The key has no current object at either removal; the sequencers decide which removal applies."""
    world.put(KEY, fixture_bytes(PHOTO))
    older = world.remove(KEY)
    second = world.put(KEY, fixture_bytes("jpeg-orientation-3"))
    _create(world, second)
    newer = world.remove(KEY)

    assert _outcome(_remove(world, older)) == STALE_REMOVAL
    assert _sources(world) == {second.version_id}
    assert _outcome(_remove(world, newer)) == DELETED
    assert world.renditions() == {}


# ----------------------------------------------------------------------------------------- versions
def test_deleting_an_older_version_for_good_keeps_the_current_photos_renditions(world: World) -> None:
    old = world.put(KEY, fixture_bytes(PHOTO))
    new = world.put(KEY, fixture_bytes("jpeg-orientation-3"))
    _create(world, new)

    result = _remove(world, world.remove(KEY, old.version_id), "ObjectRemoved:Delete")

    assert _outcome(result) == STALE_REMOVAL
    assert _sources(world) == {new.version_id}


def test_deleting_the_rendered_version_for_good_removes_its_renditions(world: World) -> None:
    """Rolling back to an older version must not keep serving the deleted one (reconcile finds the gap)."""
    world.put(KEY, fixture_bytes(PHOTO))
    new = world.put(KEY, fixture_bytes("jpeg-orientation-3"))
    _create(world, new)

    result = _remove(world, world.remove(KEY, new.version_id), "ObjectRemoved:Delete")

    assert _outcome(result) == DELETED
    assert world.renditions() == {}


def test_a_removal_naming_a_version_that_still_exists_deletes_nothing(world: World) -> None:
    """Only a version S3 no longer has takes its renditions along: the event alone is not believed."""
    upload = world.put(KEY, fixture_bytes(PHOTO))
    _create(world, upload)

    result = _remove(world, upload, "ObjectRemoved:Delete")  # never deleted

    assert _outcome(result) == STALE_REMOVAL
    assert _sources(world) == {upload.version_id}


# ----------------------------------------------------------------------------------------- races
def _after_first(operation: str, action: Callable[[], None], calls: int = 1) -> Callable[[Any], None]:
    """A client hook that runs `action` once, right after the first `calls` `operation` calls answered."""
    answered: list[bool] = []

    def hook(**_: Any) -> None:
        answered.append(True)
        if len(answered) == calls:
            action()

    def install(client: Any) -> None:
        if client.meta.service_model.service_name == "s3":
            client.meta.events.register(f"after-call.s3.{operation}", hook)

    return install


def test_an_upload_removed_while_it_is_processed_keeps_no_rendition(world: World) -> None:
    """The removal's event was handled before the renditions existed; the create cleans up after itself."""
    upload = world.put(KEY, fixture_bytes(PHOTO))

    def user_deletes_and_removal_runs() -> None:
        _remove(world, world.remove(KEY))

    result = _create(world, upload, world.deps(_after_first("PutObject", user_deletes_and_removal_runs)))

    assert _outcome(result) == GONE
    assert world.renditions() == {}


def _before_first_delete_of(key: str, action: Callable[[], None]) -> Callable[[Any], None]:
    """A client hook that runs `action` once, just before the DeleteObject of `key` is sent."""
    done: list[bool] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        if not done and unquote(params.get("url_path", "")).endswith("/" + key):
            done.append(True)
            action()

    def install(client: Any) -> None:
        if client.meta.service_model.service_name == "s3":
            client.meta.events.register("before-call.s3.DeleteObject", hook)

    return install


def test_a_retry_after_the_check_after_the_writes_failed_still_cleans_up(world: World) -> None:
    """The removal ran after the look before the read, found nothing, and the look after the writes failed:
    the retry (a duplicate of what is stored) must not leave the renditions behind."""
    key = "albums/summer/beach.png"  # another extension than the renditions', so the fault hits the upload
    upload = world.put(key, fixture_bytes(PHOTO))

    def user_deletes_and_removal_runs() -> None:
        _remove(world, world.remove(key))

    # the renditions' HEADs (the guard), then the upload's before the read
    removal_runs = _after_first("HeadObject", user_deletes_and_removal_runs, calls=len(_keys(world, key)) + 1)
    check_after = Fault("HeadObject", "SlowDown", key=key, strikes={2})
    event = world.sqs_event(("c", world.body(upload)))
    first = world.invoke(event, world.deps(removal_runs, check_after))
    written = set(world.renditions())
    retried = world.invoke(event)

    assert (check_after.struck, first.response) == (1, {"batchItemFailures": [{"itemIdentifier": "c"}]})
    assert written == _keys(world, key), "the removal found nothing; the writes came after it"
    assert retried.response == {"batchItemFailures": []}
    assert world.renditions() == {}


def test_a_retry_after_a_failed_write_still_cleans_up(world: World) -> None:
    """The removal ran after the look before the read and found nothing; one write failed: the retry finds
    the upload gone and takes the rendition that was written."""
    key = "albums/summer/beach.png"
    upload = world.put(key, fixture_bytes(PHOTO))

    def user_deletes_and_removal_runs() -> None:
        _remove(world, world.remove(key))

    removal_runs = _after_first("HeadObject", user_deletes_and_removal_runs, calls=len(_keys(world, key)) + 1)
    failed_write = Fault("PutObject", "SlowDown", key=sorted(_keys(world, key))[0])
    event = world.sqs_event(("c", world.body(upload)))
    world.invoke(event, world.deps(removal_runs, failed_write))
    written = set(world.renditions())
    retried = world.invoke(event)

    assert written == _keys(world, key) - {sorted(_keys(world, key))[0]}
    assert _outcome(retried) == GONE
    assert world.renditions() == {}


def test_a_rendition_rewritten_during_a_removal_is_looked_at_again_not_deleted_blind(world: World) -> None:
    first = world.put(KEY, fixture_bytes(PHOTO))
    _create(world, first)
    removed = world.remove(KEY)
    rewritten = sorted(_keys(world))[0]
    newer = f"{int(removed.sequencer, 16) + 1000:018X}"

    def a_newer_upload_writes_it() -> None:
        world.s3.put_object(Bucket=PROCESSED, Key=rewritten, Body=b"newer", Metadata={META_SEQUENCER: newer})

    deps = world.deps(_before_first_delete_of(rewritten, a_newer_upload_writes_it))
    result = world.invoke(world.sqs_event(("r", world.removal(removed))), deps)

    assert _outcome(result) == DELETED
    assert set(world.renditions()) == {rewritten}
    assert world.renditions()[rewritten]["data"] == b"newer"


# ----------------------------------------------------------------------------------------- failures
def test_a_delete_that_fails_transiently_is_retried_and_then_applied(world: World) -> None:
    upload = world.put(KEY, fixture_bytes(PHOTO))
    _create(world, upload)
    removed = world.remove(KEY)
    event = world.sqs_event(("r", world.removal(removed)))

    failed = world.invoke(event, world.deps(Fault("DeleteObject", "SlowDown")))
    retried = world.invoke(event)

    assert failed.response == {"batchItemFailures": [{"itemIdentifier": "r"}]}
    assert world.notifications() == [], "an earlier receive is not notified"
    assert _outcome(retried) == DELETED
    assert world.renditions() == {}


# ----------------------------------------------------------------------------------------- disabled
def test_with_deletion_propagation_disabled_renditions_are_archived(world: World) -> None:
    settings = Settings.from_env(
        {
            EnvVar.PROCESSED_BUCKET: PROCESSED,
            EnvVar.ERROR_TOPIC_ARN: world.topic,
            EnvVar.DELETION_PROPAGATION: DELETION_PROPAGATION_DISABLED,
        }
    )
    upload = world.put(KEY, fixture_bytes(PHOTO))
    removed = world.remove(KEY)

    created = _create(world, upload, settings=settings)
    removal = world.invoke(world.sqs_event(("r", world.removal(removed))), settings=settings)

    assert _outcome(created) == PROCESSED_ONE, "a deleted upload is still rendered from its version"
    assert _outcome(removal) == {"skipped:NotACreateEvent": 1}
    assert set(world.renditions()) == _keys(world)


def test_a_bad_deletion_propagation_value_names_what_is_allowed() -> None:
    allowed = r"DELETION_PROPAGATION='yes' is not allowed: expected Enabled or Disabled"
    with pytest.raises(ConfigError, match=allowed):
        Settings.from_env({EnvVar.PROCESSED_BUCKET: UPLOADS, EnvVar.DELETION_PROPAGATION: "yes"})
