"""A photo's life after its upload: who is deleted or replaced, and what the read-back must show for them."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from handler.config import Settings
from handler.storage import META_ETAG, META_VERSION
from loadtests.accounting import Upload
from loadtests.lifecycle import (
    DELETE,
    KEEP,
    REUPLOAD,
    Deletion,
    account_lifecycle,
    choose_fate,
    is_fresh,
    judged_delete_share,
    made_from,
)


def _upload(key: str = "a.jpg", etag: str = "e2", version: str = "v2") -> Upload:
    return Upload(key, "up", "jpeg-0.3mp", "processed", 10, 100.0, 100.1, True, etag=etag, version_id=version)


def test_the_shares_of_deleted_and_replaced_photos_follow_the_knobs() -> None:
    rng = random.Random(7)
    fates = Counter(
        choose_fate(rng, "processed", delete_share=0.05, reupload_share=0.02) for _ in range(20_000)
    )
    assert fates[DELETE] / 20_000 == pytest.approx(0.05, abs=0.006)
    assert fates[REUPLOAD] / 20_000 == pytest.approx(0.02, abs=0.004)


def test_a_file_the_pipeline_rejects_is_never_deleted_or_replaced() -> None:
    rng = random.Random(7)
    assert {choose_fate(rng, "rejected", delete_share=0.5, reupload_share=0.5) for _ in range(100)} == {KEEP}


def test_a_rendition_is_made_from_an_upload_with_its_etag_and_its_version() -> None:
    assert made_from(_upload(), {META_ETAG: "e2", META_VERSION: "v2"})
    assert made_from(_upload(), {META_ETAG: '"e2"', META_VERSION: ""})  # an event without a version
    assert not made_from(_upload(), {META_ETAG: "e1", META_VERSION: "v2"})
    assert not made_from(_upload(), {META_ETAG: "e2", META_VERSION: "v1"})


def test_renditions_are_fresh_only_when_every_one_is_there_and_from_the_newest_upload() -> None:
    newest = {META_ETAG: "e2", META_VERSION: "v2"}
    older = {META_ETAG: "e1", META_VERSION: "v1"}
    assert is_fresh(_upload(), [newest, newest])
    assert not is_fresh(_upload(), [newest, older])
    assert not is_fresh(_upload(), [newest, None])
    assert not is_fresh(_upload(), [])


def _keys(source: str) -> list[str]:
    return [f"large/{source}", f"thumbnail/{source}"]


def test_a_deleted_photo_with_a_rendition_left_is_a_leftover_and_fails_the_run() -> None:
    deletions = [Deletion("a.jpg", 1.0, 1.1, True), Deletion("b.jpg", 1.0, 1.1, True)]
    result = account_lifecycle(deletions, [], present={"thumbnail/b.jpg"}, rendition_keys=_keys, fresh={})
    assert result.leftovers == ["b.jpg"]
    assert result.counts["deleted"] == 2
    assert result.verdicts == {"no rendition of a deleted photo left": False}


def test_a_replaced_photo_whose_renditions_were_not_found_fresh_is_stale() -> None:
    result = account_lifecycle(
        [], [_upload("a.jpg"), _upload("b.jpg")], present=set(), rendition_keys=_keys, fresh={"a.jpg": True}
    )
    assert result.stale == ["b.jpg"]
    assert result.verdicts == {"re-uploaded photos' renditions are from the newest upload": False}


def test_a_run_without_deletions_or_replacements_judges_neither() -> None:
    assert account_lifecycle([], [], present=set(), rendition_keys=_keys, fresh={}).verdicts == {}


def test_a_delete_s3_refused_fails_the_run_and_is_not_counted_as_deleted() -> None:
    refused = Deletion("a.jpg", 1.0, 1.1, False, "AccessDenied")
    result = account_lifecycle([refused], [], present={"large/a.jpg"}, rendition_keys=_keys, fresh={})
    assert result.failures == ["a.jpg"]
    assert result.leftovers == []
    assert result.verdicts == {"every delete and re-upload accepted": False}


def test_a_stack_that_keeps_removed_uploads_renditions_is_not_asked_to_delete_and_the_run_says_why() -> None:
    keeps = Settings(processed_bucket="p", error_topic_arn="", deletion_propagation=False)
    assert judged_delete_share(keeps, 0.05) == (
        0.0,
        "no photo deleted: the stack keeps the renditions of removed uploads (DeletionPropagation=Disabled)",
    )
    propagates = Settings(processed_bucket="p", error_topic_arn="")
    assert judged_delete_share(propagates, 0.05) == (0.05, None)
