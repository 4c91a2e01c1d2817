"""Realtime inputs (citybridge.realtime): AVL tables, GTFS-Realtime round trip, recording."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from citybridge import cli
from citybridge import avl as A
from citybridge import realtime as R
from citybridge.errors import CitybridgeError, DataError

AVL = (
    "when,bus,line,dir,la,lo,kmh,state,age_min\n"
    "2026-05-08T12:42:02-04:00,v2,T1,I,-33.45,-70.65,36.0,en_movimiento,0.5\n"
    "2026-05-08T12:42:02-04:00,v1,T2,R,-33.46,-70.66,0.0,en_parada,2\n"
    "2026-05-08T12:45:02-04:00,v1,T2,R,-33.461,-70.661,18.0,detenido,0\n"
)
COLUMNS = {"time": "when", "vehicle": "bus", "route": "line", "direction": "dir", "lat": "la", "lon": "lo",
           "speed_kmh": "kmh", "status": "state", "fix_age_min": "age_min"}
T0 = 1778258522          # 2026-05-08T16:42:02Z


def _avl(tmp_path, text=AVL, **kw):
    p = tmp_path / "avl.csv"
    p.write_text(text, encoding="utf-8")
    return A.read_avl(p, columns=COLUMNS, timezone="America/Santiago", status_at_stop=["en_parada"],
                      direction_values={"I": 0, "R": 1}, **kw)


def test_read_avl_standard_columns(tmp_path):
    a = _avl(tmp_path)
    assert a["snapshot_ts"].tolist() == [T0, T0, T0 + 180]
    assert a["fix_ts"].tolist() == [T0 - 30, T0 - 120, T0 + 180]
    assert a["direction_id"].tolist() == [0, 1, 1]
    assert a["status"].tolist() == ["IN_TRANSIT_TO", "STOPPED_AT", "IN_TRANSIT_TO"]


def test_naive_times_take_the_stated_time_zone(tmp_path):
    text = AVL.replace("-04:00", "")
    assert _avl(tmp_path, text)["snapshot_ts"].iloc[0] == T0   # America/Santiago is UTC-4 in May


def test_avl_to_gtfs_realtime_round_trip(tmp_path):
    a = _avl(tmp_path)
    files = A.write_snapshots(a, tmp_path / "rt")
    assert [f.name for f in files] == ["vehicle_positions_20260508T164202Z.pb", "vehicle_positions_20260508T164502Z.pb"]
    back = R.read_vehicle_positions(tmp_path / "rt")
    a = a.sort_values(["snapshot_ts", "vehicle_id"]).reset_index(drop=True)
    assert back["vehicle_id"].tolist() == a["vehicle_id"].tolist()
    for col in ("snapshot_ts", "fix_ts", "direction_id"):
        assert back[col].tolist() == a[col].tolist()
    assert back["route_id"].tolist() == a["route_id"].tolist()
    assert back["status"].tolist() == a["status"].tolist()
    assert back["lat"].tolist() == pytest.approx(a["lat"].tolist(), abs=1e-5)
    assert back["lon"].tolist() == pytest.approx(a["lon"].tolist(), abs=1e-5)
    assert back["speed_kmh"].tolist() == pytest.approx(a["speed_kmh"].tolist(), abs=1e-4)
    # the conversion is reproducible byte for byte
    again = A.write_snapshots(a, tmp_path / "rt2")
    assert [f.read_bytes() for f in again] == [f.read_bytes() for f in files]


@pytest.mark.parametrize("edit, fragment", [
    (("la,", "latitude,"), "column 'la'"),
    (("2026-05-08T12:45:02-04:00", "yesterday at noon"), "row 3"),
    (("-33.46,", "south,"), "is not a latitude"),
    (("2026-05-08T12:45:02-04:00", "2026-05-08T12:45:02"), "has no UTC offset"),
])
def test_bad_avl_is_a_clear_error(tmp_path, edit, fragment):
    with pytest.raises(DataError) as e:
        _avl(tmp_path, AVL.replace(*edit, 1))
    assert fragment in str(e.value) and "avl.csv" in str(e.value)


def test_not_a_protobuf(tmp_path):
    p = tmp_path / "x.pb"
    p.write_bytes(b"\xff\xff\xff garbage")
    with pytest.raises(DataError, match="cannot decode"):
        R.read_vehicle_positions([p])


# ---------------------------------------------------------------- recording

def _message(ts: int) -> bytes:
    from google.transit import gtfs_realtime_pb2 as g

    m = g.FeedMessage()
    m.header.gtfs_realtime_version = "2.0"
    m.header.timestamp = ts
    e = m.entity.add()
    e.id = "1"
    e.vehicle.vehicle.id = "bus1"
    e.vehicle.position.latitude = -33.45
    e.vehicle.position.longitude = -70.65
    return m.SerializeToString()


@pytest.fixture()
def server():
    """A GTFS-Realtime endpoint on 127.0.0.1: /ok (a new timestamp per request), /same, /bad, /missing."""
    count = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/missing":
                self.send_error(404)
                return
            count["n"] += 1
            body = {"/ok": _message(T0 + count["n"]), "/same": _message(T0), "/bad": b"<html>oops</html>"}[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a short poll interval: shutdown() waits for the loop to look up (0.5 s by default)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class FakeClock:
    """``clock`` and ``sleep`` for :func:`citybridge.realtime.record`: sleeping moves the clock on at
    once and the waits are kept, so a run's schedule is checked without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _record(folder, url, *, clock: FakeClock | None = None, **kw) -> R.RecordResult:
    """``R.record`` on a :class:`FakeClock` (the HTTP requests are real)."""
    clock = clock or FakeClock()
    return _REAL_RECORD(folder, url, sleep=clock.sleep, clock=clock, **kw)


_REAL_RECORD = R.record  # test_cli_record puts _record in its place


def test_record_bounded_run(server, tmp_path):
    clock = FakeClock()
    res = _record(tmp_path / "rt", server + "/ok", every_s=1, minutes=2 / 60, clock=clock)  # polls at 0, 1, 2 s
    assert res.polls == 3 and len(res.saved) == 3 and res.messages == []
    assert clock.waits == [1.0, 1.0]
    assert sorted(p.name for p in (tmp_path / "rt").iterdir()) == sorted(p.name for p in res.saved)
    assert len(R.read_vehicle_positions(tmp_path / "rt")) == 3


def test_record_failures_are_messages_and_leave_no_file(server, tmp_path):
    res = _record(tmp_path / "rt", server + "/bad", every_s=1, minutes=1 / 60)
    assert res.saved == [] and len(res.messages) == 2 and "not a GTFS-Realtime protobuf" in res.messages[0]
    res = _record(tmp_path / "rt", server + "/missing", every_s=1, minutes=1 / 60)
    assert "cannot fetch" in res.messages[0] and "404" in res.messages[0]
    res = _record(tmp_path / "rt", server + "/same", every_s=1, minutes=1 / 60)
    assert len(res.saved) == 1 and "already saved" in res.messages[0]
    res = _record(tmp_path / "rt", "http://127.0.0.1:9/none", every_s=1, minutes=1 / 60, timeout_s=2)
    assert res.saved == [] and "cannot fetch" in res.messages[0]
    assert [p.name for p in (tmp_path / "rt").iterdir()] == ["vehicle_positions_20260508T164202Z.pb"]


def test_record_interrupted_write_leaves_no_partial_file(server, tmp_path, monkeypatch):
    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(R.os, "replace", boom)
    res = _record(tmp_path / "rt", server + "/ok", every_s=1, minutes=1 / 60)
    assert res.saved == [] and "cannot write" in res.messages[0]
    assert list((tmp_path / "rt").iterdir()) == []


def test_record_arguments_checked(tmp_path):
    for kw, frag in (({"url": "ftp://x"}, "http://"), ({"every_s": 0.1}, "--every"), ({"minutes": 0}, "--for")):
        args = {"url": "http://127.0.0.1:9/", "every_s": 1, "minutes": 1} | kw
        with pytest.raises(CitybridgeError, match=frag):
            R.record(tmp_path, args.pop("url"), **args)


def test_cli_record(server, tmp_path, monkeypatch, capsys):
    city = tmp_path / "cities" / "testville"
    city.mkdir(parents=True)
    (city / "city.yml").write_text("name: Testville\ncrs: EPSG:32719\n", encoding="utf-8")
    monkeypatch.setenv("CITYBRIDGE_CITIES", str(tmp_path / "cities"))
    monkeypatch.setattr(R, "record", _record)  # the command's polls, on a FakeClock
    code = cli.main(["realtime", "record", "testville", "--url", server + "/ok", "--every", "1", "--for", "0.02"])
    out, err = capsys.readouterr()
    assert code == 0 and "2 snapshot(s) saved from 2 poll(s)" in out and "vehicle_positions: realtime" in out
    assert len(list((city / "realtime").glob("*.pb"))) == 2
    code = cli.main(["realtime", "record", "testville", "--url", server + "/bad", "--every", "1", "--for", "0.01"])
    out, err = capsys.readouterr()
    assert code == 2 and "no snapshot could be saved" in err and "Traceback" not in out + err
