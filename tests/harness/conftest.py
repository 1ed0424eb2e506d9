"""moto-backed AWS for the harness tests: fake credentials, one region, change sets that report outputs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from rich.console import Console

from harness.deploy import DeployResult, deploy
from harness.emulator.motocompat import patch_moto

REGION = "us-west-2"
DATA = Path(__file__).parent / "data"
MINI_TEMPLATE = DATA / "mini_template.json"
STACK = "photopipe-test"


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


def deploy_quietly(
    session: boto3.Session,
    package: Path,
    *,
    template: Path = MINI_TEMPLATE,
    parameters: Mapping[str, str] | None = None,
    console: Console | None = None,
) -> DeployResult:
    """Deploy `package` and `template` as the test stack, without waiting between polls or printing."""
    return deploy(
        session=session,
        stack_name=STACK,
        package_path=package,
        parameters=dict(parameters or {}),
        template_path=template,
        console=console or Console(file=io.StringIO()),
        poll_seconds=0.0,
    )
