"""make_renditions: right size, upright, private, true colour, deterministic; bad bytes say what is wrong."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms, JpegImagePlugin

from fixtures.generate import FIXTURES, MARK, PATCH, Fixture, fixture_bytes, photo
from fixtures.icc import display_p3, swapped_primaries
from handler.config import Settings
from handler.constants import DEFAULT_MAX_PIXELS, RenditionSpec
from handler.errors import ErrorType, PermanentError
from handler.imaging import OutputSpec, fit, make_renditions
from handler.imaging.icc import srgb_profile

from .conftest import close_to, decode

SETTINGS = Settings.from_env({"PROCESSED_BUCKET": "processed"})
SPECS = SETTINGS.renditions
# The default boxes as the README promises them, written out: not read back from the settings under test.
BOXES = {"large": (1024, 768), "thumbnail": (256, 256)}
JPEG = OutputSpec("JPEG", 85)
GOOD = [f for f in FIXTURES if f.expected == "processed"]
BAD = [f for f in FIXTURES if f.expected == "rejected"]


def render(
    data: bytes, output: OutputSpec = JPEG, max_pixels: int = DEFAULT_MAX_PIXELS
) -> dict[str, Image.Image]:
    return {r.name: decode(r.data) for r in make_renditions(data, SPECS, output, max_pixels=max_pixels)}


def _save(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


@pytest.mark.parametrize("fixture", GOOD, ids=lambda f: f.name)
def test_every_rendition_fits_its_box_at_the_displayed_aspect_and_is_never_upscaled(fixture: Fixture) -> None:
    assert fixture.width is not None
    assert fixture.height is not None
    for name, img in render(fixture_bytes(fixture.name)).items():
        assert img.size == fit((fixture.width, fixture.height), BOXES[name]), name
        assert img.width <= fixture.width
        assert img.height <= fixture.height


@pytest.mark.parametrize("fixture", [f for f in GOOD if f.marked], ids=lambda f: f.name)
def test_the_marked_corner_lands_top_left_and_the_centre_keeps_its_colour(fixture: Fixture) -> None:
    for name, img in render(fixture_bytes(fixture.name)).items():
        rgb = img.convert("RGB")
        assert close_to(rgb.getpixel((0, 0)), MARK, 30), f"{name} top-left is {rgb.getpixel((0, 0))}"
        centre = rgb.getpixel((rgb.width // 2, rgb.height // 2))
        assert close_to(centre, PATCH, 8), f"{name} centre is {centre}"


@pytest.mark.parametrize("name", ["png-16bit-gray", "png-gray"])
def test_grey_inputs_keep_their_grey_levels(name: str) -> None:
    expected = round(0.299 * PATCH[0] + 0.587 * PATCH[1] + 0.114 * PATCH[2])
    for img in render(fixture_bytes(name)).values():
        assert close_to(img.convert("L").getpixel((img.width // 2, img.height // 2)), (expected,), 4)


@pytest.mark.parametrize(
    "output", [JPEG, OutputSpec("WEBP", 80), OutputSpec("AVIF", 60)], ids=lambda o: o.format
)
def test_no_metadata_reaches_an_output(output: OutputSpec) -> None:
    for rendition in make_renditions(
        fixture_bytes("jpeg-phone-12mp"), SPECS, output, max_pixels=DEFAULT_MAX_PIXELS
    ):
        img = decode(rendition.data)
        assert img.format == output.format
        assert len(img.getexif()) == 0, "EXIF (and so GPS) must be stripped"
        assert b"Exif" not in rendition.data
        assert b"Fixture Phone" not in rendition.data
        for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment"):
            assert key not in img.info, key
        # The one piece of metadata written is the compact sRGB profile (AVIF says sRGB in its nclx box).
        assert img.info.get("icc_profile") == (None if output.format == "AVIF" else srgb_profile())


@pytest.mark.parametrize(
    "output", [JPEG, OutputSpec("WEBP", 80), OutputSpec("AVIF", 60)], ids=lambda o: o.format
)
def test_the_same_input_and_settings_give_the_same_bytes(output: OutputSpec) -> None:
    data = fixture_bytes("jpeg-2mp")
    first = make_renditions(data, SPECS, output, max_pixels=DEFAULT_MAX_PIXELS)
    second = make_renditions(data, SPECS, output, max_pixels=DEFAULT_MAX_PIXELS)
    assert [r.data for r in first] == [r.data for r in second]


def test_renditions_describe_themselves() -> None:
    large, thumb = make_renditions(
        fixture_bytes("webp"), SPECS, OutputSpec("WEBP", 80), max_pixels=DEFAULT_MAX_PIXELS
    )
    assert (large.name, large.width, large.height, large.content_type, large.extension) == (
        "large",
        1024,
        768,
        "image/webp",
        "webp",
    )
    assert (thumb.name, thumb.width, thumb.height) == ("thumbnail", 256, 192)


def test_transparent_pixels_become_white_in_a_jpeg() -> None:
    for img in render(fixture_bytes("png-palette-transparent")).values():
        assert close_to(img.convert("RGB").getpixel((img.width - 1, img.height - 1)), (255, 255, 255), 6)


def test_webp_keeps_the_alpha_channel() -> None:
    [large, _] = make_renditions(
        fixture_bytes("png-rgba"), SPECS, OutputSpec("WEBP", 80), max_pixels=DEFAULT_MAX_PIXELS
    )
    img = decode(large.data)
    assert img.mode == "RGBA"
    assert img.getchannel("A").getextrema()[0] < 50


@pytest.mark.parametrize(
    ("box", "decoded_size"),
    [
        # 4032 x 3024 into 1024 x 768 is 5.25x: the 1/2 scale would leave Lanczos 2.6x, under its margin of 3.
        ((1024, 768), (4032, 3024)),
        # into 256 x 256 it is 15.75x: the 1/4 scale leaves 3.9x; the 1/8 scale would leave 1.97x.
        ((256, 256), (1008, 756)),
    ],
)
def test_a_jpeg_is_decoded_at_the_smallest_dct_scale_that_leaves_lanczos_its_margin(
    monkeypatch: pytest.MonkeyPatch, box: tuple[int, int], decoded_size: tuple[int, int]
) -> None:
    decoded: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None) -> object:
        result = original(self, mode, size)
        decoded.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    make_renditions(
        fixture_bytes("jpeg-phone-12mp"), [RenditionSpec("only", *box)], JPEG, max_pixels=DEFAULT_MAX_PIXELS
    )
    assert decoded == [decoded_size]


def test_an_srgb_profile_is_replaced_by_the_compact_one_without_changing_colour() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _save(photo(400, 300), "JPEG", quality=95, icc_profile=srgb)
    for img in render(data).values():
        assert img.info["icc_profile"] == srgb_profile()
        assert close_to(img.getpixel((img.width // 2, img.height // 2)), PATCH, 8)


def _in_srgb(colour: tuple[int, int, int], icc: bytes) -> tuple[int, int, int]:
    pixel = Image.new("RGB", (1, 1), colour)
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    converted = ImageCms.profileToProfile(pixel, source, ImageCms.createProfile("sRGB"))
    assert converted is not None
    value = converted.getpixel((0, 0))
    assert isinstance(value, tuple)
    return value[0], value[1], value[2]


def test_an_embedded_profile_is_converted_to_srgb_not_ignored() -> None:
    data = _save(photo(400, 300), "JPEG", quality=95, icc_profile=swapped_primaries())
    for img in render(data).values():
        # MARK is (220, 20, 20) in a space whose red is sRGB's blue: on screen, and in the output, it is blue.
        assert close_to(img.getpixel((0, 0)), (12, 12, 221), 30), img.getpixel((0, 0))
        assert img.info["icc_profile"] == srgb_profile()


def test_a_wide_gamut_photo_keeps_its_appearance_in_srgb() -> None:
    expected = _in_srgb(PATCH, display_p3())
    assert not close_to(expected, PATCH, 8), "the test needs a patch whose sRGB value differs"
    for img in render(fixture_bytes("jpeg-display-p3")).values():
        assert close_to(img.getpixel((img.width // 2, img.height // 2)), expected, 8)


def test_a_profile_on_an_image_with_alpha_is_applied_to_the_colour_only() -> None:
    rgba = photo(300, 200).convert("RGBA")
    rgba.paste((0, 0, 0, 0), (150, 100, 300, 200))  # a transparent quarter keeps the output's alpha channel
    data = _save(rgba, "PNG", icc_profile=swapped_primaries())
    [large, _] = make_renditions(data, SPECS, OutputSpec("WEBP", 90), max_pixels=DEFAULT_MAX_PIXELS)
    img = decode(large.data)
    assert img.mode == "RGBA"
    assert close_to(img.getpixel((0, 0)), (12, 12, 221, 255), 30), img.getpixel((0, 0))


def test_a_cmyk_jpeg_comes_out_rgb_with_its_colours() -> None:
    for img in render(fixture_bytes("jpeg-cmyk")).values():
        assert img.mode == "RGB"
        assert close_to(img.getpixel((img.width // 2, img.height // 2)), PATCH, 12)


@pytest.mark.parametrize("mode", ["1", "LA", "P", "PA", "I;16", "RGBA", "L"])
def test_every_input_mode_becomes_an_rgb_or_grey_jpeg(mode: str) -> None:
    source = photo(300, 200)
    converted = (
        source.convert("I").point(lambda v: v * 257).convert("I;16")
        if mode == "I;16"
        else source.convert(mode)
    )
    fmt = "PNG" if mode != "PA" else "WEBP"
    data = _save(converted if mode != "PA" else source.convert("RGBA"), fmt)
    for img in render(data).values():
        assert img.mode in ("RGB", "L")
        assert img.size in ((300, 200), (256, 171))


# ----------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fixture", BAD, ids=lambda f: f.name)
def test_each_bad_fixture_is_rejected_with_its_error_type(fixture: Fixture) -> None:
    with pytest.raises(PermanentError) as caught:
        make_renditions(fixture_bytes(fixture.name), SPECS, JPEG, max_pixels=DEFAULT_MAX_PIXELS)
    assert caught.value.error_type == fixture.error_type
    assert caught.value.reason


def test_the_pixel_limit_is_checked_against_the_header() -> None:
    with pytest.raises(PermanentError) as caught:
        make_renditions(fixture_bytes("jpeg-2mp"), SPECS, JPEG, max_pixels=1_000_000)
    assert caught.value.error_type == ErrorType.TOO_MANY_PIXELS
    assert "1,920,000" in caught.value.reason


def test_an_image_at_the_pixel_limit_is_processed() -> None:
    assert make_renditions(fixture_bytes("jpeg-2mp"), SPECS, JPEG, max_pixels=1_920_000)


def test_a_webp_canvas_over_the_limit_is_rejected_before_decoding() -> None:
    data = bytearray(
        _save(photo(64, 48), "WEBP", quality=80, exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00")
    )
    assert data[12:16] == b"VP8X"
    data[24:30] = (16383).to_bytes(3, "little") + (16383).to_bytes(3, "little")
    with pytest.raises(PermanentError) as caught:
        make_renditions(bytes(data), SPECS, JPEG, max_pixels=DEFAULT_MAX_PIXELS)
    assert caught.value.error_type == ErrorType.TOO_MANY_PIXELS


@pytest.mark.parametrize(
    ("data", "error_type"),
    [
        (_save(photo(64, 48), "BMP"), ErrorType.UNSUPPORTED_FORMAT),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", ErrorType.NOT_AN_IMAGE),
        (b"%PDF-1.7\n" + b"0" * 200, ErrorType.NOT_AN_IMAGE),
        (_save(photo(320, 240), "PNG")[:5000], ErrorType.TRUNCATED_IMAGE),
        (_save(photo(320, 240), "WEBP")[:3000], ErrorType.TRUNCATED_IMAGE),
        (_save(photo(320, 240), "GIF")[:3000], ErrorType.TRUNCATED_IMAGE),
        (_save(photo(320, 240), "JPEG")[:200], ErrorType.TRUNCATED_IMAGE),
        (
            b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + b"\x00" * 17 + b"IEND",
            ErrorType.CORRUPT_IMAGE,
        ),
        (b"GIF89a" + b"\x00" * 64 + b";", ErrorType.CORRUPT_IMAGE),
    ],
    ids=[
        "bmp",
        "svg",
        "pdf",
        "png-cut",
        "webp-cut",
        "gif-cut",
        "jpeg-cut-header",
        "png-bad-ihdr",
        "gif-zero-size",
    ],
)
def test_bad_bytes_get_the_error_type_that_explains_them(data: bytes, error_type: ErrorType) -> None:
    with pytest.raises(PermanentError) as caught:
        make_renditions(data, SPECS, JPEG, max_pixels=DEFAULT_MAX_PIXELS)
    assert caught.value.error_type == error_type


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "WEBP", "HEIF"])
def test_orientation_is_applied_exactly_once_in_every_container(fmt: str) -> None:
    shown = photo(300, 200)
    exif = Image.Exif()
    exif[0x0112] = 6
    params: dict[str, object] = {"quality": 90} if fmt in ("WEBP", "HEIF") else {}
    data = _save(shown.transpose(Image.Transpose.ROTATE_90), fmt, exif=exif.tobytes(), **params)
    for name, img in render(data).items():
        assert img.size == fit((300, 200), BOXES[name])
        assert close_to(img.convert("RGB").getpixel((0, 0)), MARK, 30), f"{fmt} {name}"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_an_oversized_text_chunk_after_the_pixels_does_not_reject_the_photo() -> None:
    png = _save(photo(320, 240), "PNG")
    bomb = _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * (4 << 20), 9))
    for img in render(png[:-12] + bomb + png[-12:]).values():
        assert close_to(img.getpixel((0, 0)), MARK, 30)


def test_a_text_chunk_does_not_hide_a_cut_pixel_stream() -> None:
    png = _save(photo(320, 240), "PNG")
    bomb = _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * (4 << 20), 9))
    with pytest.raises(PermanentError) as caught:
        make_renditions(png[: len(png) // 2] + bomb, SPECS, JPEG, max_pixels=DEFAULT_MAX_PIXELS)
    assert caught.value.error_type in (ErrorType.TRUNCATED_IMAGE, ErrorType.CORRUPT_IMAGE)


# ----------------------------------------------------------------------------------------- output
@pytest.mark.parametrize(("mode", "key"), [("L", 0), ("RGB", (0, 0, 0)), ("1", 0)])
def test_a_png_transparency_key_colour_keeps_alpha_in_webp_and_turns_white_in_jpeg(
    mode: str, key: int | tuple[int, int, int]
) -> None:
    img = Image.new(mode, (300, 200), 255 if mode != "RGB" else (200, 100, 50))
    img.paste(0 if mode != "RGB" else (0, 0, 0), (0, 0, 150, 200))  # the left half is the key colour
    data = _save(img, "PNG", transparency=key)
    webp = decode(make_renditions(data, SPECS, OutputSpec("WEBP", 90), max_pixels=DEFAULT_MAX_PIXELS)[0].data)
    assert webp.mode == "RGBA"
    assert webp.getpixel((10, 10))[3] == 0
    assert webp.getpixel((290, 10))[3] == 255
    for jpeg in render(data).values():
        assert close_to(jpeg.convert("RGB").getpixel((2, 2)), (255, 255, 255), 2)


def test_jpeg_renditions_are_progressive() -> None:
    for name, img in render(fixture_bytes("jpeg-phone-12mp")).items():
        assert img.info.get("progressive") == 1, name
