"""Calendar and date choice: which services and trips run on a date, and
the default analysis date of a feed."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..errors import FeedError
from ..texts import Text, TextStr, tr
from ..periods import times_to_seconds


def to_date(d: str | dt.date) -> dt.date:
    """A ``YYYYMMDD`` text (or a date) as a date; :class:`FeedError` otherwise."""
    if isinstance(d, dt.date):
        return d
    try:
        return dt.datetime.strptime(str(d), "%Y%m%d").date()
    except ValueError:
        raise FeedError(tr("date '{date}' is not YYYYMMDD (for example 20260317)", date=str(d))) from None


def feed_date_range(feed) -> tuple[dt.date, dt.date]:
    """First and last date with any service in the feed."""
    dates = []
    if feed.calendar is not None and not feed.calendar.empty:
        dates += list(feed.calendar["start_date"]) + list(feed.calendar["end_date"])
    if feed.calendar_dates is not None and not feed.calendar_dates.empty:
        dates += list(feed.calendar_dates["date"])
    if not dates:
        raise FeedError(tr("the feed has no calendar.txt or calendar_dates.txt rows; add service dates"))
    ds = sorted(to_date(str(d)) for d in dates)
    return ds[0], ds[-1]


_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def active_services(feed, date: str | dt.date) -> set[str]:
    """Service ids running on ``date``: calendar.txt, then calendar_dates.txt
    additions (exception_type 1) and removals (2)."""
    d = to_date(date)
    ds = d.strftime("%Y%m%d")
    active: set[str] = set()
    cal = feed.calendar
    if cal is not None and not cal.empty:
        wd = _WEEKDAYS[d.weekday()]
        on = (cal["start_date"].astype(str) <= ds) & (cal["end_date"].astype(str) >= ds) & \
             (pd.to_numeric(cal[wd], errors="coerce") == 1)
        active |= set(cal.loc[on, "service_id"].astype(str))
    cd = feed.calendar_dates
    if cd is not None and not cd.empty:
        today = cd[cd["date"].astype(str) == ds]
        et = pd.to_numeric(today["exception_type"], errors="coerce")
        active |= set(today.loc[et == 1, "service_id"].astype(str))
        active -= set(today.loc[et == 2, "service_id"].astype(str))
    return active


def trips_per_template(feed) -> pd.Series:
    """Number of concrete trips each trip row stands for (frequencies expanded).

    Indexed by trip_id; a trip without ``frequencies.txt`` rows counts 1.
    """
    trips = feed.trips["trip_id"].astype(str)
    out = pd.Series(1, index=pd.Index(trips, name="trip_id"), dtype=float)
    fr = feed.frequencies
    if fr is not None and not fr.empty:
        f = _frequency_departures_count(fr)
        out.loc[f.index.intersection(out.index)] = f.reindex(out.index).dropna()
    return out


def _frequency_departures_count(fr: pd.DataFrame) -> pd.Series:
    start = times_to_seconds(fr["start_time"])
    end = times_to_seconds(fr["end_time"])
    hw = pd.to_numeric(fr["headway_secs"], errors="coerce")
    ok = start.notna() & end.notna() & hw.notna() & (hw > 0)
    n = np.ceil((end[ok] - start[ok]) / hw[ok]).clip(lower=0)
    return n.groupby(fr.loc[ok, "trip_id"].astype(str).to_numpy()).sum()


def trips_by_date(feed, dates: list[dt.date]) -> pd.Series:
    """Concrete trips (frequencies expanded) running on each date."""
    per = trips_per_template(feed)
    svc = feed.trips.assign(n=per.to_numpy()).groupby("service_id")["n"].sum()
    counts = {}
    for d in dates:
        act = active_services(feed, d)
        counts[d.strftime("%Y%m%d")] = float(svc[svc.index.astype(str).isin(act)].sum())
    return pd.Series(counts, dtype=float)


def choose_date(feed) -> str:
    """Default analysis date as ``YYYYMMDD``.

    The weekday (Monday–Friday) with the most trips (frequency-based trips
    expanded) in the feed's first full week (Monday to Sunday inside the
    feed's date range); ties go to the earliest day. Feeds shorter than a
    full week use their busiest weekday (or busiest day). A feed with no
    weekday service at all (weekends only) uses its busiest day with service
    (see :func:`date_choice_note`).
    """
    start, end = feed_date_range(feed)
    monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    if monday + dt.timedelta(days=6) <= end:
        days = [monday + dt.timedelta(days=i) for i in range(5)]
    else:
        days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
        wk = [d for d in days if d.weekday() < 5]
        days = wk or days
    counts = trips_by_date(feed, days)
    if counts.max() <= 0:
        # no weekday service (a weekend-only or holiday feed): the busiest day with service
        span = min((end - start).days + 1, 400)
        every = [start + dt.timedelta(days=i) for i in range(span)]
        counts = trips_by_date(feed, every)
    if counts.empty or counts.max() <= 0:
        raise FeedError(tr("no trips run on any day from {start} to {end}; check that the trips' service_id values "
                           "appear in calendar.txt / calendar_dates.txt on days inside the feed's dates (and the "
                           "notes on frequencies.txt, if any)", start=str(start), end=str(end)))
    return str(counts.idxmax())


def weekday_name(d: dt.date) -> str:
    """The name of ``d``'s day of the week in the language in force (``Saturday``, ``sábado``, ``星期六``)."""
    from babel.dates import format_date

    from .. import i18n

    return format_date(d, "EEEE", locale=i18n.language().babel)


def date_choice_text(date: str) -> list[Text]:
    """:func:`date_choice_note` as texts translated when shown (the data check shows them per language)."""
    d = to_date(date)
    if d.weekday() < 5:
        return []
    return [Text("the feed has no weekday service, so the analysis day is {day} {date}, the busiest day with "
                 "service; figures describe that day, not a working day", day=Text.of(weekday_name, d),
                 date=f"{d:%Y-%m-%d}")]


def date_choice_note(date: str) -> list[str]:
    """A note when the default analysis date is not a weekday (the feed has
    no weekday service), saying which day was chosen (in English: the service
    day's notes are computed once and cached), each carrying its translation
    (:class:`~citybridge.texts.TextStr`)."""
    return [TextStr(t) for t in date_choice_text(date)]


def active_trips(feed, date: str) -> pd.DataFrame:
    """The rows of ``trips.txt`` running on ``date`` (YYYYMMDD), with text ids,
    an integer ``direction_id`` (0 where absent) and ``vehicle_energy``
    (``unknown`` where absent).

    Raises
    ------
    FeedError
        No trip runs on the date.
    """
    trips = feed.trips.copy()
    for c in ("trip_id", "route_id", "service_id"):
        trips[c] = trips[c].astype(str)
    trips = trips[trips["service_id"].isin(active_services(feed, date))]
    if trips.empty:
        lo, hi = feed_date_range(feed)
        first, last = f"{lo:%Y%m%d}", f"{hi:%Y%m%d}"
        raise FeedError(tr("no trips run on {date} (the feed covers {first}–{last}); choose a date inside the "
                           "feed's calendar", date=str(date), first=first, last=last))
    if "direction_id" not in trips:
        trips["direction_id"] = 0
    trips["direction_id"] = pd.to_numeric(trips["direction_id"], errors="coerce").fillna(0).astype(int)
    if "vehicle_energy" not in trips:
        trips["vehicle_energy"] = "unknown"
    trips["vehicle_energy"] = trips["vehicle_energy"].fillna("unknown").replace("", "unknown").astype(str)
    return trips

