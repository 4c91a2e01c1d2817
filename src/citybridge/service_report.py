"""Sentences about service (chapter 02_service), in the language in force.

They read the tables of :mod:`citybridge.service` and write whole sentences
with :func:`citybridge.texts.tr` and :func:`citybridge.i18n.ngettext`, so
that a chapter shows them in every edition's language (``nb.say(fn, ...)``,
``T.of(fn, ...)``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .i18n import N_, ngettext
from .service import HEADWAY_CLASS_NAMES, HEADWAY_CLASSES
from .texts import FORMATTER, tr

#: Between the items of a list written in a sentence (Chinese writes "，").
LIST_SEPARATOR = N_(", ")


def frequent_routes_sentence(mean_headway_min: pd.Series, *, period: str, city: str,
                             max_headway_min: float = 10.0) -> str:
    """How many routes of a city run frequently in one period, as one sentence.

    Parameters
    ----------
    mean_headway_min
        One value per route: its mean headway in the period, busier
        direction (min), as :func:`citybridge.service.route_stats` gives it; NaN for a route
        that does not run then (it counts among the routes, not among the
        frequent ones).
    period
        The period's key (``am_peak``), written as people write it in the
        language in force (:func:`citybridge.notebook.period_label`).
    city
        The city's name, shown as given.
    max_headway_min
        The headway a frequent route keeps or beats (min).

    Returns
    -------
    str
        In the language in force, e.g. ``"In the AM peak period 12 of 39
        routes of Hangzhou run every 10 minutes or better in at least one
        direction."``
    """
    from .notebook import period_label

    h = pd.to_numeric(pd.Series(np.asarray(mean_headway_min)), errors="coerce")
    frequent = int((h <= max_headway_min).sum())
    text = ngettext("In the {period} period {frequent:,} of {routes:,} routes of {city} runs every {limit:,.0f} "
                    "minutes or better in at least one direction.",
                    "In the {period} period {frequent:,} of {routes:,} routes of {city} run every {limit:,.0f} "
                    "minutes or better in at least one direction.", frequent)
    return FORMATTER.format(text, period=period_label(period), frequent=frequent, routes=len(h), city=city,
                            limit=max_headway_min)


def headway_class_counts(classes: pd.Series) -> str:
    """The number of routes in each class of :data:`HEADWAY_CLASSES`, best first, as a list.

    Parameters
    ----------
    classes
        One class per route (output of :func:`headway_class`, or its labels
        as text).

    Returns
    -------
    str
        In the language in force, every class listed (zeros included), e.g.
        ``"≤5: 3 routes, ≤10: 1 route, ≤15: 0 routes, ≤30: 0 routes, >30: 0
        routes, no service: 2 routes"``.
    """
    counts = pd.Series(np.asarray(classes, dtype=object)).astype(str).value_counts()
    items = []
    for cls in HEADWAY_CLASSES:
        n = int(counts.get(cls, 0))
        items.append(FORMATTER.format(ngettext("{cls}: {n:,} route", "{cls}: {n:,} routes", n),
                                      cls=tr(HEADWAY_CLASS_NAMES[cls]) if cls in HEADWAY_CLASS_NAMES else cls, n=n))
    return tr(LIST_SEPARATOR).join(items)
