"""``citybridge fetch`` against misbehaving servers on 127.0.0.1 (issue 13, class 2).

Each server breaks HTTP in one way: an address that is not one, a reply that
is not HTTP, broken chunking, an over-long header line, more than 100
headers, and a server that trickles one byte at a time. Every case must end
with a one-paragraph message (exit 2, no traceback) within an overall
deadline, leave no file behind in the city folder and leave the feed as it
was. Also: ``gtfs`` naming a missing sub-folder, a read-only city folder,
``new-city`` on a read-only ``data/cities``, and ``validate | head``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from citybridge import cli
from gtfs_fixtures import timetable_tables, write_feed

#: Overall deadline given to fetch in these tests (seconds), and the slack allowed on top.
DEADLINE = 3.0
SLACK = 4.0
#: The deadline of the trickling servers (which always run into it): one byte every TRICKLE_S,
#: far inside the per-read timeout (min(TIMEOUT_S, deadline) = 1 s), so only the deadline stops them.
TRICKLE_DEADLINE = 1.0
TRICKLE_S = 0.1


def _serve(behaviour) -> tuple[str, threading.Event]:
    """A one-connection-at-a-time TCP server on 127.0.0.1 running ``behaviour(conn, stop)``."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.settimeout(5)
                    conn.recv(65536)  # the request
                    behaviour(conn, stop)
                except OSError:
                    pass
        srv.close()

    threading.Thread(target=loop, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}", stop


def _not_http(conn, stop):
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\nthis is not a web server\r\n")


def _bad_chunking(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 b"5\r\nPK\x03\x04x\r\nZZZ-not-a-size\r\nabc\r\n")


def _long_header(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n")


def _many_headers(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\nbody")


def _trickle_body(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while not stop.is_set():
        conn.sendall(b"P")
        time.sleep(TRICKLE_S)


def _trickle_headers(conn, stop):
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"s" * 10000:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(TRICKLE_S)


def _city(tmp_path: Path, url: str, gtfs: str = "gtfs.zip") -> Path:
    city = tmp_path / "cities" / "testville"
    city.mkdir(parents=True)
    write_feed(city / "gtfs.zip", timetable_tables())
    (city / "city.yml").write_text(f"name: Testville\ncrs: EPSG:32719\ngtfs: {gtfs}\ndownload:\n  url: {url}\n"
                                   f"  sha256: '{'0' * 64}'\n", encoding="utf-8")
    return city


@pytest.fixture(autouse=True)
def _short_deadline(monkeypatch):
    import citybridge.fetch as fetch

    monkeypatch.setattr(fetch, "DEADLINE_S", DEADLINE)
    monkeypatch.setattr(fetch, "TIMEOUT_S", 2.0)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def _fetch(city: Path, capsys) -> tuple[int, str, float]:
    before = {p.name: p.read_bytes() for p in city.iterdir() if p.is_file()}
    t0 = time.monotonic()
    code = cli.main(["fetch", str(city)])
    took = time.monotonic() - t0
    out, err = capsys.readouterr()
    after = {p.name: p.read_bytes() for p in city.iterdir() if p.is_file()}
    assert after == before, f"files changed or left behind: {sorted(set(after) ^ set(before))}"
    return code, out + err, took


@pytest.mark.parametrize("behaviour, fragment, deadline", [
    (_not_http, "the server's reply is not valid HTTP", DEADLINE),
    (_bad_chunking, "badly chunked", DEADLINE),
    (_long_header, "over-long line", DEADLINE),
    (_many_headers, "got more than 100 headers", DEADLINE),
    (_trickle_body, f"did not finish within {TRICKLE_DEADLINE:,.0f} s", TRICKLE_DEADLINE),
    (_trickle_headers, f"did not finish within {TRICKLE_DEADLINE:,.0f} s", TRICKLE_DEADLINE),
], ids=["not_http", "bad_chunking", "long_header", "many_headers", "trickle_body", "trickle_headers"])
def test_misbehaving_server_gives_a_message_in_time(tmp_path, capsys, monkeypatch, behaviour, fragment, deadline):
    import citybridge.fetch as fetch

    monkeypatch.setattr(fetch, "DEADLINE_S", deadline)
    base, stop = _serve(behaviour)
    try:
        city = _city(tmp_path, f"{base}/feed.zip")
        code, text, took = _fetch(city, capsys)
    finally:
        stop.set()
    assert code == 2, text
    assert "Traceback" not in text
    assert fragment in text, text
    assert took < deadline + SLACK, f"took {took:.1f} s"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000x/g", "http://[::1"])
def test_malformed_address(tmp_path, capsys, url):
    city = _city(tmp_path, url)
    code, text, took = _fetch(city, capsys)
    assert code == 2 and "Traceback" not in text
    assert "is not a valid web address" in text, text


def test_nothing_listening(tmp_path, capsys):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    city = _city(tmp_path, f"http://127.0.0.1:{port}/feed.zip")
    code, text, took = _fetch(city, capsys)
    assert code == 2 and "Traceback" not in text and "could not download" in text, text


def test_gtfs_in_a_missing_subfolder(tmp_path, capsys):
    city = _city(tmp_path, "http://127.0.0.1:9/feed.zip", gtfs="feeds/gtfs.zip")
    code, text, _ = _fetch(city, capsys)
    assert code == 2 and "Traceback" not in text
    assert "the folder feeds/ does not exist in the city folder" in text, text


def test_read_only_city_folder(tmp_path, capsys, monkeypatch):
    import tempfile

    city = _city(tmp_path, "http://127.0.0.1:9/feed.zip")

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied", str(city))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # root ignores chmod: simulate the refusal
    code, text, _ = _fetch(city, capsys)
    assert code == 2 and "Traceback" not in text
    assert "cannot write the download there (Permission denied)" in text, text


def test_new_city_on_a_read_only_data_folder(tmp_path, capsys, monkeypatch):
    import tempfile

    feed = write_feed(tmp_path / "feed.zip", timetable_tables())
    (tmp_path / "data" / "cities").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "data" / "cities"))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    code = cli.main(["new-city", "lima", "--gtfs", str(feed)])
    text = "".join(capsys.readouterr())
    assert code == 2 and "Traceback" not in text
    assert "cannot create the city folder there (Permission denied)" in text, text
    assert list((tmp_path / "data" / "cities").iterdir()) == []


def test_stale_download_files_are_removed_and_stay_out_of_cache_keys(tmp_path):
    from citybridge.fetch import remove_stale_downloads
    from citybridge.pipeline import job_key

    city = _city(tmp_path, "http://127.0.0.1:9/feed.zip")
    nb = tmp_path / "nb.ipynb"
    nb.write_text("{}", encoding="utf-8")
    key = job_key(nb, {}, {"testville": city}, "pkg")
    old = city / ".gtfs.zip.abc123.download"
    old.write_bytes(b"partial")
    assert job_key(nb, {}, {"testville": city}, "pkg") == key  # a leftover does not change the key
    fresh = city / ".gtfs.zip.def456.download"
    fresh.write_bytes(b"partial")
    os.utime(old, (time.time() - 10_000, time.time() - 10_000))
    assert remove_stale_downloads(city, older_than_s=3600) == [old]
    assert fresh.exists()


@pytest.mark.parametrize("reader, lines", [("head -1", 1), ("true", 0)])
def test_validate_into_a_closed_pipe(tmp_path, reader, lines):
    """``citybridge validate X | head -1`` (and a reader that reads nothing): no BrokenPipeError traceback."""
    feed = write_feed(tmp_path / "feed.zip", timetable_tables())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYBRIDGE_")}
    proc = subprocess.run(f"'{sys.executable}' -m citybridge.cli validate '{feed}' | {reader}", shell=True,
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.stdout.count("\n") == lines
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
