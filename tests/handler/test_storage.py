"""The rendition writer: conditional on what it saw, so a concurrent writer cannot slip in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fixtures.generate import fixture_bytes
from handler.constants import RENDITION_WRITTEN_AT_METADATA
from handler.storage import CACHE_CONTROL, written_at
from tests.support.faults import Counter, Fault

from .aws import World


def test_a_write_that_lost_a_race_looks_again_and_then_writes(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes("jpeg-0.3mp"))
    lost = Fault("PutObject", "PreconditionFailed", strikes={1})
    heads = Counter("HeadObject")

    result = world.invoke(world.sqs_event(("m-1", world.body(upload))), world.deps(lost, heads))

    assert result.response == {"batchItemFailures": []}
    assert lost.struck == 1
    # one look per rendition, one more after the lost race, and the upload's current state before the read
    # and after the writes (handler/removal.py, rule 2)
    assert heads.calls == 2 + 1 + 2
    assert {v["cache_control"] for v in world.renditions().values()} == {CACHE_CONTROL}


def test_each_rendition_says_when_its_write_started(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes("jpeg-0.3mp"))
    before = datetime.now(UTC) - timedelta(milliseconds=1)  # the stamp is cut to the millisecond

    world.invoke(world.sqs_event(("m-1", world.body(upload))))

    after = datetime.now(UTC)
    stamps = [v["metadata"][RENDITION_WRITTEN_AT_METADATA] for v in world.renditions().values()]
    assert len(stamps) == 2
    assert all(before <= datetime.fromisoformat(stamp) <= after for stamp in stamps), stamps


def test_a_write_attempt_lost_to_a_race_is_stamped_again(world: World) -> None:
    from handler.events import ObjectEvent
    from handler.imaging import Rendition
    from handler.storage import Storage

    from .aws import PROCESSED

    ticks = iter(datetime(2026, 12, 1, 0, 0, n, tzinfo=UTC) for n in range(10))
    lost = Fault("PutObject", "PreconditionFailed", strikes={1})
    deps = world.deps(lost)
    storage = Storage(deps.s3, PROCESSED, clock=lambda: next(ticks))
    event = ObjectEvent("uploads", "a.jpg", None, 3, "e", "0A", "ObjectCreated:Put", None)
    rendition = Rendition("thumbnail", b"abc", 1, 1, "image/jpeg", "jpg")

    storage.write("thumbnail/a.jpg", rendition, event)

    stored = deps.s3.head_object(Bucket=PROCESSED, Key="thumbnail/a.jpg")["Metadata"]
    assert lost.struck == 1
    assert stored[RENDITION_WRITTEN_AT_METADATA] == "2026-12-01T00:00:01.000Z", "the second attempt's time"


def test_the_write_time_is_iso_8601_utc_to_the_millisecond() -> None:
    moment = datetime(2026, 12, 1, 3, 4, 5, 678_901, tzinfo=timezone(timedelta(hours=2)))
    assert written_at(moment) == "2026-12-01T01:04:05.678Z"


def test_a_denied_look_retries_the_record_instead_of_writing_blind(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes("jpeg-0.3mp"))
    denied = Fault("HeadObject", "AccessDenied")

    result = world.invoke(world.sqs_event(("m-1", world.body(upload))), world.deps(denied))

    assert result.response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert world.renditions() == {}


def test_a_failing_call_is_raised_only_after_its_siblings_have_finished() -> None:
    import threading
    import time

    from handler import storage

    finished = threading.Event()

    def call(item: int) -> int:
        if item == 0:
            raise RuntimeError("throttled")
        time.sleep(0.2)
        finished.set()
        return item

    with pytest.raises(RuntimeError, match="throttled"):
        storage._in_parallel(call, [0, 1])
    assert finished.is_set(), "a sibling write must not outlive the record's answer"


def test_a_forked_child_writes_with_a_pool_of_its_own() -> None:
    import os

    from handler import storage

    assert storage._in_parallel(lambda x: x * 2, [1, 2]) == [2, 4]  # the parent's pool exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, repr(storage._in_parallel(lambda x: x * 3, [1, 2])).encode())
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 100) == b"[3, 6]"
    assert status == 0
