"""The sample builder's file formats: reading the source tables, writing deterministic files.

Same inputs, same bytes: CSV with ``\\n`` line ends, coordinates with six
decimals, JSON in the given key order, zips with sorted entries and fixed
timestamps and permissions.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import yaml

from citybridge.errors import DataError, where


#: Fixed timestamp of every zip entry (keeps the bytes identical run to run).
ZIP_DATE_TIME = (2026, 1, 1, 0, 0, 0)


def read_csv(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The rows of a source table (UTF-8 CSV) as dicts, refusing missing columns and ragged rows."""
    if not path.is_file():
        raise DataError(f"{path}: sample table not found; restore it from version control")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    cols = set(rows[0]) if rows else set()
    for c in required:
        if c not in cols:
            raise DataError(f"{where(path, c)}: column missing; add it (see data/README.md)")
    for i, r in enumerate(rows, start=1):
        if None in r:
            raise DataError(f"{where(path, row=i)}: more fields than columns; quote values with commas")
    return rows


def read_yaml(path: Path) -> dict:
    """A source settings file (YAML mapping)."""
    if not path.is_file():
        raise DataError(f"{path}: sample file not found; restore it from version control")
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of settings")
    return data


def seconds_of(hms: str) -> int:
    """``"05:30"`` or ``"25:30:00"`` to seconds after midnight."""
    parts = [int(p) for p in hms.strip().split(":")]
    while len(parts) < 3:
        parts.append(0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def hhmmss(s: int) -> str:
    """Seconds after midnight as ``HH:MM:SS`` (hours may pass 24)."""
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def f6(x: float) -> str:
    """A coordinate with six decimals (about 0.1 m), the fixed format of every sample file."""
    return f"{x:.6f}"


def csv_text(header: list[str], rows: list[list]) -> str:
    """CSV text with ``\\n`` line ends, as written into the sample feeds."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_text(path: Path, text: str, written: list[Path]) -> None:
    """Write UTF-8 text with ``\\n`` line ends and add ``path`` to ``written``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    written.append(path)


def json_text(obj) -> str:
    """JSON text as the sample files hold it (UTF-8, indented by one, keys in given order)."""
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def write_zip(path: Path, tables: dict[str, str], written: list[Path]) -> None:
    """A zip of CSV tables with sorted entries, fixed timestamps and permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name in sorted(tables):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, tables[name].encode("utf-8"), compresslevel=6)
    written.append(path)
