"""Build artefacts computed once per city and kept on disk: the KPI board.

A city's KPI board is computed once (by whichever chapter or command first
needs it) and stored as Parquet under ``.citybridge-cache/artifacts/``, keyed
by a hash of the city's files and of the package source. Side-by-side
sections and the comparison read the stored board instead of re-reading
another city's feed; a change to a city's files or to the package gives a
new key, so a stored board is never stale.

The folder can be moved with the environment variable ``CITYBRIDGE_CACHE``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from .city import City, project_root

#: Environment variable naming the cache folder (default ``<project>/.citybridge-cache``).
CACHE_ENV = "CITYBRIDGE_CACHE"


def cache_dir() -> Path:
    """The folder holding stored artefacts."""
    base = os.environ.get(CACHE_ENV) or str(project_root() / ".citybridge-cache")
    return Path(base) / "artifacts"


def city_key(city: City, *, date: str | None = None) -> str:
    """Hash of the city's files, the analysis date and the package source."""
    from .pipeline import hash_files, package_hash

    h = hashlib.sha256()
    h.update(package_hash().encode() + b"\0" + (date or "").encode() + b"\0")
    hash_files(city.data_files(), h, base=city.folder)
    return h.hexdigest()[:24]


def kpi_board(city: City, *, date: str | None = None) -> pd.DataFrame:
    """The city's KPI board (:func:`citybridge.kpi.kpi_table`), computed once and stored.

    Returns
    -------
    DataFrame
        As :func:`citybridge.kpi.kpi_table`.
    """
    from .kpi import kpi_table

    path = cache_dir() / f"kpi-{city.slug}-{city_key(city, date=date)}.parquet"
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError):
            pass  # unreadable (e.g. a half-written file from a killed run): compute again
    board = kpi_table(city, date=date)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        board.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only checkout still gets its board, just not stored
    return board
