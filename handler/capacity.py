"""The function's smallest memory size and its time guard, derived from the worst input the limits accept.

On Lambda, running out of memory kills the invocation: the whole batch is redelivered and, after the last
receive, the photo reaches the DLQ without a notice. So no accepted input may get near the memory size: the
template's MemorySize minimum (MinValue, checked against MIN_MEMORY_MB by tests/template) leaves
MEMORY_HEADROOM over the highest peak measured. The same worst inputs set the time guard: a record is only
started when the worst accepted photo still fits in the invocation's remaining time at the smallest memory
size, where Lambda gives the least CPU.

The figures come from `python -m harness.worstcase` (run by `nox -s bench`), which fails when they no longer
cover what it measures. Measured 2026-12-01 on the 2-core development machine (shared, so CPU times are
ranges over repeats); the worst inputs are in fixtures/worstcase.py, the decoder limits in
handler/imaging/limits.py.
"""

from __future__ import annotations

import math
from typing import Final

WORST_PEAK_RSS_MIB: Final = 522.0
"""Highest peak RSS of a whole process (interpreter, handler, boto3 clients, one photo) over every worst
accepted input, fresh and warm: a 50 MP 16-bit RGBA PNG in a warm process, 520-522 MiB in two runs (a
50 MP RGBA TIFF 514, a 50 MP AVIF 502, a 48 MP 10-bit HEIF 463-465, a 25 MP WebP 458-459)."""
WORST_CPU_S: Final = 5.5
"""CPU (user + system, one core of the development machine) of the slowest worst accepted input, the 48 MP
10-bit HEIF: median 4.85 s, 4.0-5.35 s over eight runs on a shared machine, rounded up. Every other worst
input's median was at most 1.4 s."""

MEMORY_HEADROOM: Final = 1.3
"""At least 30% over the worst peak: allocator fragmentation in a long-lived container, and inputs a little
unlike the measured ones."""
MEMORY_STEP_MB: Final = 64

FULL_VCPU_MB: Final = 1769
"""Lambda gives one vCPU at 1,769 MB and a proportional share below it."""
ARM64_CPU_FACTOR: Final = 1.15
"""Graviton CPU time relative to this x86_64 machine: the assumption harness.measures.costmodel also makes."""
IO_ALLOWANCE_MS: Final = 2000
"""Reading a 50 MiB upload from S3 and writing the renditions (tens of MB/s inside a region)."""
SHORTEST_TIMEOUT_S: Final = 15
"""The shortest function timeout the template offers (its Timeout parameter)."""


def memory_needed_mb(peak_mib: float) -> int:
    """The smallest MemorySize (Lambda's MB are MiB) leaving MEMORY_HEADROOM over `peak_mib`, in steps."""
    return math.ceil(peak_mib * MEMORY_HEADROOM / MEMORY_STEP_MB) * MEMORY_STEP_MB


def time_guard_ms(cpu_s: float, memory_mb: int) -> int:
    """Milliseconds the worst photo needs at `memory_mb`: its CPU time stretched by the CPU share Lambda
    gives (memory / 1,769 MB, at most one vCPU), for the slower architecture, plus the S3 I/O."""
    share = min(1.0, memory_mb / FULL_VCPU_MB)
    return math.ceil(cpu_s * ARM64_CPU_FACTOR / share * 10) * 100 + IO_ALLOWANCE_MS


def memory_for_time_mb(cpu_s: float, timeout_s: int) -> int:
    """The smallest MemorySize (in steps) at which the worst photo's time guard fits in `timeout_s`: below
    it, an invocation could not start the worst photo at all and would hand every record back."""
    memory = MEMORY_STEP_MB
    while time_guard_ms(cpu_s, memory) > timeout_s * 1000:
        memory += MEMORY_STEP_MB
    return memory


MIN_MEMORY_MB: Final = max(
    memory_needed_mb(WORST_PEAK_RSS_MIB), memory_for_time_mb(WORST_CPU_S, SHORTEST_TIMEOUT_S)
)
"""The template's MemorySize MinValue: 896 MB. Memory alone needs 704 MB (522 MiB x 1.3, in 64 MB steps); the
time guard needs 896 MB, where the worst photo's 5.5 s of CPU take 12.5 s at 896/1769 of a vCPU (x 1.15 for
arm64), plus 2 s of I/O: 14.5 s, within the shortest timeout of 15 s."""


def min_remaining_ms(memory_mb: str | int | None) -> int:
    """The time guard for a container of `memory_mb` (Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE): 14.5 s at
    the smallest allowed size, 8.4 s from 1,769 MB up. Unknown or unreadable: the smallest allowed size."""
    try:
        memory = max(MIN_MEMORY_MB, int(memory_mb or 0))
    except ValueError:
        memory = MIN_MEMORY_MB
    return time_guard_ms(WORST_CPU_S, memory)


MIN_REMAINING_MS: Final = min_remaining_ms(MIN_MEMORY_MB)
"""The guard at the smallest allowed memory size: the largest it can be."""
