"""``citybridge build --no-cache [--workers N]`` in two timed phases, for the bench.

``python bench/build_timed.py PROJECT WORKERS`` runs, in PROJECT, exactly what
``citybridge build --no-cache --workers WORKERS`` runs (citybridge.book.build),
with the notebook phase (execution, generated pages) and the HTML phase
(Jupyter Book / Sphinx) timed apart. Prints JSON.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    root, workers = Path(sys.argv[1]).resolve(), int(sys.argv[2])
    os.chdir(root)
    from citybridge.book import build, build_html

    t0 = time.perf_counter()
    report, _ = build(root, workers=workers, use_cache=False, html_out=False)
    t1 = time.perf_counter()
    build_html(root / "book")
    t2 = time.perf_counter()
    print(json.dumps({"notebooks_s": t1 - t0, "html_s": t2 - t1, "total_s": t2 - t0,
                      "jobs": len(report.results), "failed": [r.job.label for r in report.failures],
                      "city_errors": report.city_errors}))
