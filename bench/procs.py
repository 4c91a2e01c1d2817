"""Run a command and watch its process tree: wall time, and each process's life and peak memory.

``run_watched`` starts the command, then polls its descendants (psutil, which
ipykernel itself depends on) every ``poll_s`` seconds. For every process seen
it keeps the command line, the start time (the kernel's own ``create_time``),
the last time it was seen alive and its peak resident memory: on Linux the
kernel's high-water mark ``VmHWM`` from ``/proc/<pid>/status`` (exact up to
the last poll before the process exits), elsewhere the largest polled RSS.

A Jupyter kernel is a process whose command line runs ``ipykernel``; its
lifetime (start to exit, within one poll interval) is the chapter's time as
a workshop participant meets it: kernel start, every cell, shutdown.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass
class Seen:
    """One process of the watched tree."""

    pid: int
    cmdline: str
    start: float            # epoch seconds (the process's create_time)
    last: float             # epoch seconds, last poll that found it alive
    peak_kb: int = 0        # peak resident memory, KiB

    @property
    def seconds(self) -> float:
        return self.last - self.start

    @property
    def is_kernel(self) -> bool:
        return "ipykernel" in self.cmdline


@dataclass
class Watched:
    """What :func:`run_watched` saw."""

    rc: int
    wall_s: float
    stdout: str
    stderr: str
    procs: list[Seen] = field(default_factory=list)

    @property
    def kernels(self) -> list[Seen]:
        return [p for p in self.procs if p.is_kernel]

    @property
    def tree_peak_mb(self) -> float:
        """The largest peak of any one process of the tree, MB (10^6 bytes)."""
        return max((p.peak_kb for p in self.procs), default=0) * 1024 / 1e6


def high_water_kb(proc: psutil.Process) -> int:
    """Peak resident memory of ``proc`` so far, KiB (``VmHWM``; current RSS where /proc has none)."""
    try:
        with open(f"/proc/{proc.pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return proc.memory_info().rss // 1024


def run_watched(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                poll_s: float = 0.1) -> Watched:
    """Run ``cmd`` to the end, polling its process tree; see the module docstring."""
    seen: dict[tuple[int, float], Seen] = {}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        root = psutil.Process(proc.pid)
        while True:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = []
            now = time.time()
            for p in tree:
                try:
                    key = (p.pid, p.create_time())
                    s = seen.get(key)
                    if s is None:
                        s = seen[key] = Seen(p.pid, " ".join(p.cmdline()), key[1], now)
                    s.peak_kb = max(s.peak_kb, high_water_kb(p))
                    s.last = now
                except psutil.Error:  # it ended between the listing and the reading
                    continue
            if proc.poll() is not None:
                break
            time.sleep(poll_s)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        return Watched(proc.returncode, wall, out.read(), err.read(), list(seen.values()))


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment with ``extra`` set (used for every measured command)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
