"""Integer-coded columns of ``stop_times.txt`` and their one check.

Both ways into a service day (:func:`citybridge.feed.read_day`, which streams
the file, and :func:`citybridge.feed.prepare_day`, which starts from a
``gtfs_kit.Feed``) hold stop times as :class:`Column` objects and check them
with :func:`check_stop_times`, so blank ids and unreadable stop sequences are
refused once, in one way, naming the file, column and row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import FeedError, where
from ..texts import tr

#: The file and the columns of it that the service day uses.
STOP_TIMES = "stop_times.txt"
STOP_TIME_COLUMNS = ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time",
                     "shape_dist_traveled")


@dataclass
class Column:
    """One dictionary-encoded text column: ``values[codes]`` is the cleaned text.

    Attributes
    ----------
    codes : ndarray of int32
        One code per row.
    values : ndarray of object
        The distinct stripped strings.
    """

    codes: np.ndarray
    values: np.ndarray


def frame_columns(df: pd.DataFrame) -> dict[str, Column]:
    """The :data:`STOP_TIME_COLUMNS` of a text table as :class:`Column` objects
    (blank for missing values; white space stripped)."""
    out = {}
    for c in STOP_TIME_COLUMNS:
        if c in df.columns:
            v = df[c].fillna("").astype(str).str.strip()
            codes, uniq = pd.factorize(v)
            out[c] = Column(codes.astype(np.int32), np.asarray(uniq, dtype=object))
    return out


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0]) + 1


def check_stop_times(cols: dict[str, Column], names: list[str], label: str) -> np.ndarray:
    """Refuse stop times the workbook cannot use; return each row's stop_sequence.

    Parameters
    ----------
    cols
        The coded columns (``trip_id``, ``stop_id``, ``stop_sequence`` at least).
    names
        Every column name of the file.
    label
        The file, for messages.

    Returns
    -------
    ndarray of float
        ``stop_sequence`` of each distinct value of the column: the
        sequence of row *i* is ``result[cols["stop_sequence"].codes[i]]``
        (a row array of millions is made only for the rows that need it).

    Raises
    ------
    FeedError
        A blank ``trip_id`` or ``stop_id``, a ``stop_sequence`` that is not a
        whole number, or neither ``arrival_time`` nor ``departure_time``
        present (file, column and first row named).
    """
    for key in ("trip_id", "stop_id"):
        c = cols[key]
        blank_u = c.values == ""
        if blank_u.any():
            blank = blank_u[c.codes]
            raise FeedError(f"{where(label, key, _first(blank))}: "
                            + tr("the {key} is blank ({n:,} row(s)); every row needs one", key=key,
                                 n=int(blank.sum())))
    c = cols["stop_sequence"]
    seq_u = pd.to_numeric(pd.Series(c.values, dtype=object), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad_u = np.isnan(seq_u) | (seq_u < 0) | (seq_u != np.round(seq_u))
    if bad_u.any():
        bad = bad_u[c.codes]
        i = _first(bad)
        raise FeedError(f"{where(label, 'stop_sequence', i)}: "
                        + tr("'{value}' is not a whole number ({n:,} row(s)); stop_sequence orders the stops of a "
                             "trip: write 1, 2, 3, …", value=str(c.values[c.codes[i - 1]]), n=int(bad.sum())))
    if "arrival_time" not in names and "departure_time" not in names:
        raise FeedError(f"{where(label, 'departure_time')}: "
                        + tr("neither arrival_time nor departure_time is present; the timetable needs times"))
    return seq_u
