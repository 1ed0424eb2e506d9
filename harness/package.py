"""Build the Lambda zip: the `handler` package plus the `handler` extra installed for the Lambda platform.

The zip must load on a machine we never see: wheels are chosen by manylinux tag for the runtime's glibc and
CPU, then every bundled ELF object is checked against that glibc by its real symbol versions, because a
wheel's tag can claim less than its libraries need. The zip is reproducible (same inputs, same bytes) so its
sha256 can be the artifact's S3 key and an unchanged build never triggers a stack update.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.panel import Panel

from harness.contract import ROOT
from harness.glibc import ElfError, GlibcVersion, format_glibc, is_elf, read_elf_file

PYPROJECT: Final = ROOT / "pyproject.toml"
HANDLER_DIR: Final = ROOT / "handler"
HANDLER_EXTRA: Final = "handler"

MAX_ZIPPED_BYTES: Final = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES: Final = 250 * 1024 * 1024
ZIP_TIMESTAMP: Final = (1980, 1, 1, 0, 0, 0)
FILE_MODE: Final = 0o100644
# zlib level 6: a third of level 9's time for a zip 0.5 % larger. Same zlib, same bytes.
ZIP_LEVEL: Final = 6

# The runtime ships these; bundling them would only add 20 MB and pin an older SDK than the runtime's.
RUNTIME_PROVIDED: Final = frozenset({"boto3", "botocore", "s3transfer"})
# The oldest manylinux the harness accepts: manylinux2014 == glibc 2.17, the floor for aarch64 wheels.
OLDEST_GLIBC_MINOR: Final = 17


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    name: str
    python_version: str
    glibc: GlibcVersion
    os_name: str


RUNTIMES: Final[Mapping[str, RuntimeSpec]] = {
    "python3.11": RuntimeSpec("python3.11", "3.11", (2, 26), "Amazon Linux 2"),
    "python3.12": RuntimeSpec("python3.12", "3.12", (2, 34), "Amazon Linux 2023"),
    "python3.13": RuntimeSpec("python3.13", "3.13", (2, 34), "Amazon Linux 2023"),
    "python3.14": RuntimeSpec("python3.14", "3.14", (2, 34), "Amazon Linux 2023"),
}
# Lambda's architecture name -> the machine name in wheel tags and ELF headers.
ARCHITECTURES: Final[Mapping[str, str]] = {"arm64": "aarch64", "x86_64": "x86_64"}

# Amazon Linux 2 has glibc 2.26. Pillow 13 (the JPEG-decoder advisory fixes) and pillow-heif >= 1.1 on x86_64
# publish wheels only for glibc >= 2.27/2.28, so python3.11 gets the last releases that load there.
PYTHON311_OVERRIDES: Final[Mapping[str, str]] = {
    "pillow": "pillow>=12.0,<12.3",
    "pillow-heif": "pillow-heif>=1.0,<2",
}
PYTHON311_WARNING: Final = (
    "Packaging for python3.11 (Amazon Linux 2, glibc 2.26).\n"
    "Pillow 13.0.0 fixes critical JPEG-decoder advisories but ships wheels only for glibc >= 2.27, "
    "so this zip bundles Pillow <= 12.2 WITHOUT those fixes "
    "(and, on x86_64, an older pillow-heif for the same reason).\n"
    "Use python3.12 or python3.13 (Amazon Linux 2023, glibc 2.34) unless you must stay on python3.11."
)


class PackageError(Exception):
    """The zip cannot be built or would not work on Lambda; the message names the rule and the figures."""


@dataclass(frozen=True, slots=True)
class PackageResult:
    path: Path
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    runtime: str
    architecture: str
    max_glibc: GlibcVersion | None
    """The highest GLIBC_x.y any bundled ELF object needs (None if nothing native is bundled)."""
    glibc_limit: GlibcVersion
    requirements: tuple[str, ...]
    distributions: Mapping[str, str]
    """Bundled distribution name -> version, read from the installed metadata."""
    glibc_by_file: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    build_seconds: float = 0.0
    wheel_cache_hit: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["max_glibc"] = format_glibc(self.max_glibc)
        data["glibc_limit"] = format_glibc(self.glibc_limit)
        data["distributions"] = dict(self.distributions)
        data["glibc_by_file"] = dict(self.glibc_by_file)
        data["requirements"] = list(self.requirements)
        data["notes"] = list(self.notes)
        return data


def runtime_spec(runtime: str) -> RuntimeSpec:
    try:
        return RUNTIMES[runtime]
    except KeyError:
        raise ValueError(f"runtime {runtime!r} is not supported; allowed: {', '.join(RUNTIMES)}") from None


def wheel_machine(architecture: str) -> str:
    try:
        return ARCHITECTURES[architecture]
    except KeyError:
        allowed = ", ".join(ARCHITECTURES)
        raise ValueError(
            f"architecture {architecture!r} is not a Lambda architecture; allowed: {allowed}"
        ) from None


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise PackageError(f"cannot read a distribution name from requirement {requirement!r}")
    return _normalise(match.group(1))


def handler_requirements(runtime: str, pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    """The `handler` extra of pyproject.toml (the one list of what the function imports), 3.11-adjusted."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    try:
        requirements: list[str] = data["project"]["optional-dependencies"][HANDLER_EXTRA]
    except KeyError:
        raise PackageError(
            f"{pyproject} has no [project.optional-dependencies] {HANDLER_EXTRA} extra"
        ) from None
    result = []
    for requirement in requirements:
        name = _requirement_name(requirement)
        if name in RUNTIME_PROVIDED:
            continue
        if runtime == "python3.11" and name in PYTHON311_OVERRIDES:
            result.append(PYTHON311_OVERRIDES[name])
        else:
            result.append(requirement)
    return tuple(result)


def platform_tags(glibc: GlibcVersion, machine: str) -> tuple[str, ...]:
    """Every manylinux tag the runtime's glibc can load, newest first (pip takes the first that matches)."""
    major, minor = glibc
    tags = [f"manylinux_{major}_{m}_{machine}" for m in range(minor, OLDEST_GLIBC_MINOR - 1, -1)]
    tags.append(f"manylinux2014_{machine}")
    return tuple(tags)


def check_limits(zipped_bytes: int, unzipped_bytes: int) -> None:
    problems = []
    if zipped_bytes > MAX_ZIPPED_BYTES:
        problems.append(
            f"zipped size {zipped_bytes:,} bytes exceeds Lambda's limit of {MAX_ZIPPED_BYTES:,} bytes (50 MB)"
        )
    if unzipped_bytes > MAX_UNZIPPED_BYTES:
        problems.append(
            f"unzipped size {unzipped_bytes:,} bytes exceeds Lambda's limit of {MAX_UNZIPPED_BYTES:,} bytes "
            "(250 MB)"
        )
    if problems:
        raise PackageError("; ".join(problems))


def check_native(
    files: Mapping[str, Path], glibc_limit: GlibcVersion, machine: str
) -> dict[str, GlibcVersion]:
    """GLIBC needed per bundled ELF object; raises naming every object that the runtime could not load."""
    needed: dict[str, GlibcVersion] = {}
    problems: list[str] = []
    for name, path in files.items():
        if not is_elf(path):
            continue
        try:
            info = read_elf_file(path)
        except ElfError as exc:
            problems.append(f"{name}: unreadable ELF ({exc})")
            continue
        if info.machine != machine:
            problems.append(f"{name}: built for {info.machine}, the function runs on {machine}")
        version = info.max_glibc
        if version is not None:
            needed[name] = version
            if version > glibc_limit:
                problems.append(
                    f"{name}: needs GLIBC_{format_glibc(version)}, "
                    f"the runtime has glibc {format_glibc(glibc_limit)}"
                )
    if problems:
        raise PackageError(
            "bundled native code would not load on Lambda:\n  " + "\n  ".join(sorted(problems))
        )
    return needed


def _pip(args: Sequence[str], *, isolated: bool) -> None:
    env = dict(os.environ)
    if isolated:
        # No config file at all: an offline install from the wheel cache must not pick wheels from elsewhere.
        env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    command = [sys.executable, "-m", "pip", *args]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip().splitlines()
        tail = "\n".join(line for line in output if "is ignored: it is neither" not in line)[-4000:]
        raise PackageError(f"pip failed ({' '.join(command[3:5])}):\n{tail}")


def _platform_args(spec: RuntimeSpec, machine: str) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", spec.python_version]
    for tag in platform_tags(spec.glibc, machine):
        args += ["--platform", tag]
    return args


def _wheel_cache(
    cache_root: Path, spec: RuntimeSpec, machine: str, requirements: Sequence[str]
) -> tuple[Path, bool]:
    """Download the wheels once per (requirements, platform) into a content-keyed folder; reuse it after."""
    key_source = json.dumps(
        [list(requirements), spec.python_version, list(platform_tags(spec.glibc, machine))]
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    folder = cache_root / f"cp{spec.python_version.replace('.', '')}-{machine}-{key}"
    marker = folder / ".complete"
    if marker.exists():
        return folder, True
    # Several builds may share the cache at once (tests, the local stack, nox): each downloads into its own
    # folder and the first to finish publishes it by rename; the others use that one.
    cache_root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{folder.name}.partial-", dir=cache_root))
    try:
        _pip(
            ["download", "--quiet", "--dest", str(partial), *_platform_args(spec, machine), *requirements],
            isolated=False,
        )
        (partial / ".complete").write_text(
            json.dumps({"requirements": list(requirements)}) + "\n", encoding="utf-8"
        )
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a folder without its marker is an interrupted one
            try:
                partial.rename(folder)
            except OSError:
                if not marker.exists():
                    raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder, False


def _iter_files(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_symlink():
            raise PackageError(
                f"{path}: symbolic links are not packaged (Lambda would get a copy or nothing)"
            )
        if path.is_file():
            yield path


def _collect(staging: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in _iter_files(staging):
        relative = path.relative_to(staging)
        if "__pycache__" in relative.parts or path.suffix in (".pyc", ".pyo"):
            continue
        files[relative.as_posix()] = path
    return dict(sorted(files.items()))


def _installed_distributions(staging: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for metadata in sorted(staging.glob("*.dist-info/METADATA")):
        name = version = ""
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Name:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("Version:"):
                version = line.split(":", 1)[1].strip()
            elif not line:
                break
        if name:
            found[_normalise(name)] = version
    return found


def write_reproducible_zip(files: Mapping[str, Path], destination: Path) -> None:
    """Sorted entries, 1980-01-01 timestamps, mode 0644, level-6 deflate: the bytes depend on content only."""
    handle, name = tempfile.mkstemp(prefix=destination.name + ".", suffix=".tmp", dir=destination.parent)
    os.close(handle)
    temporary = Path(name)
    temporary.chmod(0o644)
    with zipfile.ZipFile(temporary, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.create_system = 3
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes(), compresslevel=ZIP_LEVEL)
    temporary.replace(destination)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_package(
    *,
    runtime: str = "python3.13",
    architecture: str = "arm64",
    out_dir: Path = Path("build"),
    allow_python311: bool = False,
    console: Console | None = None,
    handler_dir: Path = HANDLER_DIR,
    pyproject: Path = PYPROJECT,
    wheel_cache: Path | None = None,
) -> PackageResult:
    """Build `out_dir/photopipe-<runtime>-<architecture>.zip`; wheels are cached in `out_dir/wheels`
    (or `wheel_cache`), keyed by requirements and platform, so a warm build needs no network."""
    started = time.perf_counter()
    spec = runtime_spec(runtime)
    machine = wheel_machine(architecture)
    console = console or Console(stderr=True)
    notes: list[str] = []
    if runtime == "python3.11":
        if not allow_python311:
            raise PackageError(
                "python3.11 runs on Amazon Linux 2 (glibc 2.26), where Pillow 13 and its JPEG-decoder fixes "
                "cannot load; pass allow_python311=True (CLI: --allow-python311) to package it with "
                "Pillow <= 12.2, or use python3.12/python3.13"
            )
        console.print(Panel(PYTHON311_WARNING, title="WARNING: python3.11", border_style="bold red"))
        notes.append(PYTHON311_WARNING.replace("\n", " "))

    requirements = handler_requirements(runtime, pyproject)
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with console.status(f"fetching wheels for {runtime}/{architecture}"):
        wheels, cache_hit = _wheel_cache(
            (wheel_cache or out_dir / "wheels").resolve(), spec, machine, requirements
        )
    (out_dir / "stage").mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{runtime}-{architecture}-", dir=out_dir / "stage"))
    try:
        return _build_from_wheels(
            spec=spec,
            machine=machine,
            runtime=runtime,
            architecture=architecture,
            requirements=requirements,
            wheels=wheels,
            cache_hit=cache_hit,
            staging=staging,
            out_dir=out_dir,
            handler_dir=handler_dir,
            console=console,
            notes=notes,
            started=started,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build_from_wheels(
    *,
    spec: RuntimeSpec,
    machine: str,
    runtime: str,
    architecture: str,
    requirements: tuple[str, ...],
    wheels: Path,
    cache_hit: bool,
    staging: Path,
    out_dir: Path,
    handler_dir: Path,
    console: Console,
    notes: list[str],
    started: float,
) -> PackageResult:
    with console.status(f"installing {len(requirements)} requirements for {runtime}/{architecture}"):
        _pip(
            [
                "install",
                "--quiet",
                "--no-index",
                "--find-links",
                str(wheels),
                "--target",
                str(staging),
                "--no-compile",
                *_platform_args(spec, machine),
                *requirements,
            ],
            isolated=True,
        )
    distributions = _installed_distributions(staging)
    bundled_sdk = sorted(RUNTIME_PROVIDED & set(distributions))
    if bundled_sdk:
        raise PackageError(
            f"the handler extra pulls in {', '.join(bundled_sdk)}, which the runtime provides; "
            "remove the requirement that depends on it"
        )
    if (staging / "handler").exists():
        raise PackageError(
            "a dependency installs a top-level `handler` package, which would shadow the function"
        )
    shutil.copytree(handler_dir, staging / "handler", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    files = _collect(staging)
    unzipped_bytes = sum(path.stat().st_size for path in files.values())
    with console.status("checking glibc symbol versions of bundled native code"):
        needed = check_native(files, spec.glibc, machine)
    destination = out_dir / f"photopipe-{runtime}-{architecture}.zip"
    with console.status(f"writing {destination.name}"):
        write_reproducible_zip(files, destination)
    zipped_bytes = destination.stat().st_size
    try:
        check_limits(zipped_bytes, unzipped_bytes)
    except PackageError:
        destination.unlink()
        raise
    return PackageResult(
        path=destination,
        sha256=sha256_file(destination),
        zipped_bytes=zipped_bytes,
        unzipped_bytes=unzipped_bytes,
        runtime=runtime,
        architecture=architecture,
        max_glibc=max(needed.values(), default=None),
        glibc_limit=spec.glibc,
        requirements=requirements,
        distributions=distributions,
        glibc_by_file={name: format_glibc(version) for name, version in needed.items()},
        notes=tuple(notes),
        build_seconds=round(time.perf_counter() - started, 3),
        wheel_cache_hit=cache_hit,
    )
