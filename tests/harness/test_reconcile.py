"""`photopipe reconcile` against moto: drift reported with counts and examples, mended with --fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from handler.errors import ErrorType
from harness.cli import main
from harness.drift import PhotoStatus
from harness.reconcile import ReconcileResult, delete_orphan, reconcile
from harness.survey import list_objects

from .drift_world import PROCESSED, REGION, STACK, RecordingSqs, World, build_world, pacer


@pytest.fixture
def world(session: boto3.Session) -> World:
    return build_world(session)


def run(world: World, *, fix: bool = False, sqs: Any = None, **options: Any) -> ReconcileResult:
    options.setdefault("pending_after", None)
    return reconcile(
        world.s3, sqs or world.sqs, world.deployed, region=REGION, fix=fix, pacer=pacer(), **options
    )


def drifted(world: World) -> None:
    """One photo of each kind, one the function rejected, and the renditions of an upload that is gone."""
    for key in ("current.jpg", "missing.jpg", "outdated.jpg", "stale.jpg", "gone.jpg"):
        world.upload(key)
    world.reject("rejected.jpg", world.upload("rejected.jpg"))
    world.render("current.jpg")
    world.render("outdated.jpg", version="an-older-version")
    world.render("stale.jpg", fingerprint="0123456789abcdef")
    world.render("gone.jpg")
    world.s3.delete_object(Bucket=world.deployed.upload_bucket, Key="gone.jpg")


def test_drift_is_counted_per_kind_with_examples(world: World) -> None:
    drifted(world)

    result = run(world)

    report = result.to_json()
    orphans = sorted(world.deployed.expected("gone.jpg"))
    assert report["counts"] == {
        "uploads": 5,
        "current": 1,
        "missing": 1,
        "outdated": 1,
        "stale": 1,
        "pending": 0,
        "rejected": 1,
        "orphans": len(orphans),
    }
    assert report["examples"] == {
        "missing": ["missing.jpg"],
        "outdated": ["outdated.jpg"],
        "stale": ["stale.jpg"],
        "pending": [],
        "rejected": ["rejected.jpg"],
        "orphans": orphans,
    }
    assert report["rejections"] == {ErrorType.NOT_AN_IMAGE: 1}


def test_drift_found_and_not_fixed_exits_1(world: World) -> None:
    drifted(world)

    assert run(world).exit_status == 1


def test_no_drift_exits_0(world: World) -> None:
    world.upload("current.jpg")
    world.render("current.jpg")

    result = run(world)

    assert (result.drift.found, result.exit_status) == (False, 0)


def test_a_rejected_upload_is_no_drift_and_fix_sends_nothing(world: World) -> None:
    world.upload("current.jpg")
    world.render("current.jpg")
    world.reject("bad.jpg", world.upload("bad.jpg"), ErrorType.CORRUPT_IMAGE)

    result = run(world, fix=True)

    assert (result.drift.found, result.exit_status, result.enqueued) == (False, 0, 0)
    assert result.drift.rejections() == {ErrorType.CORRUPT_IMAGE: 1}
    assert world.messages() == []


def test_a_new_upload_of_a_rejected_key_is_missing_its_tag_was_the_old_versions(world: World) -> None:
    world.reject("photo.jpg", world.upload("photo.jpg"))
    world.upload("photo.jpg", b"a photo this time")

    result = run(world)

    assert [photo.status for photo in result.drift.photos] == [PhotoStatus.MISSING]


def test_an_upload_within_its_grace_is_pending_and_no_drift(world: World) -> None:
    world.upload("just-uploaded.jpg")

    result = run(world, pending_after=datetime.now(UTC) - timedelta(minutes=15))

    assert result.drift.counts()["pending"] == 1
    assert result.exit_status == 0


def test_fix_enqueues_the_missing_outdated_and_stale_and_deletes_the_orphans(world: World) -> None:
    drifted(world)

    result = run(world, fix=True)

    assert world.message_keys() == ["missing.jpg", "outdated.jpg", "stale.jpg"]  # never rejected.jpg
    assert world.stored() == {
        *world.deployed.expected("current.jpg"),
        *world.deployed.expected("outdated.jpg"),
        *world.deployed.expected("stale.jpg"),
    }
    assert (result.enqueued, result.deleted, result.exit_status) == (
        3,
        len(world.deployed.expected("gone.jpg")),
        0,
    )


def test_an_orphan_that_changed_since_it_was_listed_is_kept(world: World) -> None:
    (key, *_) = world.render("gone.jpg")
    (listed,) = [item for item in list_objects(world.s3, PROCESSED) if item.key == key]
    world.s3.put_object(Bucket=PROCESSED, Key=key, Body=b"a new upload's rendition, written since")

    assert delete_orphan(world.s3, PROCESSED, listed) is False
    assert key in world.stored()


def test_an_orphan_unchanged_since_it_was_listed_is_deleted(world: World) -> None:
    (key, *_) = world.render("gone.jpg")
    (listed,) = [item for item in list_objects(world.s3, PROCESSED) if item.key == key]

    assert delete_orphan(world.s3, PROCESSED, listed) is True
    assert key not in world.stored()


def test_more_than_a_thousand_renditions_are_listed_and_their_orphans_deleted(world: World) -> None:
    keys = [f"large/old/{index:04}.jpg" for index in range(1001)]
    world.put_many(PROCESSED, keys)
    world.upload("kept.jpg")
    sqs = RecordingSqs()

    result = run(world, fix=True, sqs=sqs)

    assert (result.drift.counts()["orphans"], result.deleted) == (1001, 1001)
    assert sqs.keys() == ["kept.jpg"]
    assert world.stored() == set()


def test_the_cli_reports_drift_as_json_and_exits_1(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    drifted(world)

    status = main(["--json", "reconcile", "--stack-name", STACK, "--grace", "0"])

    report = json.loads(capsys.readouterr().out)
    assert status == 1
    assert (report["drift"], report["fixed"], report["counts"]["missing"]) == (True, False, 1)
    assert report["fingerprint"] == {"value": world.deployed.settings.fingerprint, "source": "computed"}


def test_the_cli_fix_exits_0_and_says_what_it_did(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    drifted(world)

    status = main(["reconcile", "--stack-name", STACK, "--grace", "0", "--fix", "--rate", "1000"])

    assert status == 0
    orphans = len(world.deployed.expected("gone.jpg"))
    assert f"enqueued 3 photo(s), deleted {orphans} orphan(s)" in capsys.readouterr().out


def test_the_cli_names_the_rejected_per_error_type_and_finds_no_drift(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.reject("bad.jpg", world.upload("bad.jpg"))

    status = main(["reconcile", "--stack-name", STACK, "--grace", "0"])

    out = capsys.readouterr().out
    assert status == 0
    assert f"rejected by the function, not drift: {ErrorType.NOT_AN_IMAGE} 1" in out
    assert "no drift" in out


def test_the_cli_refuses_a_negative_grace(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["reconcile", "--stack-name", STACK, "--grace", "-1"])

    assert exit_.value.code == 2
    assert "must be a number of 0 or more" in capsys.readouterr().err
