"""clean_csv reads a table with pyarrow where that gives exactly what pandas' reader gives, and
with pandas' reader elsewhere: the two are compared on awkward CSV text and on every shipped table."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from citybridge.feed import archive as A

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    "a,b\n1,2\n", "a,b\n1,2", "a,b\r\n1,2\r\n", "a,b\r1,2\r3,4\r", " a , b \n 1 , 2 \n", "a,b\n\n1,2\n\n",
    'a,b\n"x,y",2\n', 'a,b\n "x,y",2\n', 'a,b\n "xy",2\n', 'a,b\n"x""y",2\n', 'a,b\n"ab"c,2\n', 'a,b\nab"c,2\n',
    'a,b\n"multi\nline",2\n', "a,b\nNA,null\n", "a,b\n,\n", "a,b\n", "a,b", "a,b\n1\n", "a,b,\n1,2,\n",
    "a,,c\n1,2,3\n", "\ufeffa,b\n1,2\n", "a,b\n\u3000x\u3000,\xa0y\n", "a,b\n\t1\t,2\n", 'a,"b,c"\n1,2\n',
    'a, "b"\n1,2\n', "a;b\n1;2\n", "a,b\n1,2\n   \n3,4\n", 'a,b\n1,"2"  \n', "a,b\n#c,2\n", 'a,b\n1,""\n',
    "a\n1\n\n2\n", 'a,b\n 1,2\n"3" ,4\n', "stop_id,stop_name\nS1,Plaza de Armas\nS2,西湖\n",
]


def pandas_reading(text: str) -> pd.DataFrame:
    """What clean_csv gives by pandas' reader alone (the reference)."""
    df = pd.read_csv(io.StringIO(text.replace("\x00", "")), dtype=str, keep_default_na=False, skipinitialspace=True)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip()
    return df


@pytest.mark.parametrize("text", CASES)
def test_clean_csv_is_pandas_reading(text):
    pd.testing.assert_frame_equal(A.clean_csv(text, "t.txt"), pandas_reading(text))


def test_the_fast_reader_takes_plain_tables_and_leaves_the_odd_ones():
    def fast(text):
        return A._arrow_csv(text, next(csv.reader(io.StringIO(text))))

    assert fast("a,b\n1,2\n") is not None
    assert fast('a,b\n"x,y",2\n') is not None
    for odd in ('a,b\n "x,y",2\n', "a,b\n1\n", "a,b,\n1,2,\n", "a,,c\n1,2,3\n", 'a, "b"\n1,2\n'):
        assert fast(odd) is None, odd


def test_every_shipped_table_reads_the_same_both_ways():
    zips = sorted((ROOT / "data").rglob("*.zip"))
    assert zips
    seen = 0
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            for name in zf.namelist():
                if name.endswith(".txt"):
                    text, _ = A.decode_text(zf.read(name))
                    pd.testing.assert_frame_equal(A.clean_csv(text, name), pandas_reading(text), obj=f"{z}/{name}")
                    seen += 1
    assert seen >= 10
