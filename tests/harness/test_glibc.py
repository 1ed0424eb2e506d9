from __future__ import annotations

from pathlib import Path

import pytest

from harness.glibc import ElfError, is_elf, read_elf, read_elf_file
from tests.harness.elfcraft import AARCH64, craft_elf


def test_the_highest_glibc_version_needed_is_read_from_the_verneed_records() -> None:
    info = read_elf(
        craft_elf({"libc.so.6": ["GLIBC_2.2.5", "GLIBC_2.28", "GLIBC_2.17"], "libm.so.6": ["GLIBC_2.29"]})
    )

    assert info.max_glibc == (2, 29)
    assert info.glibc_versions == {(2, 2), (2, 17), (2, 28), (2, 29)}


def test_versions_of_other_libraries_are_listed_but_do_not_count_as_glibc() -> None:
    info = read_elf(
        craft_elf({"libstdc++.so.6": ["GLIBCXX_3.4.30", "CXXABI_1.3"], "libc.so.6": ["GLIBC_2.14"]})
    )

    assert "GLIBCXX_3.4.30" in info.needed_versions
    assert info.max_glibc == (2, 14)


def test_an_object_without_version_needs_has_no_glibc_floor() -> None:
    assert read_elf(craft_elf({})).max_glibc is None


def test_the_machine_is_named_as_in_wheel_tags() -> None:
    assert read_elf(craft_elf({}, machine=AARCH64)).machine == "aarch64"
    assert read_elf(craft_elf({})).machine == "x86_64"


def test_a_truncated_file_is_refused_with_the_offset() -> None:
    data = craft_elf({"libc.so.6": ["GLIBC_2.17"]})

    with pytest.raises(ElfError, match="truncated ELF"):
        read_elf(data[:80])


def test_a_file_that_is_not_elf_is_refused() -> None:
    with pytest.raises(ElfError, match="bad magic"):
        read_elf(b"#!/bin/sh\n")


def test_the_reader_reads_the_running_interpreter() -> None:
    """A real object from this machine: the running Python links against glibc >= 2.2.5 at least."""
    import sys

    executable = Path(sys.executable).resolve()
    assert is_elf(executable)
    info = read_elf_file(executable)
    assert info.max_glibc is not None
    assert info.max_glibc >= (2, 2)


def test_an_object_without_section_headers_is_read_through_its_dynamic_segment() -> None:
    """Stripped objects may drop section headers; the loader (and this reader) use PT_DYNAMIC instead."""
    import struct
    import sys

    data = bytearray(Path(sys.executable).resolve().read_bytes())
    with_sections = read_elf(bytes(data))
    assert with_sections.max_glibc is not None
    struct.pack_into("<Q", data, 40, 0)  # e_shoff
    struct.pack_into("<H", data, 60, 0)  # e_shnum

    assert read_elf(bytes(data)).needed_versions == with_sections.needed_versions
