"""The catalogue itself: every case has a documented outcome, and its bytes are the same on every build."""

from __future__ import annotations

import hashlib

import pytest

from fixtures.catalogue import CATALOGUE, ImageCase, manifest
from fixtures.event_cases import EVENT_CASES
from handler.constants import SkipReason
from handler.errors import ErrorType

OUTCOMES = {"processed", "rejected", "skipped", "transient"}


def test_the_catalogue_covers_at_least_forty_cases() -> None:
    assert len(CATALOGUE) + sum(len(case.messages) for case in EVENT_CASES) >= 40
    assert len(CATALOGUE) >= 40


@pytest.mark.parametrize("entry", manifest(), ids=[c.name for c in CATALOGUE])
def test_every_image_case_documents_its_outcome(entry: dict[str, object]) -> None:
    assert entry["expected"] in OUTCOMES
    assert entry["why"]
    if entry["expected"] == "rejected":
        assert ErrorType(str(entry["error_type"]))
    else:
        assert entry["error_type"] is None
    if entry["expected"] == "processed":
        assert entry["width"], "the displayed size is what renditions are checked against"
        assert entry["height"], "the displayed size is what renditions are checked against"


def test_every_event_message_documents_its_outcome() -> None:
    for case in EVENT_CASES:
        for message in case.messages:
            assert message.expected in OUTCOMES, message
            if message.expected == "rejected":
                assert ErrorType(str(message.error_type)), message
            if message.expected == "skipped":
                assert SkipReason(str(message.reason)), message


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_a_case_builds_the_same_bytes_every_time(case: ImageCase) -> None:
    assert hashlib.sha256(case.build()).digest() == hashlib.sha256(case.build()).digest()
