"""Build artefacts computed once per city and kept on disk: the prepared service day and the KPI board.

A city's KPI board is computed once (by the build, in a worker process
before the chapters; or by the chapter that first needs it when a chapter is
run on its own) and stored as Parquet under ``.citybridge-cache/artifacts/``, keyed
by a hash of the city's files and of the package source. Side-by-side
sections and the comparison read the stored board instead of re-reading
another city's feed; a change to a city's files or to the package gives a
new key, so a stored board is never stale.

The folder can be moved with the environment variable ``CITYBRIDGE_CACHE``.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pandas as pd

from .city import City, project_root

#: Environment variable naming the cache folder (default ``<project>/.citybridge-cache``).
CACHE_ENV = "CITYBRIDGE_CACHE"


def cache_dir(start: Path | None = None) -> Path:
    """The folder holding stored artefacts, for the project found from ``start``
    (default: the working directory, as a kernel finds it)."""
    base = os.environ.get(CACHE_ENV) or str(project_root(start) / ".citybridge-cache")
    return Path(base) / "artifacts"


def city_key(city: City, *, date: str | None = None) -> str:
    """Hash of the city's files, the analysis date, the package source and the library versions."""
    from .pipeline import environment_fingerprint, hash_files, is_temporary, package_hash

    h = hashlib.sha256()
    h.update(package_hash().encode() + b"\0" + environment_fingerprint().encode() + b"\0"
             + (date or "").encode() + b"\0")
    hash_files([p for p in city.data_files() if not is_temporary(p)], h, base=city.folder)
    return h.hexdigest()[:24]


def board_path(city: City, *, date: str | None = None, folder: Path | None = None) -> Path:
    """Where the city's KPI board for its current files is stored (in ``folder``,
    default :func:`cache_dir`); the file exists only once it was computed."""
    return (folder or cache_dir()) / f"kpi-{city.slug}-{(date or 'default')}-{city_key(city, date=date)}.parquet"


def kpi_board(city: City, *, date: str | None = None, folder: Path | None = None) -> pd.DataFrame:
    """The city's KPI board (:func:`citybridge.kpi.kpi_table`), computed once and stored.

    Returns
    -------
    DataFrame
        As :func:`citybridge.kpi.kpi_table`.
    """
    from .kpi import kpi_table

    path = board_path(city, date=date, folder=folder)
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError):
            pass  # unreadable (e.g. a half-written file from a killed run): compute again
    board = kpi_table(city, date=date)
    _store(path, lambda tmp: board.to_parquet(tmp, index=False))
    return board


def artifact_path(city: City, kind: str, *, params: dict | None = None, date: str | None = None,
                  folder: Path | None = None) -> Path:
    """Where a stored result of ``kind`` for the city's current files, the
    package, the date and the parameters ``params`` lives (in ``folder``,
    default :func:`cache_dir`)."""
    h = hashlib.sha256((city_key(city, date=date) + "\0" + repr(sorted((params or {}).items()))).encode())
    return (folder or cache_dir()) / f"{kind}-{city.slug}-{(date or 'default')}-{h.hexdigest()[:24]}.pkl"


def stored(city: City, kind: str, compute, *, params: dict | None = None, date: str | None = None,
           folder: Path | None = None):
    """The result of ``compute()`` for the city, read from the artefact cache
    when stored for the same files, package, date and ``params``, else
    computed and stored (pickle). A stored result of other parameters is
    replaced, so a participant who changes a parameter gets a fresh
    computation and the next default run computes the default again."""
    path = artifact_path(city, kind, params=params, date=date, folder=folder)
    if path.is_file():
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001 - a damaged or foreign cache file is simply recomputed
            pass
    value = compute()

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            pickle.dump(value, f, protocol=5)

    _store(path, write)
    return value


def _store(path: Path, write) -> None:
    """Write atomically; drop older artefacts of the same kind and city; never fail the caller."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        write(tmp)
        os.replace(tmp, path)
        prefix = path.name.rsplit("-", 1)[0] + "-"
        for old in path.parent.glob(prefix + "*"):
            if old != path and old.suffix == path.suffix:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only checkout still gets its result, just not stored


def _day_path(city: City, date: str | None) -> Path:
    return cache_dir() / f"day-{city.slug}-{(date or 'default')}-{city_key(city, date=date)}.pkl"


def load_day(city: City, date: str | None):
    """The city's prepared service day stored by :func:`store_day`, or None."""
    path = _day_path(city, date)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except Exception:  # noqa: BLE001 - a damaged or foreign cache file is simply recomputed
        return None


def store_day(city: City, date: str | None, day) -> None:
    """Store a prepared service day (pickle; the key covers files, package and library versions)."""
    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            pickle.dump(day, f, protocol=5)

    _store(_day_path(city, date), write)
