"""The drift rules on their own: listings and rendition metadata in, each photo's status and orphans out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from handler.config import Settings
from handler.errors import ErrorType
from handler.keys import rendition_keys
from harness.drift import EXAMPLES, Listed, Made, PhotoStatus, compare, probe_targets, unrendered

SETTINGS = Settings(processed_bucket="processed", error_topic_arn="")
EXPECTED = partial(rendition_keys, SETTINGS)
CURRENT = SETTINGS.fingerprint
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
GRACE_ENDS = LONG_AGO + timedelta(days=300)


def upload(key: str, version: str | None = "v2", at: datetime = LONG_AGO) -> Listed:
    return Listed(key=key, etag='"e"', size=10, last_modified=at, version_id=version)


def renditions_of(*keys: str) -> list[Listed]:
    return [Listed(key=k, etag='"r"', size=5, last_modified=LONG_AGO) for key in keys for k in EXPECTED(key)]


def made(
    fingerprint: str | None = CURRENT, version: str | None = "v2", sequencer: str | None = "00A1"
) -> Made:
    return Made(fingerprint=fingerprint, sequencer=sequencer, version_id=version)


def status_of(
    photo: Listed,
    renditions: list[Listed],
    metadata: Made | None,
    pending_after: datetime | None = None,
    rejection: str | None = None,
) -> PhotoStatus:
    found = {photo.key: metadata} if metadata else {}
    rejected = {photo.key: rejection} if rejection else {}
    drift = compare([photo], renditions, EXPECTED, found, CURRENT, pending_after, rejected)
    return drift.photos[0].status


def test_a_photo_with_every_rendition_made_by_the_current_settings_is_current() -> None:
    assert status_of(upload("a.jpg"), renditions_of("a.jpg"), made()) is PhotoStatus.CURRENT


def test_a_photo_without_renditions_is_missing() -> None:
    assert status_of(upload("a.jpg"), [], None) is PhotoStatus.MISSING


def test_a_photo_lacking_one_of_its_rendition_keys_is_missing() -> None:
    assert status_of(upload("a.jpg"), renditions_of("a.jpg")[1:], made()) is PhotoStatus.MISSING


def test_a_photo_without_renditions_tagged_as_rejected_is_rejected_not_missing() -> None:
    assert status_of(upload("a.jpg"), [], None, rejection=ErrorType.NOT_AN_IMAGE) is PhotoStatus.REJECTED


def test_a_photo_with_some_renditions_is_judged_by_them_whatever_its_tag_says() -> None:
    some = renditions_of("a.jpg")[1:]
    every = renditions_of("a.jpg")

    assert status_of(upload("a.jpg"), some, made(), rejection=ErrorType.NOT_AN_IMAGE) is PhotoStatus.MISSING
    assert status_of(upload("a.jpg"), every, made(), rejection=ErrorType.NOT_AN_IMAGE) is PhotoStatus.CURRENT


def test_a_rejected_photo_is_rejected_even_within_its_grace() -> None:
    recent = upload("a.jpg", at=GRACE_ENDS + timedelta(seconds=1))

    assert status_of(recent, [], None, GRACE_ENDS, ErrorType.CORRUPT_IMAGE) is PhotoStatus.REJECTED


def test_rejected_photos_are_no_drift_and_are_counted_per_error_type() -> None:
    rejected = {
        "a.jpg": ErrorType.NOT_AN_IMAGE,
        "b.jpg": ErrorType.NOT_AN_IMAGE,
        "c.jpg": ErrorType.CORRUPT_IMAGE,
    }

    drift = compare([upload(key) for key in rejected], [], EXPECTED, {}, CURRENT, rejected=rejected)

    assert drift.found is False
    assert drift.examples()["rejected"] == ["a.jpg", "b.jpg", "c.jpg"]
    assert drift.rejections() == {ErrorType.CORRUPT_IMAGE: 1, ErrorType.NOT_AN_IMAGE: 2}


def test_only_uploads_without_any_rendition_are_unrendered() -> None:
    _, second = EXPECTED("a.jpg")

    bare = unrendered([upload("a.jpg"), upload("b.jpg")], {second}, EXPECTED)

    assert [item.key for item in bare] == ["b.jpg"]


def test_renditions_made_from_another_version_of_the_upload_are_outdated() -> None:
    assert status_of(upload("a.jpg"), renditions_of("a.jpg"), made(version="v1")) is PhotoStatus.OUTDATED


def test_a_version_unknown_on_either_side_never_makes_a_photo_outdated() -> None:
    assert status_of(upload("a.jpg", version=None), renditions_of("a.jpg"), made(version="v1")) is (
        PhotoStatus.CURRENT
    )
    assert status_of(upload("a.jpg"), renditions_of("a.jpg"), made(version=None)) is PhotoStatus.CURRENT


def test_renditions_made_with_other_settings_are_stale() -> None:
    assert status_of(upload("a.jpg"), renditions_of("a.jpg"), made(fingerprint="0" * 16)) is PhotoStatus.STALE


def test_renditions_that_record_no_fingerprint_are_stale() -> None:
    assert status_of(upload("a.jpg"), renditions_of("a.jpg"), made(fingerprint=None)) is PhotoStatus.STALE


def test_a_photo_newer_than_the_grace_cut_off_is_pending_rather_than_missing() -> None:
    recent = upload("a.jpg", at=GRACE_ENDS + timedelta(seconds=1))
    assert status_of(recent, [], None, pending_after=GRACE_ENDS) is PhotoStatus.PENDING


def test_a_current_photo_stays_current_within_the_grace() -> None:
    recent = upload("a.jpg", at=GRACE_ENDS + timedelta(seconds=1))
    assert status_of(recent, renditions_of("a.jpg"), made(), pending_after=GRACE_ENDS) is PhotoStatus.CURRENT


def test_renditions_no_upload_expects_are_orphans() -> None:
    deleted_upload = renditions_of("gone.jpg")
    unconfigured_format = Listed(key="large/a.webp", etag='"w"', size=5, last_modified=LONG_AGO)

    drift = compare(
        [upload("a.jpg")],
        [*renditions_of("a.jpg"), *deleted_upload, unconfigured_format],
        EXPECTED,
        {"a.jpg": made()},
        CURRENT,
    )

    assert sorted(orphan.key for orphan in drift.orphans) == sorted(
        [*(item.key for item in deleted_upload), "large/a.webp"]
    )


def test_only_missing_outdated_stale_and_orphans_are_drift() -> None:
    pending = upload("new.jpg", at=GRACE_ENDS + timedelta(seconds=1))
    calm = compare(
        [upload("a.jpg"), pending], renditions_of("a.jpg"), EXPECTED, {"a.jpg": made()}, CURRENT, GRACE_ENDS
    )
    missing = compare([upload("a.jpg")], [], EXPECTED, {}, CURRENT)
    orphaned = compare([], renditions_of("gone.jpg"), EXPECTED, {}, CURRENT)

    assert (calm.found, missing.found, orphaned.found) == (False, True, True)


def test_counts_cover_every_status_and_the_orphans() -> None:
    drift = compare(
        [upload("a.jpg"), upload("b.jpg"), upload("c.jpg"), upload("d.jpg")],
        [*renditions_of("a.jpg"), *renditions_of("c.jpg"), *renditions_of("gone.jpg")],
        EXPECTED,
        {"a.jpg": made(), "c.jpg": made(fingerprint="old")},
        CURRENT,
        rejected={"d.jpg": ErrorType.TOO_MANY_PIXELS},
    )

    assert drift.counts() == {
        "uploads": 4,
        "current": 1,
        "missing": 1,
        "outdated": 0,
        "stale": 1,
        "pending": 0,
        "rejected": 1,
        "orphans": len(EXPECTED("gone.jpg")),
    }


def test_examples_are_a_few_keys_per_category() -> None:
    keys = [f"photo-{index:02}.jpg" for index in range(EXAMPLES + 3)]
    drift = compare([upload(key) for key in keys], [], EXPECTED, {}, CURRENT)

    assert drift.examples()["missing"] == keys[:EXAMPLES]


def test_a_reprocess_carries_the_sequencer_its_renditions_store() -> None:
    drift = compare(
        [upload("a.jpg"), upload("b.jpg")],
        renditions_of("a.jpg"),
        EXPECTED,
        {"a.jpg": made(sequencer="0055AE")},
        CURRENT,
    )

    assert [photo.sequencer for photo in drift.photos] == ["0055AE", None]


def test_a_reprocess_of_a_newer_version_carries_no_sequencer_of_the_older_ones_renditions() -> None:
    drift = compare(
        [upload("a.jpg", version="v2")],
        renditions_of("a.jpg"),
        EXPECTED,
        {"a.jpg": made(version="v1", sequencer="0055AE")},
        CURRENT,
    )

    assert drift.photos[0].sequencer is None


def test_the_probe_of_a_photo_is_its_first_rendition_key_that_exists() -> None:
    _, second = EXPECTED("a.jpg")
    stored = {second, *EXPECTED("b.jpg")}

    targets = probe_targets([upload("a.jpg"), upload("b.jpg"), upload("c.jpg")], stored, EXPECTED)

    assert targets == {"a.jpg": second, "b.jpg": EXPECTED("b.jpg")[0]}
