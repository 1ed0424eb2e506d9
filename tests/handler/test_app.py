"""The function end to end in moto: each record gets the outcome the failure contract owes it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from urllib.parse import quote

import pytest

from fixtures.generate import FIXTURES, Fixture, fixture_bytes
from handler.app import CALL_WORST_CASE_S, default_dependencies, process_event
from handler.constants import (
    ERROR_TYPE_DIMENSION,
    LARGE_RENDITION,
    METRICS_NAMESPACE,
    RENDITION_WRITTEN_AT_METADATA,
    SERVICE_DIMENSION,
    SKIP_REASON_DIMENSION,
    THUMBNAIL_RENDITION,
    MetricName,
)
from handler.errors import ErrorType
from handler.keys import rendition_key
from handler.storage import CACHE_CONTROL
from harness.contract import StackParameter
from harness.params import load_template
from tests.support.faults import KINDS, NOT_THE_PHOTOS_FAULT, Counter, Fault
from tests.support.lambda_context import InvocationContext

from .aws import PROCESSED, SERVICE, UPLOADS, World
from .conftest import decode

PHOTO = "jpeg-0.3mp"


def _keys(source: str) -> set[str]:
    return {rendition_key(name, source, "jpg") for name in (LARGE_RENDITION, THUMBNAIL_RENDITION)}


# ----------------------------------------------------------------------------------------- fixtures
@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_each_fixture_gets_the_outcome_its_manifest_names(world: World, fixture: Fixture) -> None:
    upload = world.put(f"albums/{fixture.filename}", fixture_bytes(fixture.name))

    result = world.invoke(world.sqs_event(("m-1", world.body(upload))))

    assert result.response == {"batchItemFailures": []}
    renditions = world.renditions()
    notes = world.notifications()
    if fixture.expected == "processed":
        assert set(renditions) == _keys(upload.key)
        assert notes == []
        assert result.metric(MetricName.PROCESSED_IMAGES) == [1]
        for stored in renditions.values():
            img = decode(stored["data"])
            assert (stored["content_type"], stored["cache_control"]) == ("image/jpeg", CACHE_CONTROL)
            metadata = dict(stored["metadata"])
            assert metadata.pop(RENDITION_WRITTEN_AT_METADATA).endswith("Z")  # its value: test_storage.py
            assert metadata == {
                "source-bucket": UPLOADS,
                "source-key": quote(upload.key, safe="/"),
                "source-version-id": upload.version_id,
                "source-etag": upload.etag,
                "source-sequencer": upload.sequencer,
                "settings-fingerprint": world.settings.fingerprint,
                "width": str(img.width),
                "height": str(img.height),
            }
    else:
        assert renditions == {}
        [note] = notes
        assert note == {
            "bucket": UPLOADS,
            "key": upload.key,
            "versionId": upload.version_id,
            "errorType": fixture.error_type,
            "reason": note["reason"],
            "requestId": "req-1",
            "time": note["time"],
            "_attribute": fixture.error_type,
        }
        assert note["reason"]
        assert result.metric(
            MetricName.PROCESSING_ERRORS, **{ERROR_TYPE_DIMENSION: str(fixture.error_type)}
        ) == [1]


# ----------------------------------------------------------------------------------------- batches
def test_one_record_per_outcome_in_one_batch_and_only_the_transient_one_fails(world: World) -> None:
    good = world.put("a/good.jpg", fixture_bytes(PHOTO))
    bad = world.put("a/bad.jpg", fixture_bytes("random-bytes-jpg"))
    flaky = world.put("a/flaky.jpg", fixture_bytes(PHOTO))
    fault = Fault("GetObject", "SlowDown", key=flaky.key)
    event = world.sqs_event(
        ("m-good", world.body(good)),
        ("m-bad", world.body(bad)),
        ("m-flaky", world.body(flaky)),
        ("m-junk", "not json"),
    )

    result = world.invoke(event, world.deps(fault))

    assert result.response == {"batchItemFailures": [{"itemIdentifier": "m-flaky"}]}
    assert set(world.renditions()) == _keys(good.key)
    assert sorted((n["errorType"], n["key"]) for n in world.notifications()) == [
        (ErrorType.MALFORMED_EVENT, None),
        (ErrorType.NOT_AN_IMAGE, bad.key),
    ]


@pytest.mark.parametrize("kind", NOT_THE_PHOTOS_FAULT)
def test_a_denied_call_or_an_unforeseen_aws_answer_is_retried_never_rejected(world: World, kind: str) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    fault = Fault("PutObject", kind)

    result = world.invoke(world.sqs_event(("m-1", world.body(upload))), world.deps(fault))

    assert result.response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert world.notifications() == []
    assert result.metric(MetricName.PROCESSING_ERRORS) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("operation", ["GetObject", "PutObject", "HeadObject"])
def test_an_s3_fault_is_a_batch_item_failure_and_nothing_else(
    world: World, operation: str, kind: str
) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    fault = Fault(operation, kind)

    result = world.invoke(world.sqs_event(("m-1", world.body(upload))), world.deps(fault))

    # The two renditions' HEADs (and PUTs) go out side by side, so both meet the fault.
    assert fault.struck == (1 if operation == "GetObject" else 2)
    assert result.response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert world.renditions() == {}
    assert world.notifications() == []
    assert result.metric(MetricName.PROCESSING_ERRORS) == []
    assert result.metric(MetricName.PROCESSED_IMAGES) == []


def test_the_last_receive_is_notified_before_the_record_goes_to_the_dlq(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    event = world.sqs_event(("m-1", world.body(upload)), receive_count=world.settings.max_receive_count)

    result = world.invoke(event, world.deps(Fault("GetObject", "InternalError")))

    assert result.response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    [note] = world.notifications()
    assert (note["errorType"], note["key"], note["versionId"]) == (
        ErrorType.RETRIES_EXHAUSTED,
        upload.key,
        upload.version_id,
    )
    assert "InternalError" in note["reason"]
    errors = result.metric(
        MetricName.PROCESSING_ERRORS, **{ERROR_TYPE_DIMENSION: ErrorType.RETRIES_EXHAUSTED}
    )
    assert errors == [1]


def test_an_earlier_receive_is_not_notified(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    event = world.sqs_event(("m-1", world.body(upload)), receive_count=world.settings.max_receive_count - 1)

    world.invoke(event, world.deps(Fault("GetObject", "InternalError")))

    assert world.notifications() == []


def test_a_rejection_whose_notice_cannot_be_sent_is_retried(world: World) -> None:
    bad = world.put("a/bad.jpg", fixture_bytes("text-png"))

    result = world.invoke(
        world.sqs_event(("m-1", world.body(bad))), world.deps(Fault("Publish", "Throttled"))
    )

    assert result.response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert world.notifications() == []


# ----------------------------------------------------------------------------------------- skips
def _skips(result: object) -> dict[str, float]:
    from .aws import Result

    assert isinstance(result, Result)
    counts: dict[str, float] = {}
    for blob in result.emf:
        if MetricName.SKIPPED_OBJECTS in blob:
            counts[blob[SKIP_REASON_DIMENSION]] = counts.get(blob[SKIP_REASON_DIMENSION], 0) + 1
    return counts


def test_not_photos_to_process_are_skipped_with_a_reason_and_no_notice(world: World) -> None:
    kept = world.put("a/kept.jpg", fixture_bytes(PHOTO))
    gone = world.put("a/gone.jpg", fixture_bytes(PHOTO))
    world.s3.delete_object(Bucket=UPLOADS, Key=gone.key, VersionId=gone.version_id)
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": UPLOADS})
    event = world.sqs_event(
        ("m-test", test_event),
        ("m-restore", world.body(kept, event_name="ObjectRestore:Completed")),
        ("m-gone", world.body(gone)),
    )

    result = world.invoke(event)

    assert result.response == {"batchItemFailures": []}
    assert _skips(result) == {"TestEvent": 1, "NotACreateEvent": 1, "ObjectGone": 1}
    assert world.notifications() == []
    assert world.renditions() == {}


def test_an_object_over_the_byte_limit_is_rejected_without_downloading_it(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    gets = Counter("GetObject")
    body = world.body(upload, size=world.settings.max_input_bytes + 1)

    world.invoke(world.sqs_event(("m-1", body)), world.deps(gets))

    assert gets.calls == 0
    assert [n["errorType"] for n in world.notifications()] == [ErrorType.TOO_MANY_BYTES]


def test_an_object_over_the_byte_limit_is_caught_from_its_length_when_the_event_has_no_size(
    world: World,
) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    small = World.__new__(World)  # same world, lower limit
    settings = type(world.settings)(**{**_fields(world.settings), "max_input_bytes": upload.size - 1})
    del small
    body = world.body(upload, size=None)

    world.invoke(world.sqs_event(("m-1", body)), settings=settings)

    assert [n["errorType"] for n in world.notifications()] == [ErrorType.TOO_MANY_BYTES]


def _fields(settings: object) -> dict[str, object]:
    from dataclasses import fields

    return {f.name: getattr(settings, f.name) for f in fields(settings)}  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------- order
def test_the_same_event_twice_gives_identical_bytes(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes("jpeg-phone-12mp"))
    world.invoke(world.sqs_event(("m-1", world.body(upload))))
    first = {k: hashlib.sha256(v["data"]).hexdigest() for k, v in world.renditions().items()}

    world.invoke(world.sqs_event(("m-2", world.body(upload))))

    assert {k: hashlib.sha256(v["data"]).hexdigest() for k, v in world.renditions().items()} == first


def test_an_older_event_never_overwrites_the_rendition_of_a_newer_one(world: World) -> None:
    old = world.put("a/photo.jpg", fixture_bytes("jpeg-0.3mp"))
    new = world.put("a/photo.jpg", fixture_bytes("jpeg-orientation-3"))
    world.invoke(world.sqs_event(("m-new", world.body(new))))

    gets = Counter("GetObject")
    result = world.invoke(world.sqs_event(("m-old", world.body(old))), world.deps(gets))

    assert _skips(result) == {"Stale": 1}
    assert gets.calls == 0, "a stale event is recognised before the download"
    assert {v["metadata"]["source-version-id"] for v in world.renditions().values()} == {new.version_id}


def test_a_newer_event_replaces_the_rendition_of_an_older_one(world: World) -> None:
    old = world.put("a/photo.jpg", fixture_bytes("jpeg-0.3mp"))
    new = world.put("a/photo.jpg", fixture_bytes("jpeg-orientation-3"))
    world.invoke(world.sqs_event(("m-old", world.body(old))))

    world.invoke(world.sqs_event(("m-new", world.body(new))))

    assert {v["metadata"]["source-version-id"] for v in world.renditions().values()} == {new.version_id}


def test_events_without_sequencers_still_write(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    world.invoke(world.sqs_event(("m-1", world.body(upload, sequencer=None))))

    assert set(world.renditions()) == _keys(upload.key)


# ----------------------------------------------------------------------------------------- metrics and logs
def test_a_processed_photo_emits_its_figures_as_emf(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))

    result = world.invoke(world.sqs_event(("m-1", world.body(upload))))

    [blob] = [b for b in result.emf if MetricName.PROCESSED_IMAGES in b]
    [directive] = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == METRICS_NAMESPACE
    assert [SERVICE_DIMENSION] in directive["Dimensions"]
    assert blob[SERVICE_DIMENSION] == SERVICE
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {
        MetricName.PROCESSED_IMAGES,
        MetricName.PROCESSING_TIME,
        MetricName.END_TO_END_LATENCY,
        MetricName.INPUT_BYTES,
        MetricName.OUTPUT_BYTES,
    }
    assert result.metric(MetricName.INPUT_BYTES) == [upload.size]
    assert result.metric(MetricName.OUTPUT_BYTES) == [
        sum(len(v["data"]) for v in world.renditions().values())
    ]
    [took] = result.metric(MetricName.PROCESSING_TIME)
    assert took > 0


def test_an_error_metric_carries_the_error_type_and_service_dimensions(world: World) -> None:
    bad = world.put("a/bad.jpg", fixture_bytes("zero-bytes"))

    result = world.invoke(world.sqs_event(("m-1", world.body(bad))))

    [blob] = [b for b in result.emf if MetricName.PROCESSING_ERRORS in b]
    [directive] = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == METRICS_NAMESPACE
    assert sorted(directive["Dimensions"][0]) == sorted([SERVICE_DIMENSION, ERROR_TYPE_DIMENSION])
    assert (blob[SERVICE_DIMENSION], blob[ERROR_TYPE_DIMENSION]) == (SERVICE, ErrorType.EMPTY_OBJECT)


def test_logs_are_json_with_the_request_bucket_and_key(world: World) -> None:
    bad = world.put("a/bad.jpg", fixture_bytes("random-bytes-jpg"))

    result = world.invoke(world.sqs_event(("m-1", world.body(bad))))

    [log] = [line for line in result.logs if line.get("message") == "rejected"]
    assert (log["request_id"], log["bucket"], log["key"], log["error_type"]) == (
        "req-1",
        UPLOADS,
        bad.key,
        ErrorType.NOT_AN_IMAGE,
    )


# ----------------------------------------------------------------------------------------- entry points
def test_a_direct_s3_event_is_processed_too(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))

    result = world.invoke(json.loads(world.body(upload)))

    assert result.response is None
    assert set(world.renditions()) == _keys(upload.key)


def test_the_entry_point_reads_settings_from_the_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handler.app as app

    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    monkeypatch.setenv("PROCESSED_BUCKET", PROCESSED)
    monkeypatch.setenv("OUTPUT_FORMATS", "WEBP")
    monkeypatch.setattr(app, "_settings", None)
    monkeypatch.setattr(app, "_deps", None)

    response = app.lambda_handler(world.sqs_event(("m-1", world.body(upload))), InvocationContext("req-x"))

    assert response == {"batchItemFailures": []}
    assert set(world.renditions()) == {"large/a/photo.webp", "thumbnail/a/photo.webp"}


def test_importing_the_handler_does_not_import_boto3() -> None:
    code = "import sys, handler.app; print('boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_malformed_message_is_notified_with_its_message_id(world: World) -> None:
    result = world.invoke(world.sqs_event(("m-junk", "{}")))

    assert result.response == {"batchItemFailures": []}
    [note] = world.notifications()
    assert (note["errorType"], note["bucket"], note["key"]) == (ErrorType.MALFORMED_EVENT, None, None)
    assert "m-junk" in note["reason"]


def test_a_bad_setting_fails_the_cold_start_with_its_name_and_value() -> None:
    env = {"PATH": "", "AWS_LAMBDA_FUNCTION_NAME": "photopipe", "PROCESSED_BUCKET": "b", "RENDITIONS": "wide"}
    out = subprocess.run(
        [sys.executable, "-c", "import handler.app"], capture_output=True, text=True, env=env
    )
    assert out.returncode != 0
    assert "ConfigError: RENDITIONS='wide' is not allowed" in out.stderr


def test_records_are_handed_back_when_the_invocation_is_nearly_out_of_time(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    context = InvocationContext("req-late", remaining_ms=1000)
    event = world.sqs_event(("m-1", world.body(upload)), ("m-2", world.body(upload)))

    response = process_event(event, context, world.settings, world.deps())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}
    assert world.renditions() == {}
    assert world.notifications() == [], "not the last receive: a later invocation will have time"


def test_a_record_handed_back_on_its_last_receive_is_notified_before_the_dlq(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    context = InvocationContext("req-late", remaining_ms=1000)
    event = world.sqs_event(("m-1", world.body(upload)), receive_count=world.settings.max_receive_count)

    response = process_event(event, context, world.settings, world.deps())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    [note] = world.notifications()
    assert (note["errorType"], note["key"]) == (ErrorType.RETRIES_EXHAUSTED, upload.key)
    assert "ran out of time" in note["reason"]


def test_default_clients_wait_3_s_to_connect_10_s_for_an_answer_and_try_three_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """botocore's defaults are 60 s each and the legacy retry mode: a silent S3 would hold an invocation."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    deps = default_dependencies()
    for client in (deps.s3, deps.sns):
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (3, 10)
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_one_silent_call_with_all_its_retries_ends_within_the_default_function_timeout() -> None:
    default_timeout_s = int(load_template()["Parameters"][StackParameter.TIMEOUT]["Default"])

    assert CALL_WORST_CASE_S == 3 * (3 + 10) + 1 + 2
    assert default_timeout_s > CALL_WORST_CASE_S
