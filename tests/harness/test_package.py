from __future__ import annotations

import hashlib
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest

from harness.package import (
    HANDLER_DIR,
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    PYPROJECT,
    PackageError,
    PackageResult,
    build_package,
    check_limits,
    check_native,
    handler_requirements,
    platform_tags,
    write_reproducible_zip,
)
from tests.harness.elfcraft import AARCH64, craft_elf

ROOT = Path(__file__).resolve().parents[2]
WHEEL_CACHE = ROOT / "build" / "wheels"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- what goes in ---


def test_requirements_are_the_handler_extra_of_pyproject() -> None:
    extra = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["handler"]

    assert handler_requirements("python3.13") == tuple(extra)


def test_python311_swaps_in_pillow_12_2_and_an_older_pillow_heif() -> None:
    requirements = handler_requirements("python3.11")

    assert "pillow>=12.0,<12.3" in requirements
    assert any(r.startswith("pillow-heif") and "1.8.1" not in r for r in requirements)
    assert any(r.startswith("aws-lambda-powertools") for r in requirements)


def test_boto3_is_never_bundled_even_if_listed(tmp_path: Path) -> None:
    pyproject = _write(
        tmp_path / "pyproject.toml",
        b'[project]\nname="x"\n[project.optional-dependencies]\nhandler=["boto3>=1", "botocore", "pillow"]\n',
    )

    assert handler_requirements("python3.13", pyproject) == ("pillow",)


def test_platform_tags_cover_every_glibc_the_runtime_can_load_newest_first() -> None:
    tags = platform_tags((2, 26), "x86_64")

    assert tags[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_17_x86_64" in tags
    assert "manylinux_2_27_x86_64" not in tags
    assert tags[-1] == "manylinux2014_x86_64"


def test_arm64_maps_to_aarch64_wheels() -> None:
    assert all(tag.endswith("_aarch64") for tag in platform_tags((2, 34), "aarch64"))


# --- checks ---


def test_limits_accept_a_package_exactly_at_both_limits() -> None:
    check_limits(MAX_ZIPPED_BYTES, MAX_UNZIPPED_BYTES)


def test_a_zip_over_50_mb_is_refused_with_its_size() -> None:
    with pytest.raises(PackageError, match=r"zipped size 52,428,801 bytes exceeds .* \(50 MB\)"):
        check_limits(MAX_ZIPPED_BYTES + 1, 1)


def test_an_unzipped_size_over_250_mb_is_refused_with_its_size() -> None:
    with pytest.raises(PackageError, match=r"unzipped size 262,144,001 bytes exceeds .* \(250 MB\)"):
        check_limits(1, MAX_UNZIPPED_BYTES + 1)


def test_native_code_within_the_runtime_glibc_passes_and_reports_what_it_needs(tmp_path: Path) -> None:
    files = {
        "PIL/_imaging.so": _write(tmp_path / "a.so", craft_elf({"libc.so.6": ["GLIBC_2.17", "GLIBC_2.26"]})),
        "PIL/__init__.py": _write(tmp_path / "b.py", b"# not native\n"),
    }

    assert check_native(files, (2, 26), "x86_64") == {"PIL/_imaging.so": (2, 26)}


def test_native_code_needing_a_newer_glibc_is_refused_naming_file_and_versions(tmp_path: Path) -> None:
    files = {"pillow.libs/libjpeg.so.62": _write(tmp_path / "j.so", craft_elf({"libc.so.6": ["GLIBC_2.28"]}))}

    with pytest.raises(
        PackageError, match=r"pillow.libs/libjpeg.so.62: needs GLIBC_2.28, the runtime has glibc 2.26"
    ):
        check_native(files, (2, 26), "x86_64")


def test_native_code_for_the_other_architecture_is_refused(tmp_path: Path) -> None:
    files = {"x.so": _write(tmp_path / "x.so", craft_elf({}, machine=AARCH64))}

    with pytest.raises(PackageError, match="built for aarch64, the function runs on x86_64"):
        check_native(files, (2, 34), "x86_64")


def test_python311_is_refused_without_the_explicit_flag(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match=r"allow_python311=True \(CLI: --allow-python311\)"):
        build_package(runtime="python3.11", architecture="x86_64", out_dir=tmp_path)

    assert not list(tmp_path.iterdir()), "nothing is built or downloaded before the refusal"


def test_an_unknown_runtime_or_architecture_is_refused_with_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"allowed: python3\.11, python3\.12, python3\.13"):
        build_package(runtime="python3.9", out_dir=tmp_path)
    with pytest.raises(ValueError, match="allowed: arm64, x86_64"):
        build_package(architecture="aarch64", out_dir=tmp_path)


# --- the zip ---


def test_zip_bytes_depend_only_on_content_not_on_order_or_file_times(tmp_path: Path) -> None:
    first = {
        "b/x.py": _write(tmp_path / "1" / "x.py", b"x = 1\n"),
        "a.py": _write(tmp_path / "1" / "a.py", b"a"),
    }
    second_dir = tmp_path / "2"
    second = {"a.py": _write(second_dir / "a.py", b"a"), "b/x.py": _write(second_dir / "x.py", b"x = 1\n")}
    (second_dir / "a.py").touch()

    write_reproducible_zip(first, tmp_path / "one.zip")
    write_reproducible_zip(second, tmp_path / "two.zip")

    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_zip_entries_are_sorted_dated_1980_and_mode_0644(tmp_path: Path) -> None:
    files = {"z.py": _write(tmp_path / "z.py", b"z"), "a/b.py": _write(tmp_path / "b.py", b"b")}
    write_reproducible_zip(files, tmp_path / "p.zip")

    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == ["a/b.py", "z.py"]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The real package built twice for this machine (wheels from the shared cache under build/)."""
    out = tmp_path_factory.mktemp("package")
    # A snapshot of handler/, so that "same inputs" holds even while someone edits the working tree.
    handler = shutil.copytree(
        HANDLER_DIR, out / "src" / "handler", ignore=shutil.ignore_patterns("__pycache__")
    )

    def build() -> PackageResult:
        return build_package(
            runtime="python3.13",
            architecture="x86_64",
            out_dir=out,
            wheel_cache=WHEEL_CACHE,
            handler_dir=handler,
        )

    first = build()
    first_bytes = first.path.read_bytes()
    second = build()
    assert second.wheel_cache_hit
    return second.path, hashlib.sha256(first_bytes).hexdigest(), second.sha256


def test_building_twice_gives_the_same_sha256(two_builds: tuple[Path, str, str]) -> None:
    _, first, second = two_builds

    assert first == second


def test_the_zip_holds_the_handler_and_its_dependencies_but_no_sdk_and_no_bytecode(
    two_builds: tuple[Path, str, str],
) -> None:
    path, _, _ = two_builds
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names}

    assert "handler/__init__.py" in names
    assert {"PIL", "pillow_heif", "aws_lambda_powertools"} <= tops
    assert not tops & {"boto3", "botocore", "s3transfer"}
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
