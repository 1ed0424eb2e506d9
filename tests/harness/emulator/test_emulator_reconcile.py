"""Drift found and mended on the embedded local stack, through the CLI: photos uploaded or replaced while the
bucket notified nobody, a photo whose renditions were deleted, and a stray rendition are reported by
`reconcile`; `reprocess` and `reconcile --fix` send the photos through the built function again and delete
the stray; then `reconcile` reports no drift. A bad upload the function rejected (and tagged) is reported as
rejected throughout, never as drift, and never sent again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.generate import fixture_bytes
from handler.constants import REJECTED_TAG_KEY
from handler.errors import ErrorType
from handler.storage import META_VERSION
from harness.cli import main
from harness.emulator import EmbeddedStack
from harness.survey import Deployed, resolve
from tests.support.waiting import wait_for

pytestmark = pytest.mark.emulator

STACK = "photopipe-reconcile"
PROCESSED_NORMALLY = "albums/kept.jpg"
UPLOADED_UNNOTIFIED = ("lost/first photo.jpg", "lost/second.png")
RENDITIONS_DELETED = "albums/wiped.jpg"
REPLACED_UNNOTIFIED = "albums/replaced.jpg"
STRAY = "thumbnail/never-uploaded.jpg"
REJECTED = "albums/not-a-photo.jpg"


class Local:
    def __init__(self, stack: EmbeddedStack, capsys: pytest.CaptureFixture[str]) -> None:
        self.stack = stack
        self.capsys = capsys
        self.s3 = stack.session().client("s3")
        self.deployed: Deployed = resolve(stack.session(), STACK)

    def upload(self, key: str, fixture: str = "jpeg-0.3mp") -> str:
        """Upload `key`; returns the version id."""
        answer = self.s3.put_object(Bucket=self.deployed.upload_bucket, Key=key, Body=fixture_bytes(fixture))
        return str(answer["VersionId"])

    def stored(self) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.deployed.processed_bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def rendered(self, *keys: str) -> bool:
        stored = self.stored()
        return all(set(self.deployed.expected(key)) <= stored for key in keys)

    def made_from(self, key: str) -> set[str]:
        """The upload versions the renditions of `key` were made from."""
        bucket = self.deployed.processed_bucket
        heads = [self.s3.head_object(Bucket=bucket, Key=k) for k in self.deployed.expected(key)]
        return {head["Metadata"].get(META_VERSION, "") for head in heads}

    def rejection(self, key: str, version: str) -> str | None:
        """The ErrorType the version's rejection tag names, if it carries one."""
        tags = self.s3.get_object_tagging(Bucket=self.deployed.upload_bucket, Key=key, VersionId=version)
        return next((t["Value"] for t in tags["TagSet"] if t["Key"] == REJECTED_TAG_KEY), None)

    def cli(self, *arguments: str) -> tuple[int, dict[str, Any]]:
        self.capsys.readouterr()
        status = main(["--json", *arguments, "--stack-name", STACK, "--grace", "0", "--rate", "100"])
        return status, json.loads(self.capsys.readouterr().out)


@pytest.fixture
def local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Local]:
    parameters = {"Timeout": "15", "MaximumConcurrency": "2"}
    with EmbeddedStack(port=0, stack_name=STACK, parameters=parameters, workdir=tmp_path) as stack:
        monkeypatch.setenv("AWS_ENDPOINT_URL", stack.endpoint_url)  # the CLI's endpoint, restored afterwards
        monkeypatch.setenv("AWS_REGION", stack.region)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        yield Local(stack, capsys)


def test_drift_is_found_mended_and_then_gone(local: Local) -> None:
    s3, uploads = local.s3, local.deployed.upload_bucket
    local.upload(PROCESSED_NORMALLY)
    local.upload(RENDITIONS_DELETED)
    local.upload(REPLACED_UNNOTIFIED)
    bad = local.upload(REJECTED, fixture="text-png")
    wait_for(
        lambda: local.rendered(PROCESSED_NORMALLY, RENDITIONS_DELETED, REPLACED_UNNOTIFIED),
        "the first renditions",
    )
    wait_for(lambda: local.rejection(REJECTED, bad) == ErrorType.NOT_AN_IMAGE, "the rejected upload's tag")
    for key in local.deployed.expected(RENDITIONS_DELETED):
        s3.delete_object(Bucket=local.deployed.processed_bucket, Key=key)
    notification = s3.get_bucket_notification_configuration(Bucket=uploads)
    notification.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=uploads, NotificationConfiguration={})
    local.upload(UPLOADED_UNNOTIFIED[0])
    local.upload(UPLOADED_UNNOTIFIED[1], fixture="png-rgba")
    replacement = local.upload(REPLACED_UNNOTIFIED, fixture="webp")
    s3.put_bucket_notification_configuration(Bucket=uploads, NotificationConfiguration=notification)
    s3.put_object(Bucket=local.deployed.processed_bucket, Key=STRAY, Body=b"a rendition of nothing")

    status, found = local.cli("reconcile")

    assert status == 1
    assert found["examples"]["missing"] == sorted([RENDITIONS_DELETED, *UPLOADED_UNNOTIFIED])
    assert found["examples"]["outdated"] == [REPLACED_UNNOTIFIED]
    assert found["examples"]["orphans"] == [STRAY]
    assert found["examples"]["rejected"] == [REJECTED]
    assert found["rejections"] == {ErrorType.NOT_AN_IMAGE: 1}
    assert found["counts"]["current"] == 1

    status, reprocessed = local.cli("reprocess", "--prefix", "lost/", "--stale-only")

    assert (status, reprocessed["sent"]) == (0, len(UPLOADED_UNNOTIFIED))
    wait_for(lambda: local.rendered(*UPLOADED_UNNOTIFIED), "the renditions of the unnotified uploads")

    status, fixed = local.cli("reconcile", "--fix")

    assert (status, fixed["enqueued"], fixed["deleted"]) == (0, 2, 1)
    wait_for(lambda: local.rendered(RENDITIONS_DELETED), "the deleted renditions written again")
    wait_for(lambda: local.made_from(REPLACED_UNNOTIFIED) == {replacement}, "renditions of the replacement")

    status, after = local.cli("reconcile")

    assert (status, after["drift"]) == (0, False)
    assert (after["counts"]["uploads"], after["counts"]["current"], after["counts"]["rejected"]) == (6, 5, 1)
    assert STRAY not in local.stored()
