"""The embedded local stack deployed with a list of its own: three renditions in two formats, each rendition
found under its own key with the fingerprint of the settings the function was deployed with."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fixtures.generate import fixture_bytes
from handler.config import Settings
from handler.keys import rendition_keys
from handler.storage import META_FINGERPRINT
from harness.contract import StackParameter
from harness.emulator import EmbeddedStack
from harness.outputs import StackOutput

pytestmark = pytest.mark.emulator

RENDITIONS = "large=1024x768,medium=640x640,thumbnail=256x256"
FORMATS = "JPEG,WEBP"
WAIT_S = 90.0


def test_a_deployed_list_of_three_renditions_in_two_formats_writes_all_six(tmp_path: Path) -> None:
    parameters = {
        StackParameter.RENDITIONS: RENDITIONS,
        StackParameter.OUTPUT_FORMATS: FORMATS,
        StackParameter.TIMEOUT: "15",
        StackParameter.MAXIMUM_CONCURRENCY: "2",
    }
    with EmbeddedStack(
        port=0, stack_name="photopipe-renditions", parameters=parameters, workdir=tmp_path
    ) as stack:
        session = stack.session()
        s3 = session.client("s3")
        function = session.client("lambda").get_function_configuration(
            FunctionName=stack.outputs[StackOutput.FUNCTION_NAME]
        )
        settings = Settings.from_env(function["Environment"]["Variables"])
        assert [spec.name for spec in settings.renditions] == ["large", "medium", "thumbnail"]
        assert settings.output_formats == ("JPEG", "WEBP")

        key = "albums/summer 1.jpg"
        s3.put_object(
            Bucket=stack.outputs[StackOutput.UPLOAD_BUCKET], Key=key, Body=fixture_bytes("jpeg-0.3mp")
        )
        expected = set(rendition_keys(settings, key))
        processed = stack.outputs[StackOutput.PROCESSED_BUCKET]
        deadline = time.monotonic() + WAIT_S
        found: set[str] = set()
        while time.monotonic() < deadline and found != expected:
            listed = s3.list_objects_v2(Bucket=processed).get("Contents", [])
            found = {item["Key"] for item in listed}
            time.sleep(0.3)

        assert found == expected
        assert len(found) == 6
        fingerprints = {s3.head_object(Bucket=processed, Key=k)["Metadata"][META_FINGERPRINT] for k in found}
        assert fingerprints == {settings.fingerprint}
