"""Read the GLIBC symbol versions an ELF shared object needs, from its `.gnu.version_r` (verneed) records.

A wheel's manylinux tag is a promise made by its builder; the dynamic loader only cares about the versions the
binary actually references. Reading them ourselves (a few dozen lines of `struct`) keeps the packaging check
free of a native tool (`objdump`) and of another dependency.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
_SHT_GNU_VERNEED = 0x6FFFFFFE
_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_STRTAB = 5
_DT_VERNEED = 0x6FFFFFFE
_DT_VERNEEDNUM = 0x6FFFFFFF
_GLIBC_VERSION = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")

# e_machine values of the two Lambda architectures.
MACHINE_NAMES = {62: "x86_64", 183: "aarch64"}

GlibcVersion = tuple[int, int]


class ElfError(ValueError):
    """The file is not an ELF object this reader understands (truncated, corrupt, or not ELF at all)."""


@dataclass(frozen=True, slots=True)
class ElfInfo:
    machine: str
    """x86_64, aarch64, or `e_machine=<n>` for anything else."""
    needed_versions: frozenset[str]
    """Every version name required from any library (GLIBC_2.17, GLIBCXX_3.4.21, ...)."""

    @property
    def glibc_versions(self) -> frozenset[GlibcVersion]:
        found: set[GlibcVersion] = set()
        for name in self.needed_versions:
            match = _GLIBC_VERSION.match(name)
            if match:
                found.add((int(match.group(1)), int(match.group(2))))
        return frozenset(found)

    @property
    def max_glibc(self) -> GlibcVersion | None:
        return max(self.glibc_versions, default=None)


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == ELF_MAGIC


def format_glibc(version: GlibcVersion | None) -> str:
    return "none" if version is None else f"{version[0]}.{version[1]}"


class _Reader:
    def __init__(self, data: bytes) -> None:
        if len(data) < 16 or data[:4] != ELF_MAGIC:
            raise ElfError("not an ELF file (bad magic)")
        ei_class, ei_data = data[4], data[5]
        if ei_class not in (1, 2) or ei_data not in (1, 2):
            raise ElfError(f"unknown ELF class {ei_class} or byte order {ei_data}")
        self.data = data
        self.is64 = ei_class == 2
        self.endian = "<" if ei_data == 1 else ">"

    def unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        size = struct.calcsize(self.endian + fmt)
        if offset < 0 or offset + size > len(self.data):
            raise ElfError(
                f"truncated ELF: read of {size} bytes at offset {offset} past end {len(self.data)}"
            )
        return struct.unpack_from(self.endian + fmt, self.data, offset)

    def cstring(self, offset: int) -> str:
        if offset < 0 or offset >= len(self.data):
            raise ElfError(f"string offset {offset} outside the file")
        end = self.data.find(b"\0", offset)
        if end < 0:
            raise ElfError("unterminated string")
        return self.data[offset:end].decode("ascii", errors="replace")


def read_elf(data: bytes) -> ElfInfo:
    """Parse the header, then the verneed records via section headers or, if stripped, PT_DYNAMIC."""
    reader = _Reader(data)
    if reader.is64:
        (e_machine,) = reader.unpack("H", 18)
        e_phoff, e_shoff = reader.unpack("QQ", 32)
        e_phentsize, e_phnum, e_shentsize, e_shnum = reader.unpack("HHHH", 54)
    else:
        (e_machine,) = reader.unpack("H", 18)
        e_phoff, e_shoff = reader.unpack("II", 28)
        e_phentsize, e_phnum, e_shentsize, e_shnum = reader.unpack("HHHH", 42)
    machine = MACHINE_NAMES.get(e_machine, f"e_machine={e_machine}")

    verneed = _verneed_from_sections(reader, e_shoff, e_shentsize, e_shnum)
    if verneed is None:
        verneed = _verneed_from_dynamic(reader, e_phoff, e_phentsize, e_phnum)
    names: set[str] = set()
    if verneed is not None:
        offset, count, strtab = verneed
        names = _walk_verneed(reader, offset, count, strtab)
    return ElfInfo(machine=machine, needed_versions=frozenset(names))


def read_elf_file(path: Path) -> ElfInfo:
    try:
        return read_elf(path.read_bytes())
    except ElfError as exc:
        raise ElfError(f"{path}: {exc}") from exc


def _section(reader: _Reader, shoff: int, shentsize: int, index: int) -> tuple[int, int, int, int, int]:
    """(sh_type, sh_offset, sh_size, sh_link, sh_info) of section `index`."""
    base = shoff + index * shentsize
    if reader.is64:
        _name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link, sh_info = reader.unpack("IIQQQQII", base)
    else:
        _name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link, sh_info = reader.unpack("IIIIIIII", base)
    return sh_type, sh_offset, sh_size, sh_link, sh_info


def _verneed_from_sections(
    reader: _Reader, shoff: int, shentsize: int, shnum: int
) -> tuple[int, int, int] | None:
    if shoff == 0 or shnum == 0:
        return None
    for index in range(shnum):
        sh_type, sh_offset, _size, sh_link, sh_info = _section(reader, shoff, shentsize, index)
        if sh_type == _SHT_GNU_VERNEED:
            if sh_link >= shnum:
                raise ElfError(f"verneed section links to missing section {sh_link}")
            _t, str_offset, _s, _l, _i = _section(reader, shoff, shentsize, sh_link)
            return sh_offset, sh_info, str_offset
    return None


def _verneed_from_dynamic(
    reader: _Reader, phoff: int, phentsize: int, phnum: int
) -> tuple[int, int, int] | None:
    """Stripped objects keep their program headers: find DT_VERNEED and map its address to a file offset."""
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    dynamic: tuple[int, int] | None = None
    for index in range(phnum):
        base = phoff + index * phentsize
        if reader.is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = reader.unpack("IIQQQQ", base)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = reader.unpack("IIIII", base)
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return None
    entry_fmt, entry_size = ("qQ", 16) if reader.is64 else ("iI", 8)
    tags: dict[int, int] = {}
    for offset in range(dynamic[0], dynamic[0] + dynamic[1], entry_size):
        tag, value = reader.unpack(entry_fmt, offset)
        if tag == _DT_NULL:
            break
        tags.setdefault(tag, value)
    if _DT_VERNEED not in tags or _DT_STRTAB not in tags:
        return None

    def to_offset(vaddr: int) -> int:
        for start, file_offset, size in loads:
            if start <= vaddr < start + size:
                return file_offset + (vaddr - start)
        raise ElfError(f"address {vaddr:#x} is in no loaded segment")

    return to_offset(tags[_DT_VERNEED]), tags.get(_DT_VERNEEDNUM, 0), to_offset(tags[_DT_STRTAB])


def _walk_verneed(reader: _Reader, offset: int, count: int, strtab: int) -> set[str]:
    names: set[str] = set()
    seen = 0
    while seen < count:
        _version, aux_count, _file, aux, next_entry = reader.unpack("HHIII", offset)
        aux_offset = offset + aux
        for _ in range(aux_count):
            _hash, _flags, _other, name, aux_next = reader.unpack("IHHII", aux_offset)
            names.add(reader.cstring(strtab + name))
            if aux_next == 0:
                break
            aux_offset += aux_next
        seen += 1
        if next_entry == 0:
            break
        offset += next_entry
    return names
