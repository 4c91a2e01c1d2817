"""Periods of the day and time-of-day parsing, in one place.

Every module that reads ``H:MM[:SS]`` text or assigns a time to a period of
the day goes through this room:

* :func:`hhmm_to_seconds` reads one time written by a person (``city.yml``
  periods, a window passed as an argument) and refuses what is not a time;
* :func:`times_to_seconds` and :func:`parse_times` read timetable columns
  (GTFS ``arrival_time``, ``start_time`` …): blank or unreadable values become
  NaN, each distinct text is parsed once;
* :func:`seconds_to_hhmm` writes seconds back as ``HH:MM``;
* :func:`period_table`, :func:`period_of` and :func:`period_codes` place
  times in the periods of the day (``[start, end)``, first listed wins),
  with :data:`OTHER` for times outside every period.

Times are seconds after midnight of the service day and may exceed 86,400
(a trip at 24:50 is at 89,400 s).
"""
from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import ProfileError
from .i18n import N_
from .texts import tr

#: Default analysis periods (local time, ``[start, end)``). A profile may
#: override them because peaks differ by city.
DEFAULT_PERIODS: dict[str, tuple[str, str]] = {
    "early": ("04:00", "07:00"),
    "am_peak": ("07:00", "09:00"),
    "midday": ("09:00", "17:00"),
    "pm_peak": ("17:00", "20:00"),
    "evening": ("20:00", "23:00"),
    "night": ("23:00", "28:00"),
}

#: Name given to times outside every period.
OTHER = N_("other")

#: The default periods' names as tables show them, marked for the catalogs
#: (a table cell ``midday`` reads ``fuera de punta (mediodía)`` in Spanish;
#: ``am_peak`` and ``pm_peak`` read as words through
#: :data:`citybridge.notebook.IDENTIFIERS`).
PERIOD_NAMES = (N_("early"), N_("midday"), N_("evening"), N_("night"), OTHER)

Periods = Mapping[str, tuple[str, str]]

_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
#: A timetable time: 1-3 hour digits, minutes and (optional) seconds below 60.
_TIMETABLE = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d))?$")
_TIMETABLE_ASCII = r"^[0-9]{1,3}:[0-5][0-9](:[0-5][0-9])?$"


def hhmm_to_seconds(t: str) -> int:
    """``HH:MM`` or ``HH:MM:SS`` (hours may exceed 24) to seconds after midnight.

    Raises
    ------
    ProfileError
        The text is not a time.
    """
    m = _HHMM.match(str(t))
    if not m:
        raise ProfileError(tr("time '{time}' is not HH:MM (for example 07:30 or 25:00); check the 'periods' of "
                              "city.yml or the argument you passed", time=str(t)))
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    return h * 3600 + mi * 60 + s


def parse_times(values: np.ndarray) -> np.ndarray:
    """Timetable times (``H:MM:SS``, hours may exceed 24; ``H:MM`` read as
    ``H:MM:00``) to seconds after midnight, as float; NaN when blank or
    unreadable.

    Meant for the distinct values of a column (each is parsed once):
    ASCII text is matched with pyarrow, anything else with a regular
    expression. White space around a value is ignored.

    Parameters
    ----------
    values
        Array of str.

    Returns
    -------
    ndarray of float
        Seconds (s), same length as ``values``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = np.asarray(values, dtype=object)
    out = np.full(len(values), np.nan)
    if not len(values):
        return out
    arr = pc.utf8_trim_whitespace(pa.array(values, type=pa.string(), from_pandas=True))
    ascii_ = pc.fill_null(pc.string_is_ascii(arr), True).to_numpy(zero_copy_only=False)
    ok = pc.fill_null(pc.match_substring_regex(arr, _TIMETABLE_ASCII), False).to_numpy(zero_copy_only=False)
    ok &= ascii_
    if ok.any():
        parts = pc.split_pattern(pc.filter(arr, pa.array(ok)), ":")
        n = pc.list_value_length(parts).to_numpy(zero_copy_only=False)
        flat = pc.cast(pc.list_flatten(parts), pa.int64()).to_numpy()
        pos = np.cumsum(n) - n
        sec = flat[pos] * 3600 + flat[pos + 1] * 60 + np.where(n == 3, flat[np.minimum(pos + 2, len(flat) - 1)], 0)
        out[ok] = sec
    for i in np.flatnonzero(~ascii_):
        m = _TIMETABLE.match(str(values[i]).strip())
        if m:
            out[i] = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
    return out


def times_to_seconds(s: pd.Series) -> pd.Series:
    """A column of timetable times to seconds after midnight (float, NaN when
    blank or unreadable), indexed like ``s``; see :func:`parse_times`."""
    codes, uniq = pd.factorize(s.astype("string"), use_na_sentinel=True)
    sec = np.r_[parse_times(np.asarray(uniq, dtype=object)), np.nan]
    return pd.Series(sec[codes], index=s.index, dtype=float)


def seconds_to_hhmm(sec: pd.Series) -> pd.Series:
    """Seconds after midnight to ``HH:MM`` strings (hours may exceed 24);
    NaN becomes an empty string. Vectorised."""
    s = pd.to_numeric(sec, errors="coerce")
    ok = s.notna()
    r = s.where(ok, 0).round().astype(np.int64)
    out = (r // 3600).astype(str).str.zfill(2) + ":" + (r % 3600 // 60).astype(str).str.zfill(2)
    return out.where(ok, "")


def period_table(periods: Periods | None = None) -> pd.DataFrame:
    """The periods as a table, in the order given.

    Parameters
    ----------
    periods
        ``{name: ("HH:MM", "HH:MM")}``, ``[start, end)``; the end may pass
        24:00. Default :data:`DEFAULT_PERIODS`.

    Returns
    -------
    DataFrame
        - ``period``: name
        - ``start``, ``end``: ``HH:MM`` as given
        - ``start_s``, ``end_s``: seconds after midnight of the service day
        - ``minutes``: length of the period (min)

    Raises
    ------
    ProfileError
        A time is not ``HH:MM``, a period ends before it starts, or the name
        ``other`` (reserved for times outside every period) is used.
    """
    periods = dict(DEFAULT_PERIODS if periods is None else periods)
    if not periods:
        raise ProfileError(tr("no periods given; pass e.g. {'am_peak': ('07:00', '09:00')}"))
    rows = []
    for name, (start, end) in periods.items():
        if name == OTHER:
            raise ProfileError(tr("period name '{name}' is reserved for times outside every period; rename it in "
                                  "the 'periods' of city.yml", name=OTHER))
        a, b = hhmm_to_seconds(start), hhmm_to_seconds(end)
        if b <= a:
            raise ProfileError(tr("period '{name}' ends ({end}) before it starts ({start}); write times past "
                                  "midnight as 24:00–28:00", name=name, end=end, start=start))
        rows.append((name, start, end, a, b, (b - a) / 60))
    return pd.DataFrame(rows, columns=["period", "start", "end", "start_s", "end_s", "minutes"])


def period_codes(seconds: np.ndarray, pt: pd.DataFrame) -> np.ndarray:
    """Index in ``pt`` (a :func:`period_table`) of the period of each time;
    ``len(pt)`` for times outside every period (and NaN). Where periods
    overlap the first one listed wins.

    Returns
    -------
    ndarray of int16
        One code per time.
    """
    s = np.asarray(seconds, dtype=float)
    P = len(pt)
    a, b = pt["start_s"].to_numpy(dtype=float), pt["end_s"].to_numpy(dtype=float)
    lo, hi = (a.min(), b.max()) if P else (0.0, 0.0)
    if P and (a == np.round(a)).all() and (b == np.round(b)).all() and hi - lo <= 10 * 86400:
        # whole-second bounds (as HH:MM gives): a table of each second's code, read at each time's second
        first = int(lo) - 1  # the second before the first period; the table's last entry is the one after
        table = np.full(int(hi) - first + 1, P, dtype=np.int16)
        for k in range(P - 1, -1, -1):
            table[int(a[k]) - first:int(b[k]) - first] = k
        x = np.clip(s - first, 0, len(table) - 1)
        x[np.isnan(x)] = len(table) - 1
        return table[x.astype(np.int64)]  # x >= 0, so truncation is the floor
    out = np.full(len(s), P, dtype=np.int16)
    for k in range(P - 1, -1, -1):
        out[(s >= a[k]) & (s < b[k])] = k
    return out


def period_names(pt: pd.DataFrame) -> np.ndarray:
    """Names of the codes of :func:`period_codes`: the periods of ``pt`` then :data:`OTHER`."""
    return np.array(list(pt["period"]) + [OTHER], dtype=object)


def period_of(seconds: pd.Series | np.ndarray, periods: Periods | None = None) -> pd.Series:
    """Name of the period each time falls in (``[start, end)``), else ``"other"``.

    Parameters
    ----------
    seconds
        Seconds after midnight of the service day (may exceed 86,400).
    periods
        ``{name: ("HH:MM", "HH:MM")}``; default :data:`DEFAULT_PERIODS`. Where
        periods overlap the first one listed wins.

    Returns
    -------
    Series
        Period names (str), indexed like ``seconds`` when it is a Series.
        NaN times are ``"other"``.
    """
    pt = period_table(periods)
    index = seconds.index if isinstance(seconds, pd.Series) else None
    s = np.asarray(pd.to_numeric(pd.Series(np.asarray(seconds)), errors="coerce"), dtype=float)
    return pd.Series(period_names(pt)[period_codes(s, pt)], index=index, dtype=str, name="period")


def order_periods(df: pd.DataFrame, pt: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sort ``df`` by ``keys`` then by the order of its ``period`` column in
    ``pt`` (``"other"`` last); stable. Columns unchanged."""
    order = {p: i for i, p in enumerate(list(pt["period"]) + [OTHER])}
    df = df.assign(_o=df["period"].map(order))
    return df.sort_values(keys + ["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
