"""Fixtures shared by the reliability tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from fixtures.event_cases import body_for, photo
from tests.support.world import MotoWorld, aws_credentials


@pytest.fixture(scope="module")
def forkable_world() -> Iterator[MotoWorld]:
    """A moto world built once, warmed by one full run, for cases that fork a child per case.

    Each forked child gets a copy of this world (moto's state is in process memory), so a case pays for its
    own uploads and handler run only; nothing a child does reaches the parent or the next case.
    """
    with aws_credentials(), mock_aws():
        world = MotoWorld()
        warm = world.put("warm-up/photo.jpg", photo())
        world.invoke(world.sqs_event([("warm-up", body_for(warm, world.upload_bucket))]))
        for key in world.renditions():
            world.s3.delete_object(Bucket=world.processed_bucket, Key=key)
        world.s3.delete_object(Bucket=world.upload_bucket, Key=warm.key, VersionId=warm.version_id or "null")
        world.notifications()
        world.forget_notifications()
        yield world
