"""Hypothesis properties: whatever arrives, only documented outcomes come out.

Small budget in `nox -s tests` (profile `default`), large in `nox -s fuzz` (profile `fuzz`); both are
registered in tests/conftest.py.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from PIL import Image

from fixtures.catalogue import _heif_bytes, _photo
from fixtures.event_cases import s3_record
from handler.constants import DEFAULT_MAX_PIXELS, DEFAULT_RENDITIONS
from handler.errors import ErrorType, PermanentError
from handler.events import ObjectEvent, parse_body
from handler.imaging import OutputSpec, make_renditions
from tests.support.world import MotoWorld, aws_credentials

pytestmark = pytest.mark.fuzz

SPECS = DEFAULT_RENDITIONS
OUTPUT = OutputSpec(format="JPEG", quality=85)
# One moto world for all examples of a test: building it per example would spend the budget on setup.
PER_TEST = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# ------------------------------------------------------------------------------------------ event parsing
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=16,
)
event_names = st.sampled_from(
    [
        "ObjectCreated:Put",
        "ObjectCreated:Copy",
        "ObjectCreated:CompleteMultipartUpload",
        "ObjectRemoved:Delete",
        "s3:TestEvent",
        "ObjectRestore:Completed",
    ]
) | st.text(max_size=30)


@st.composite
def s3_shaped_bodies(draw: st.DrawFn) -> str:
    """Bodies that look like S3 notifications with any field replaced by something odd."""
    record: dict[str, Any] = s3_record(
        bucket=draw(st.text(min_size=0, max_size=70)),
        key=draw(st.text(min_size=0, max_size=300)),
        event_name=draw(event_names),
        size=draw(st.none() | st.integers(min_value=-(2**63), max_value=2**64)),
        version_id=draw(st.none() | st.text(max_size=40)),
        sequencer=draw(st.text(max_size=30)),
        encoded_key=draw(st.none() | st.text(alphabet="%abcdefABCDEF0123456789+/ ", max_size=60)),
    )
    for path in draw(
        st.lists(
            st.sampled_from(
                [
                    "s3",
                    "s3.object",
                    "s3.bucket",
                    "eventName",
                    "eventTime",
                    "s3.object.key",
                    "s3.object.size",
                    "eventSource",
                ]
            ),
            max_size=3,
        )
    ):
        target: Any = record
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        if isinstance(target, dict):
            target[leaf] = draw(json_values)
    records = [record] * draw(st.integers(min_value=0, max_value=2))
    return json.dumps({"Records": records})


bodies = s3_shaped_bodies() | json_values.map(json.dumps) | st.text(max_size=200)


@given(body=bodies)
def test_any_body_parses_to_notices_or_a_malformed_event(body: str) -> None:
    error = _escaped(lambda: parse_body(body))

    assert error is None or (
        isinstance(error, PermanentError) and error.error_type == ErrorType.MALFORMED_EVENT
    ), repr(error)


BUCKET_NAMES = st.from_regex(r"[a-z0-9][a-z0-9.-]{2,62}", fullmatch=True)


@given(key=st.text(min_size=1, max_size=300), bucket=BUCKET_NAMES)
def test_any_key_survives_s3_encoding(key: str, bucket: str) -> None:
    """S3 URL-encodes keys (spaces as '+'); whatever the key, the parser gives back exactly that key."""
    [notice] = parse_body(json.dumps({"Records": [s3_record(bucket=bucket, key=key)]}))

    assert isinstance(notice, ObjectEvent)
    assert (notice.bucket, notice.key) == (bucket, key)


@pytest.fixture
def world() -> Iterator[MotoWorld]:
    with aws_credentials(), mock_aws():
        yield MotoWorld()


@PER_TEST
@given(batch=st.lists(bodies, min_size=1, max_size=5))
def test_any_sqs_body_gets_a_documented_outcome(world: MotoWorld, batch: list[str]) -> None:
    ids = [f"m{i}" for i in range(len(batch))]
    event = world.sqs_event(list(zip(ids, batch, strict=True)))

    invocation = world.invoke(event)

    assert isinstance(invocation.response, dict)
    assert set(invocation.response) == {"batchItemFailures"}
    assert set(invocation.failed_ids) <= set(ids), "only the batch's own messages can be reported"
    for note in world.notifications():
        assert note["errorType"] in {e.value for e in ErrorType}


def _escaped(call: Callable[[], object]) -> BaseException | None:
    """The exception `call` lets escape, if any (the properties are about which ones may)."""
    try:
        call()
    except Exception as error:
        return error
    return None


def _is_documented(error: BaseException | None) -> bool:
    return error is None or (isinstance(error, PermanentError) and error.error_type in set(ErrorType))


@PER_TEST
@given(event=json_values)
def test_any_event_shape_is_refused_cleanly(world: MotoWorld, event: Any) -> None:
    """Not an SQS batch nor an S3 event: a documented refusal (PermanentError) or an answer, no crash."""
    error = _escaped(lambda: world.invoke(event))

    assert _is_documented(error), repr(error)


# ------------------------------------------------------------------------------------------ imaging
MODES = ["RGB", "RGBA", "L", "LA", "P", "1", "CMYK", "I;16", "PA"]
FORMATS = {
    "JPEG": {"RGB", "L", "CMYK"},
    "PNG": {"RGB", "RGBA", "L", "LA", "P", "1", "I;16"},
    "WEBP": {"RGB", "RGBA"},
    "GIF": {"P", "L"},
    "TIFF": {"RGB", "RGBA", "L", "CMYK", "I;16", "1"},
    "AVIF": {"RGB", "RGBA"},
    "HEIF": {"RGB"},
}
SWAPS = {5, 6, 7, 8}


@st.composite
def valid_images(draw: st.DrawFn) -> tuple[bytes, int, int]:
    """(file bytes, displayed width, displayed height) of a random small image in a supported format."""
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(sorted(FORMATS[fmt])))
    small = fmt in {"AVIF", "HEIF"}  # their encoders are slow: keep those images small
    width = draw(st.integers(1, 400 if small else 2600))
    height = draw(st.integers(1, 400 if small else 2600))
    assume(width * height <= 3_000_000)
    rng = random.Random(draw(st.integers(0, 2**32)))
    base = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    patch = _photo(min(width, 64), min(height, 48))
    base.paste(patch, (rng.randrange(max(1, width - patch.width + 1)), 0))
    img = base.convert(mode) if mode not in {"I;16"} else base.convert("L").convert("I;16")
    orientation = draw(st.integers(1, 8)) if fmt in {"JPEG", "PNG", "WEBP", "TIFF"} else 1
    params: dict[str, Any] = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        exif[0x010F] = "Fuzz"
        params["exif"] = exif.tobytes()
    if fmt == "HEIF":
        data = _heif_bytes(img)
    else:
        buffer = io.BytesIO()
        img.save(buffer, format=fmt, **params)
        data = buffer.getvalue()
    shown = (height, width) if orientation in SWAPS else (width, height)
    return data, shown[0], shown[1]


@given(image=valid_images())
def test_renditions_fit_the_box_are_never_upscaled_and_carry_no_exif(image: tuple[bytes, int, int]) -> None:
    data, width, height = image

    renditions = make_renditions(data, SPECS, OUTPUT, max_pixels=DEFAULT_MAX_PIXELS)

    assert sorted(r.name for r in renditions) == sorted(s.name for s in SPECS)
    for rendition, spec in zip(
        sorted(renditions, key=lambda r: r.name), sorted(SPECS, key=lambda s: s.name), strict=True
    ):
        with Image.open(io.BytesIO(rendition.data)) as out:
            assert out.size == (rendition.width, rendition.height)
            assert (out.width <= spec.width, out.height <= spec.height) == (True, True), "inside the box"
            assert (out.width <= width, out.height <= height) == (True, True), "never upscaled"
            assert (len(out.getexif()), "exif" in out.info) == (0, False), "no EXIF"


@given(data=st.binary(max_size=4096))
def test_random_bytes_only_raise_permanent_errors(data: bytes) -> None:
    error = _escaped(lambda: make_renditions(data, SPECS, OUTPUT, max_pixels=DEFAULT_MAX_PIXELS))

    assert _is_documented(error), repr(error)


SEEDS = {fmt: None for fmt in FORMATS}


def _seed_image(fmt: str) -> bytes:
    if SEEDS.get(fmt) is None:
        img = _photo(96, 64)
        if fmt == "HEIF":
            SEEDS[fmt] = _heif_bytes(img)
        else:
            buffer = io.BytesIO()
            img.convert("P" if fmt == "GIF" else "RGB").save(buffer, format=fmt)
            SEEDS[fmt] = buffer.getvalue()
    seed = SEEDS[fmt]
    assert seed is not None
    return seed


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    """A valid small image of a supported format with bytes flipped, cut, or spliced."""
    data = bytearray(_seed_image(draw(st.sampled_from(sorted(FORMATS)))))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "zero-run"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip":
            data[position] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[position : position + 8] = bytes(8)
        if not data:
            break
    return bytes(data)


@given(data=mutated_images())
def test_damaged_images_only_raise_permanent_errors(data: bytes) -> None:
    error = _escaped(lambda: make_renditions(data, SPECS, OUTPUT, max_pixels=DEFAULT_MAX_PIXELS))

    assert _is_documented(error), repr(error)
