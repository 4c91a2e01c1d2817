"""Summaries of access results (chapter 03_access): by area class, the rural gap, the least served.

They read the tables of :func:`citybridge.access.coverage` and
:func:`citybridge.access.frequent_coverage` and state the method's
assumptions (:data:`STRAIGHT_LINE`, :data:`AREAL_WEIGHTING`) wherever a
figure is shown.
"""
from __future__ import annotations

import pandas as pd

from .i18n import N_, ngettext
from .inputs import AREA_CLASSES
from .phrases import translate_phrase
from .texts import FORMATTER, Text, resolve, tr, translate

#: Distance method of every access result: a circle around each stop.
STRAIGHT_LINE = "straight line"
#: Population method when no finer layer is given.
AREAL_WEIGHTING = "areal weighting (even spread over each polygon)"


def assumption_text(cov: pd.DataFrame) -> str:
    """The distance and population assumptions behind a coverage table, in words.

    Straight-line catchments overstate access against the UN's walking
    distance along streets, so every access result says which was used.
    """
    pops = sorted(set(cov["population_assumption"].astype(str))) if len(cov) else [AREAL_WEIGHTING]
    dist = sorted(set(cov["distance"].astype(str))) if len(cov) else [STRAIGHT_LINE]
    text = f"{' and '.join(dist)} distance"
    if STRAIGHT_LINE in dist:
        text += " (overstates access against the UN's walking distance along streets)"
    return text + "; population: " + "; ".join(pops)


def summarise(cov: pd.DataFrame) -> pd.DataFrame:
    """City, urban and rural totals of a :func:`coverage` table.

    Returns
    -------
    DataFrame
        Rows ``city`` then each area class present (``urban``, ``rural``,
        then any other):

        - ``scope``: ``city`` or the area class
        - ``districts``: districts in the scope (count)
        - ``population``: people (people)
        - ``pop_covered``: people within the catchment (people)
        - ``share_covered``: ``pop_covered / population`` (0–1; NaN for no people)
        - ``catchment``, ``distance``, ``population_assumption``: carried
          over (distinct values joined with ``"; "``)
    """
    text_cols = [c for c in ("catchment", "distance", "population_assumption") if c in cov.columns]

    def _text(s: pd.Series) -> str:
        return "; ".join(pd.unique(s.astype(str)))

    agg = {"districts": ("district_id", "size"), "population": ("population", "sum"),
           "pop_covered": ("pop_covered", "sum"), **{c: (c, _text) for c in text_cols}}
    city = cov.assign(scope="city").groupby("scope", sort=False).agg(**agg).reset_index()
    by = cov.rename(columns={"area_class": "scope"}).groupby("scope", sort=False).agg(**agg).reset_index()
    order = {c: i for i, c in enumerate(AREA_CLASSES)}
    by = by.assign(_o=by["scope"].map(order).fillna(len(order))).sort_values(["_o", "scope"]).drop(columns="_o")
    out = pd.concat([city, by], ignore_index=True)
    out["share_covered"] = out["pop_covered"] / out["population"].where(out["population"] > 0)
    return out[["scope", "districts", "population", "pop_covered", "share_covered"] + text_cols]


def rural_gap_sentence(summary: pd.DataFrame, *, district_word: str | Text = N_("districts"),
                       reach: str | Text = N_("live within walking distance of transit"),
                       gaps: str | Text = "") -> str:
    """One sentence on the urban–rural gap, computed from :func:`summarise`.

    Percentages are rounded to whole numbers and the gap is the difference
    of the rounded figures, so the sentence adds up as read.

    Parameters
    ----------
    summary
        Output of :func:`summarise`.
    district_word
        What the districts are called (``"comunas"``, ``"districts"``).
    reach
        What being covered means, as a verb phrase.
    gaps
        What the city's feed does not cover (``coverage_gaps`` in city.yml);
        when given, the sentence says that the rural figure measures the
        feed's network only, and why.

    Returns
    -------
    str
        In the language in force, e.g. ``"In rural comunas 23% of people live
        within walking distance of transit, against 87% in urban ones: a gap of
        64 points."`` (``district_word`` and ``reach`` are translated when the
        catalog has them).
    """
    s = summary.set_index("scope")["share_covered"]

    def pct(k: str) -> int | None:
        v = s.get(k)
        return None if v is None or pd.isna(v) else int(round(float(v) * 100))

    urban, rural, city = pct("urban"), pct("rural"), pct("city")
    words, reach = translate(str(resolve(district_word))), translate(str(resolve(reach)))
    if urban is not None and rural is not None:
        gap = urban - rural
        if gap > 0:
            text = ngettext("In rural {districts} {rural}% of people {reach}, against {urban}% in urban ones: "
                            "a gap of {gap} point.",
                            "In rural {districts} {rural}% of people {reach}, against {urban}% in urban ones: "
                            "a gap of {gap} points.", gap)
        elif gap < 0:
            text = ngettext("In rural {districts} {rural}% of people {reach}, against {urban}% in urban ones: "
                            "rural ones are ahead by {gap} point.",
                            "In rural {districts} {rural}% of people {reach}, against {urban}% in urban ones: "
                            "rural ones are ahead by {gap} points.", -gap)
        else:
            text = tr("In rural {districts} {rural}% of people {reach}, against {urban}% in urban ones: no gap.")
        text = FORMATTER.format(text, districts=words, rural=rural, urban=urban, reach=reach, gap=abs(gap))
        if gaps:
            text += " " + tr("The rural figure measures only the network in the feed: {gaps}",
                             gaps=translate_phrase(str(resolve(gaps)).strip()))  # the city's prose, translated
        return text
    only = "urban" if urban is not None else "rural" if rural is not None else None
    if only is not None:
        return (tr("All {districts} are urban: {share}% of people {reach}; there is no urban–rural comparison to make.",
                   districts=words, share=pct(only), reach=reach) if only == "urban" else
                tr("All {districts} are rural: {share}% of people {reach}; there is no urban–rural comparison to make.",
                   districts=words, share=pct(only), reach=reach))
    if city is not None:
        return tr("The {districts} are not classed urban or rural, so no gap can be computed; "
                  "city-wide {share}% of people {reach}.", districts=words, share=city, reach=reach)
    return tr("No population data: the share of people who {reach} cannot be computed.", reach=reach)


def least_served(cov: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` districts with the lowest covered share (people-less districts skipped).

    Returns
    -------
    DataFrame
        - ``district_id``, ``name``, ``area_class``
        - ``population`` (people)
        - ``share_covered`` (0–1)
        - ``pop_uncovered``: people outside the catchment (people)

        Lowest share first; ties broken by more people left out.
    """
    c = cov[cov["population"] > 0].assign(pop_uncovered=lambda x: x["population"] - x["pop_covered"])
    c = c.sort_values(["share_covered", "pop_uncovered"], ascending=[True, False], kind="stable")
    return c.head(n)[["district_id", "name", "area_class", "population", "share_covered",
                      "pop_uncovered"]].reset_index(drop=True)
