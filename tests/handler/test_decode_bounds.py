"""Decoders get only what the function's memory is sized for, and running out of memory is not bad input.

The figures behind the limits are measured by `python -m harness.worstcase` (handler/capacity.py); these
tests prove the limits are enforced before any pixel is decoded, and that an allocation failure inside a
decoder is a retry (DecoderOutOfMemoryError), never a CorruptImage rejection.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pillow_heif
import pytest
from PIL import AvifImagePlugin, EpsImagePlugin, Image, ImageFile

from fixtures.catalogue import _webp_claiming
from fixtures.generate import fixture_bytes, photo
from handler.app import process_event
from handler.config import MAX_PIXELS_CEILING
from handler.constants import RenditionSpec
from handler.errors import DecoderOutOfMemoryError, ErrorType, PermanentError
from handler.imaging import OutputSpec, limits, make_renditions
from handler.imaging.decode import load_image, normalise_mode, open_image
from tests.support.lambda_context import InvocationContext

from .aws import World

SPECS = (RenditionSpec("large", 1024, 768), RenditionSpec("thumbnail", 256, 256))
JPEG = OutputSpec("JPEG", 85)


def _render(data: bytes, max_pixels: int = MAX_PIXELS_CEILING) -> None:
    make_renditions(data, SPECS, JPEG, max_pixels=max_pixels)


# ------------------------------------------------------------------------------------------ pixel limits
def test_no_format_is_decoded_beyond_the_limit_memory_is_sized_for() -> None:
    assert limits.DECODE_PIXEL_LIMIT <= 50_000_000
    assert MAX_PIXELS_CEILING == limits.DECODE_PIXEL_LIMIT, "MAX_PIXELS cannot promise more than decoders get"
    assert all(limit <= limits.DECODE_PIXEL_LIMIT for limit in limits.FORMAT_PIXEL_LIMITS.values())


def test_a_webp_over_its_decoders_limit_is_refused_before_its_canvas_exists() -> None:
    data = _webp_claiming(6000, 5000)  # 30 MP: under MAX_PIXELS at its ceiling, over the WebP decoder's 25 MP
    with pytest.raises(PermanentError) as caught:
        _render(data)
    assert caught.value.error_type == ErrorType.TOO_MANY_PIXELS
    assert "25,000,000" in caught.value.reason


def test_a_format_over_its_decoder_limit_is_refused_whatever_max_pixels_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(limits.FORMAT_PIXEL_LIMITS, "HEIF", 1000)
    loads: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self))
    with pytest.raises(PermanentError) as caught:
        open_image(fixture_bytes("heic"))
    assert caught.value.error_type == ErrorType.TOO_MANY_PIXELS
    assert "HEIF decoder's limit of 1,000" in caught.value.reason
    assert loads == [], "no pixel was decoded"


# ------------------------------------------------------------------------------------------ decoders
def test_heif_and_avif_decode_with_a_fixed_number_of_threads() -> None:
    assert pillow_heif.options.DECODE_THREADS == limits.DECODER_THREADS
    assert AvifImagePlugin.DEFAULT_MAX_THREADS == limits.DECODER_THREADS
    assert pillow_heif.options.DEPTH_IMAGES is False
    assert pillow_heif.options.AUX_IMAGES is False


def _png16(values: list[int]) -> bytes:
    img = Image.new("I;16", (len(values), 1))
    img.putdata(values)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_16_bit_grey_png_is_unpacked_straight_to_8_bits() -> None:
    data = _png16([0, 257, 32896, 65535])
    img = open_image(data)
    load_image(img, data)
    assert img.mode == "L", "one byte per pixel from the decoder, not 16-bit samples widened to 32"
    assert list(img.tobytes()) == [0, 1, 128, 255]


def test_16_bit_grey_from_other_decoders_is_scaled_into_8_bits() -> None:
    img = Image.new("I;16", (3, 1))
    img.putdata([0, 32896, 65535])
    assert list(normalise_mode(img).tobytes()) == [0, 128, 255]
    small = Image.new("I;16", (2, 1))
    small.putdata([7, 200])  # a 16-bit container holding 8-bit values: kept, not darkened
    assert list(normalise_mode(small).tobytes()) == [7, 200]


# ------------------------------------------------------------------------------------------ out of memory
@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("Memory allocation error: Unspecified: Cannot allocate memory for image plane"),
        ValueError("Internal error (unexpected C++ exception)"),
        RuntimeError("Pixel allocation failed: Out of memory"),
        MemoryError(),
    ],
)
def test_a_decoder_that_cannot_allocate_is_retried_not_called_corrupt(
    monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    def fail(self: Image.Image) -> None:
        raise failure

    monkeypatch.setattr(pillow_heif.as_plugin.HeifImageFile, "load", fail)
    with pytest.raises(DecoderOutOfMemoryError) as caught:
        _render(fixture_bytes("heic"))
    assert "1280x960" in str(caught.value)
    assert "MemorySize" in str(caught.value)


def test_damaged_heif_data_is_still_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Image.Image) -> None:
        raise RuntimeError("Invalid input: Unspecified: Bitstream not supported by this decoder")

    monkeypatch.setattr(pillow_heif.as_plugin.HeifImageFile, "load", fail)
    with pytest.raises(PermanentError) as caught:
        _render(fixture_bytes("heic"))
    assert caught.value.error_type == ErrorType.CORRUPT_IMAGE


_CAPPED_CHILD = textwrap.dedent(
    """
    import resource, sys
    from fixtures.generate import fixture_bytes
    from handler.imaging.decode import load_image, open_image
    data = fixture_bytes(sys.argv[1])
    img = open_image(data)
    size_kib = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, ((size_kib + 4096) * 1024, resource.RLIM_INFINITY))
    try:
        load_image(img, data)
    except BaseException as exc:
        print(type(exc).__name__)
    else:
        print("decoded")
    """
)


@pytest.mark.parametrize("name", ["heic", "avif"])
def test_a_real_allocation_failure_under_a_memory_cap_is_decoder_out_of_memory(name: str) -> None:
    """The decode runs in a child whose address space is capped 4 MiB above what it has mapped: the
    decoder's own allocations fail, as they would in a container short of memory."""
    fixture_bytes(name)  # built (and cached) here, not under the cap
    done = subprocess.run(
        [sys.executable, "-c", _CAPPED_CHILD, name], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.stdout.strip() == "DecoderOutOfMemoryError", done.stderr[-2000:]


# ------------------------------------------------------------------------------------------ other formats
@pytest.mark.parametrize("fmt", ["TGA", "PCX", "SGI", "EPS", "XBM"])
def test_an_image_pillow_knows_outside_the_allow_list_is_unsupported_and_never_decoded(
    monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    img = photo(64, 48)
    buffer = io.BytesIO()
    (img.convert("1") if fmt == "XBM" else img).save(buffer, format=fmt)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a decoder ran on a format outside the allow-list")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    with pytest.raises(PermanentError) as caught:
        _render(buffer.getvalue())
    assert caught.value.error_type == ErrorType.UNSUPPORTED_FORMAT
    assert caught.value.reason.startswith(f"{fmt} is not an accepted format (JPEG, PNG")


def test_bytes_nothing_recognises_are_still_not_an_image() -> None:
    with pytest.raises(PermanentError) as caught:
        _render(b"Dear diary, today I uploaded a text file. " * 20)
    assert caught.value.error_type == ErrorType.NOT_AN_IMAGE


def test_a_photo_the_decoder_had_no_memory_for_is_retried_then_notified_naming_it_never_rejected(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(self: Image.Image) -> None:
        raise RuntimeError("Memory allocation error: Unspecified: cannot allocate the image plane")

    monkeypatch.setattr(pillow_heif.as_plugin.HeifImageFile, "load", fail)
    upload = world.put("phone/IMG_0002.HEIC", fixture_bytes("heic"))

    early = world.sqs_event(("m-1", world.body(upload)), receive_count=1)
    assert process_event(early, InvocationContext("req-1"), world.settings, world.deps()) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }
    assert world.notifications() == [], "a retry may find the memory: no notice yet"

    last = world.sqs_event(("m-1", world.body(upload)), receive_count=world.settings.max_receive_count)
    assert process_event(last, InvocationContext("req-2"), world.settings, world.deps()) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }
    [note] = world.notifications()
    assert note["errorType"] == ErrorType.RETRIES_EXHAUSTED, "kept in the DLQ for a redrive, not rejected"
    assert "DecoderOutOfMemoryError" in note["reason"]
    assert "MemorySize" in note["reason"]
