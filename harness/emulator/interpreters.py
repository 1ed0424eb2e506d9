"""Which Python runs the function locally, and the boto3 that Lambda's runtime would provide to it.

The worker must run the Python the function's Runtime names (the zip's native wheels are built for it); when
that interpreter is missing the local stack falls back to the harness's own Python, builds the zip for it, and
says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Final

from harness.package import RUNTIMES

RUNTIME_SDK: Final = "boto3"


@dataclass(frozen=True)
class Interpreter:
    path: Path
    runtime: str  # the runtime the zip is built for and the worker imitates
    requested: str
    note: str  # empty when the requested runtime's Python runs the function


def _pyenv_root() -> Path | None:
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        try:
            found = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10, check=True)
            return Path(found.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _version_of(path: Path) -> str | None:
    try:
        found = subprocess.run(
            [str(path), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip()


def candidates(version: str) -> list[Path]:
    """pyenv installs first (newest patch release first), then PATH."""
    found: list[Path] = []
    root = _pyenv_root()
    if root is not None:
        versions = sorted(
            (root / "versions").glob(f"{version}.*"),
            key=lambda p: [int(part) if part.isdigit() else 0 for part in p.name.split(".")],
            reverse=True,
        )
        found += [
            v / "bin" / f"python{version}" for v in versions if (v / "bin" / f"python{version}").exists()
        ]
    on_path = shutil.which(f"python{version}")
    if on_path is not None:
        found.append(Path(on_path))
    return found


def choose_interpreter(runtime: str) -> Interpreter:
    version = runtime.removeprefix("python")
    for path in candidates(version):
        if _version_of(path) == version:
            return Interpreter(path=path, runtime=runtime, requested=runtime, note="")
    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    fallback = f"python{own}"
    if fallback not in RUNTIMES:
        raise RuntimeError(
            f"no Python {version} on this machine (looked in pyenv versions and PATH) for Runtime={runtime}, "
            f"and this Python ({own}) is not a Lambda runtime the template offers: install Python {version}"
        )
    return Interpreter(
        path=Path(sys.executable),
        runtime=fallback,
        requested=runtime,
        note=(
            f"Runtime={runtime} asks for Python {version}, which is not installed here "
            "(pyenv versions, PATH); "
            f"the function runs under {sys.executable} (Python {own}) with a zip built for {fallback}"
        ),
    )


def runtime_sdk_dir(cache_root: Path, runtime: str) -> Path:
    """boto3 (and botocore, s3transfer...) installed once per runtime, the version the harness uses: Lambda
    provides the SDK outside the zip, and the worker must not see the harness's site-packages to get it."""
    version = metadata.version(RUNTIME_SDK)
    target = cache_root / f"{runtime}-{RUNTIME_SDK}-{version}"
    marker = target / ".complete"
    if marker.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--only-binary=:all:",
            "--python-version",
            runtime.removeprefix("python"),
            "--implementation",
            "cp",
            "--target",
            str(target),
            f"{RUNTIME_SDK}=={version}",
        ],
        check=True,
    )
    marker.write_text(version)
    return target
