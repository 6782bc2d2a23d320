"""The machine a benchmark ran on, recorded beside its figures (`smtjlab bench --json`).

Ratios within one run are what the targets judge, but a figure read later needs its machine:
the CPU model, its instruction-set flags (the engine's kernels use AVX2/AVX-512 when present)
and how many cores the process could use.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# The flags that decide the speed of the packed-bit kernels, shown in the text summary.
VECTOR_FLAGS = ("popcnt", "avx2", "avx512f", "avx512bw", "avx512_vpopcntdq", "neon", "asimd")


def machine(cpuinfo: Path = CPUINFO) -> dict:
    """{cpu, flags, cores, usable_cores, architecture, system, python}."""
    fields = _first_processor(cpuinfo)
    flags = (fields.get("flags") or fields.get("features") or "").split()
    return {
        "cpu": fields.get("model name") or platform.processor() or "unknown",
        "flags": flags,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "architecture": platform.machine(),
        "system": platform.platform(),
        "python": platform.python_version(),
    }


def summary(info: dict) -> str:
    """One line for people: the CPU, its cores and its vector flags."""
    vector = " ".join(flag for flag in VECTOR_FLAGS if flag in info["flags"]) or "none known"
    return (
        f"machine: {info['cpu']} ({info['architecture']}), {info['cores']} cores, "
        f"{info['usable_cores']} usable; vector flags: {vector}"
    )


def _first_processor(cpuinfo: Path) -> dict[str, str]:
    """The `key: value` lines of the first processor in /proc/cpuinfo ({} elsewhere)."""
    try:
        text = cpuinfo.read_text()
    except OSError:  # not Linux: platform.processor() names the CPU, flags stay unknown
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    return fields
