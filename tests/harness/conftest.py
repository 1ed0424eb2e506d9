"""moto-backed AWS for the harness tests: fake credentials, one region, change sets that report outputs."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from harness.emulator.motocompat import patch_moto

REGION = "us-west-2"
DATA = Path(__file__).parent / "data"
MINI_TEMPLATE = DATA / "mini_template.json"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    patch_moto()
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A stand-in Lambda zip: deploy only uploads it, moto never runs it."""
    path = tmp_path / "photopipe-test.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("handler/__init__.py", "")
        archive.writestr("handler/app.py", "def lambda_handler(event, context):\n    return {}\n")
    return path
