"""Run one command in a fresh process; print its wall time and peak RSS as JSON.

``python bench/measure.py CMD ARGS...`` starts CMD as its only child, so
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is CMD's own peak resident memory
(or that of its largest descendant), not a maximum over earlier runs.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

if __name__ == "__main__":
    t0 = time.perf_counter()
    proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({"rc": proc.returncode, "wall_s": wall, "peak_mb": peak_kb / 1024,
                      "stdout": proc.stdout[-20000:], "stderr": proc.stderr[-4000:]}))
