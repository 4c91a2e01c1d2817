"""citybridge.periods: the one place that parses times of day and assigns periods."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citybridge import periods as P
from citybridge.errors import ProfileError


def test_parse_times_reads_timetable_text_once_per_value():
    got = P.parse_times(np.array(["07:30:15", " 7:05 ", "25:10:00", "100:00:00", "7:60:00", "7h16", "",
                                  "０７:00:00"], dtype=object))
    want = [7 * 3600 + 30 * 60 + 15, 7 * 3600 + 5 * 60, 25 * 3600 + 10 * 60, 100 * 3600]
    assert got[:4].tolist() == want
    assert np.isnan(got[4:7]).all()           # minute 60, not a time, blank
    assert got[7] == 7 * 3600                  # full-width digits are digits


def test_times_to_seconds_keeps_the_index_and_blanks():
    s = pd.Series(["08:00:00", None, "08:00:00", "bad"], index=list("abcd"))
    out = P.times_to_seconds(s)
    assert list(out.index) == list("abcd")
    assert out["a"] == out["c"] == 28800.0 and out[["b", "d"]].isna().all()


@pytest.mark.parametrize("periods", [
    None,
    {"a": ("00:00", "10:00"), "b": ("08:00", "12:00"), "c": ("23:00", "27:00"), "d": ("07:00", "07:30")},
])
def test_period_codes_at_the_edges_of_every_second(periods):
    """The code of each time is that of the first listed period holding it, [start, end), down to
    fractions of a second; NaN, infinities and times before or after every period are outside."""
    pt = P.period_table(periods)
    s = np.r_[np.arange(-3, 30 * 3600, 0.25), [np.nan, np.inf, -np.inf, -0.5, 4 * 3600 - 1e-6]]
    want = np.full(len(s), len(pt))
    for k in range(len(pt) - 1, -1, -1):
        want[(s >= pt["start_s"].iloc[k]) & (s < pt["end_s"].iloc[k])] = k
    assert P.period_codes(s, pt).tolist() == want.tolist()
    # bounds that are not whole seconds (a table built by hand) are read as they are
    odd = pd.DataFrame({"period": ["x", "y"], "start_s": [100.5, 50.0], "end_s": [200.25, 120.0]})
    assert P.period_codes(np.array([50.0, 100.4, 100.5, 120.0, 200.2, 200.25]), odd).tolist() == [1, 1, 0, 0, 0, 2]


def test_hhmm_and_periods():
    assert P.hhmm_to_seconds("24:30") == 88200
    with pytest.raises(ProfileError):
        P.hhmm_to_seconds("7h30")
    pt = P.period_table({"am": ("07:00", "09:00"), "late": ("24:00", "26:00")})
    codes = P.period_codes(np.array([6 * 3600, 7 * 3600, 9 * 3600 - 1, 9 * 3600, 25 * 3600, np.nan]), pt)
    assert codes.tolist() == [2, 0, 0, 2, 1, 2]
    assert P.period_names(pt)[codes].tolist() == ["other", "am", "am", "other", "late", "other"]
    assert P.seconds_to_hhmm(pd.Series([88200.0, np.nan])).tolist() == ["24:30", ""]
