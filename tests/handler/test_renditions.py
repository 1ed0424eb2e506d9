"""Configured renditions and formats end to end in moto, and the guard that lets a settings change rewrite."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from fixtures.generate import fixture_bytes
from handler.config import Settings
from handler.constants import EnvVar
from handler.imaging import fit
from handler.keys import rendition_keys
from handler.storage import META_FINGERPRINT, META_SEQUENCER
from tests.support.faults import Counter

from .aws import World
from .conftest import decode

PHOTO = "jpeg-0.3mp"
THREE_BY_TWO = {
    EnvVar.RENDITIONS: "large=1024x768,medium=200x200,thumbnail=64x64",
    EnvVar.OUTPUT_FORMATS: "JPEG,WEBP",
}


def _configured(world: World, env: dict[EnvVar, str]) -> Settings:
    return Settings.from_env({EnvVar.PROCESSED_BUCKET: world.settings.processed_bucket, **env})


def _digests(world: World) -> dict[str, str]:
    return {key: hashlib.sha256(v["data"]).hexdigest() for key, v in world.renditions().items()}


def _skips(result: object) -> list[float]:
    return result.metric("SkippedObjects", Reason="Stale")  # type: ignore[attr-defined, no-any-return]


def test_three_renditions_in_two_formats_make_six_keys_each_in_its_box_and_format(world: World) -> None:
    settings = _configured(world, THREE_BY_TWO)
    upload = world.put("albums/a.jpg", fixture_bytes(PHOTO))

    result = world.invoke(world.sqs_event(("m-1", world.body(upload))), settings=settings)

    assert result.response == {"batchItemFailures": []}
    stored = world.renditions()
    assert set(stored) == set(rendition_keys(settings, upload.key))
    assert len(stored) == 6
    for key, item in stored.items():
        name, ext = key.split("/", 1)[0], key.rsplit(".", 1)[1]
        box = {spec.name: (spec.width, spec.height) for spec in settings.renditions}[name]
        img = decode(item["data"])
        assert (img.format, item["content_type"]) == (
            {"jpg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}[ext]
        )
        assert img.size == fit(decode(fixture_bytes(PHOTO)).size, box)
        assert item["metadata"][META_FINGERPRINT] == settings.fingerprint


def test_the_formats_of_one_rendition_share_its_size(world: World) -> None:
    settings = _configured(world, THREE_BY_TWO)
    upload = world.put("albums/a.jpg", fixture_bytes(PHOTO))

    world.invoke(world.sqs_event(("m-1", world.body(upload))), settings=settings)

    sizes = {key: decode(v["data"]).size for key, v in world.renditions().items()}
    for spec in settings.renditions:
        assert sizes[f"{spec.name}/albums/a.jpg"] == sizes[f"{spec.name}/albums/a.webp"]


def test_the_same_event_with_the_same_settings_is_skipped_after_one_look_per_rendition(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    world.invoke(world.sqs_event(("m-1", world.body(upload))))
    first = world.renditions()

    gets, puts = Counter("GetObject"), Counter("PutObject")
    result = world.invoke(world.sqs_event(("m-2", world.body(upload))), world.deps(gets, puts))

    assert _skips(result) == [1]
    assert (gets.calls, puts.calls) == (0, 0)
    assert world.renditions() == first


def test_the_same_event_under_another_fingerprint_rewrites_every_rendition(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    world.invoke(world.sqs_event(("m-1", world.body(upload))))
    before = _digests(world)
    requalified = replace(world.settings, output_quality=world.settings.output_quality - 20)

    result = world.invoke(world.sqs_event(("m-2", world.body(upload))), settings=requalified)

    assert _skips(result) == []
    after = world.renditions()
    assert {v["metadata"][META_FINGERPRINT] for v in after.values()} == {requalified.fingerprint}
    assert {v["metadata"][META_SEQUENCER] for v in after.values()} == {upload.sequencer}
    assert all(_digests(world)[key] != digest for key, digest in before.items())


def test_an_event_without_a_sequencer_rewrites_only_under_another_fingerprint(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    world.invoke(world.sqs_event(("m-1", world.body(upload))))
    requalified = replace(world.settings, output_quality=world.settings.output_quality - 20)

    same = world.invoke(world.sqs_event(("m-2", world.body(upload, sequencer=None))))
    other = world.invoke(world.sqs_event(("m-3", world.body(upload, sequencer=None))), settings=requalified)

    assert (_skips(same), _skips(other)) == ([1], [])
    assert {v["metadata"][META_FINGERPRINT] for v in world.renditions().values()} == {requalified.fingerprint}


def test_without_sequencers_another_upload_of_the_key_replaces_the_renditions(world: World) -> None:
    first = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    world.invoke(world.sqs_event(("m-1", world.body(first, sequencer=None))))
    second = world.put("a/photo.jpg", fixture_bytes("jpeg-orientation-3"))

    result = world.invoke(world.sqs_event(("m-2", world.body(second, sequencer=None))))

    assert _skips(result) == []
    assert {v["metadata"]["source-version-id"] for v in world.renditions().values()} == {second.version_id}


def test_an_older_event_stays_stale_whatever_the_fingerprint(world: World) -> None:
    old = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    new = world.put("a/photo.jpg", fixture_bytes("jpeg-orientation-3"))
    world.invoke(world.sqs_event(("m-new", world.body(new))))
    requalified = replace(world.settings, output_quality=world.settings.output_quality - 20)

    result = world.invoke(world.sqs_event(("m-old", world.body(old))), settings=requalified)

    assert _skips(result) == [1]
    assert {v["metadata"]["source-version-id"] for v in world.renditions().values()} == {new.version_id}


def test_a_retry_writes_only_the_renditions_still_missing(world: World) -> None:
    upload = world.put("a/photo.jpg", fixture_bytes(PHOTO))
    world.invoke(world.sqs_event(("m-1", world.body(upload))))
    [large, thumbnail] = rendition_keys(world.settings, upload.key)
    kept = world.renditions()[large]
    world.s3.delete_object(Bucket=world.settings.processed_bucket, Key=thumbnail)

    puts = Counter("PutObject")
    result = world.invoke(world.sqs_event(("m-2", world.body(upload))), world.deps(puts))

    assert (_skips(result), puts.calls) == ([], 1)
    assert set(world.renditions()) == {large, thumbnail}
    assert world.renditions()[large] == kept
