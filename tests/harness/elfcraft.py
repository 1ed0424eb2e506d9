"""Build tiny ELF64 shared objects with chosen verneed entries, for tests of the glibc check."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

X86_64 = 62
AARCH64 = 183


def craft_elf(needs: Mapping[str, Sequence[str]], *, machine: int = X86_64) -> bytes:
    """An ELF64 LE file whose .gnu.version_r says it needs `needs` ({library: [version names]})."""
    strtab = bytearray(b"\0")

    def string(text: str) -> int:
        offset = len(strtab)
        strtab.extend(text.encode() + b"\0")
        return offset

    verneed = bytearray()
    libraries = list(needs.items())
    for index, (library, versions) in enumerate(libraries):
        entry_size = 16 + 16 * len(versions)
        next_entry = entry_size if index < len(libraries) - 1 else 0
        verneed += struct.pack("<HHIII", 1, len(versions), string(library), 16, next_entry)
        for aux_index, version in enumerate(versions):
            aux_next = 16 if aux_index < len(versions) - 1 else 0
            verneed += struct.pack("<IHHII", 0, 0, 2 + aux_index, string(version), aux_next)
    shstrtab = b"\0.dynstr\0.gnu.version_r\0.shstrtab\0"
    header_size = 64
    dynstr_offset = header_size
    verneed_offset = dynstr_offset + len(strtab)
    shstrtab_offset = verneed_offset + len(verneed)
    section_offset = shstrtab_offset + len(shstrtab)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 0, section_offset, 0, 64, 56, 0, 64, 4, 3)
    sections = bytes(64)  # the null section
    sections += struct.pack("<IIQQQQIIQQ", 1, 3, 0, 0, dynstr_offset, len(strtab), 0, 0, 1, 0)
    sections += struct.pack(
        "<IIQQQQIIQQ", 9, 0x6FFFFFFE, 0, 0, verneed_offset, len(verneed), 1, len(libraries), 8, 0
    )
    sections += struct.pack("<IIQQQQIIQQ", 24, 3, 0, 0, shstrtab_offset, len(shstrtab), 0, 0, 1, 0)
    return header + bytes(strtab) + bytes(verneed) + shstrtab + sections
