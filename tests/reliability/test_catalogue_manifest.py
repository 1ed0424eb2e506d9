"""The catalogue itself: every case has a documented outcome, and its bytes are the same on every build."""

from __future__ import annotations

import hashlib
import json

import pytest

from fixtures.catalogue import CATALOGUE, manifest
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


# The digest of every case's bytes, as reviewed. A change to a case, to the generator or to the encoders it
# runs shows here: rebuild, check that each changed case still shows what its `why` says, then update it.
CATALOGUE_SHA256 = "5201b9a0b809f3af9bff6b0d7fb2345e835cc0890e4bb11ef0995891f21e7d0e"


def test_the_catalogue_builds_the_bytes_it_was_reviewed_with() -> None:
    digests = {case.name: hashlib.sha256(case.build()).hexdigest() for case in CATALOGUE}
    whole = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()

    assert whole == CATALOGUE_SHA256, f"the cases' digests now: {digests}"
