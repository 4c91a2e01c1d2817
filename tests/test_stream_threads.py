"""The two helpers that let citybridge.feed.stream read stop_times on a
second thread: items and errors arrive in order, and a reader that stops
early stops the producing thread."""
from __future__ import annotations

import threading
import time

import pytest

from citybridge.errors import FeedError
from citybridge.feed.stream import in_background, read_ahead


def test_read_ahead_gives_every_item_in_order():
    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))


def test_read_ahead_raises_where_the_producer_failed():
    def pieces():
        yield b"a"
        yield b"b"
        raise FeedError("stop_times.txt: larger than its header says")

    got = []
    with pytest.raises(FeedError, match="larger than its header says"):
        for p in read_ahead(pieces()):
            got.append(p)
    assert got == [b"a", b"b"]


def test_a_reader_that_stops_early_stops_the_producer():
    made = []

    def pieces():
        for k in range(1000):
            made.append(k)
            yield k

    it = read_ahead(pieces(), depth=2)
    assert next(it) == 0
    it.close()
    assert not any(t.name == "citybridge-read-ahead" for t in threading.enumerate())
    assert len(made) <= 4  # the item read, two queued, one waiting to be queued


def test_in_background_returns_or_raises():
    def slow(x):
        time.sleep(0.05)
        return x * 2

    def bad():
        raise FeedError("trips.txt: the trip_id is blank")

    assert in_background(slow, 21)() == 42
    wait = in_background(bad)
    with pytest.raises(FeedError, match="trip_id is blank"):
        wait()
