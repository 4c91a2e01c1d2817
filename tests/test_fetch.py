"""citybridge fetch: download, verify sha256, move into place; never damage
the feed already there. Only a local server on 127.0.0.1 is contacted."""
from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from citybridge import cli
from citybridge.errors import CitybridgeError, ProfileError
from citybridge.fetch import fetch_city
from gtfs_fixtures import frequency_tables, timetable_tables, write_feed


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict, bytes]] = {}

    def do_GET(self):  # noqa: N802 - http.server API
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers and not headers.get("X-Stream"):
            self.send_header("Content-Length", str(len(body)))  # HTTP/1.0: else the body ends at close
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server on 127.0.0.1 (random port) that stops by itself."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    _Handler.routes = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.timeout = 5
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    watchdog = threading.Timer(60, httpd.shutdown)  # never outlives a stuck test
    watchdog.daemon = True
    watchdog.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield base, _Handler.routes
    finally:
        watchdog.cancel()
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _city(tmp_path: Path, url: str | None, sha: str | None) -> Path:
    city = tmp_path / "cities" / "testville"
    city.mkdir(parents=True)
    write_feed(city / "gtfs.zip", timetable_tables())
    text = "name: Testville\ncrs: EPSG:32719\n"
    if url is not None:
        text += f"download:\n  url: {url}\n  sha256: '{sha}'\n"
    (city / "city.yml").write_text(text, encoding="utf-8")
    return city


def _new_feed(tmp_path: Path) -> bytes:
    return write_feed(tmp_path / "new.zip", frequency_tables()).read_bytes()


def test_download_verified_and_moved_into_place(tmp_path, server):
    base, routes = server
    data = _new_feed(tmp_path)
    routes["/feed.zip"] = (200, {"Content-Type": "application/zip"}, data)
    city = _city(tmp_path, f"{base}/feed.zip", _sha(data).upper())
    out = fetch_city(str(city))
    assert out == city / "gtfs.zip"
    assert out.read_bytes() == data
    assert sorted(p.name for p in city.iterdir()) == ["city.yml", "gtfs.zip"]  # no temporary file left


def test_hash_mismatch_gives_both_hashes_and_keeps_the_old_feed(tmp_path, server):
    base, routes = server
    data = _new_feed(tmp_path)
    routes["/feed.zip"] = (200, {}, data)
    wrong = "0" * 64
    city = _city(tmp_path, f"{base}/feed.zip", wrong)
    old = (city / "gtfs.zip").read_bytes()
    with pytest.raises(CitybridgeError) as e:
        fetch_city(str(city))
    msg = str(e.value)
    assert "SHA-256 does not match" in msg and wrong in msg and _sha(data) in msg
    assert "gtfs.zip was left unchanged" in msg
    assert (city / "gtfs.zip").read_bytes() == old
    assert sorted(p.name for p in city.iterdir()) == ["city.yml", "gtfs.zip"]


def test_http_error(tmp_path, server):
    base, _ = server
    city = _city(tmp_path, f"{base}/missing.zip", "0" * 64)
    old = (city / "gtfs.zip").read_bytes()
    with pytest.raises(CitybridgeError, match="the server answered HTTP 404"):
        fetch_city(str(city))
    assert (city / "gtfs.zip").read_bytes() == old


def test_size_limit(tmp_path, server):
    base, routes = server
    big = b"x" * 300_000
    routes["/big.zip"] = (200, {"X-Stream": "1"}, big)
    routes["/liar.zip"] = (200, {"Content-Length": str(10**12)}, b"")
    city = _city(tmp_path, f"{base}/big.zip", _sha(big))
    old = (city / "gtfs.zip").read_bytes()
    with pytest.raises(CitybridgeError, match="the download exceeds 100,000 bytes; stopped"):
        fetch_city(str(city), max_bytes=100_000)
    assert (city / "gtfs.zip").read_bytes() == old
    (city / "city.yml").write_text(f"name: T\ncrs: EPSG:32719\ndownload:\n  url: {base}/liar.zip\n"
                                   f"  sha256: '{'0' * 64}'\n")
    with pytest.raises(CitybridgeError, match="the server announces 1,000,000,000,000 bytes"):
        fetch_city(str(city), max_bytes=100_000)
    assert (city / "gtfs.zip").read_bytes() == old
    assert sorted(p.name for p in city.iterdir()) == ["city.yml", "gtfs.zip"]


def test_matching_hash_but_not_a_feed_is_refused(tmp_path, server):
    base, routes = server
    junk = b"<html>login page</html>"
    routes["/feed.zip"] = (200, {}, junk)
    city = _city(tmp_path, f"{base}/feed.zip", _sha(junk))
    old = (city / "gtfs.zip").read_bytes()
    with pytest.raises(CitybridgeError, match="matches its hash but is not a usable GTFS feed"):
        fetch_city(str(city))
    assert (city / "gtfs.zip").read_bytes() == old


def test_redirect_to_a_local_file_is_refused(tmp_path, server):
    base, routes = server
    routes["/feed.zip"] = (302, {"Location": "file:///etc/passwd"}, b"")
    city = _city(tmp_path, f"{base}/feed.zip", "0" * 64)
    with pytest.raises(CitybridgeError, match="file:///etc/passwd"):
        fetch_city(str(city))


def test_no_download_entry(tmp_path):
    city = _city(tmp_path, None, None)
    with pytest.raises(ProfileError, match="no 'download' entry"):
        fetch_city(str(city))


def test_non_web_url_is_refused_by_the_profile(tmp_path):
    city = _city(tmp_path, "file:///etc/passwd", "0" * 64)
    with pytest.raises(ProfileError, match="'download.url' must be a web address"):
        fetch_city(str(city))


def test_cli_fetch(tmp_path, server, capsys):
    base, routes = server
    data = _new_feed(tmp_path)
    routes["/feed.zip"] = (200, {}, data)
    city = _city(tmp_path, f"{base}/feed.zip", _sha(data))
    assert cli.main(["fetch", str(city)]) == 0
    assert "downloaded and verified" in capsys.readouterr().out
    routes["/feed.zip"] = (200, {}, data + b"tampered")
    assert cli.main(["fetch", str(city)]) == 2
    err = capsys.readouterr().err
    assert "does not match" in err and "Traceback" not in err
    assert (city / "gtfs.zip").read_bytes() == data


def test_unquoted_numeric_hash_is_explained(tmp_path):
    city = tmp_path / "c"
    city.mkdir()
    (city / "city.yml").write_text("name: T\ncrs: EPSG:32719\ndownload:\n  url: https://example.org/g.zip\n"
                                   f"  sha256: {'0' * 64}\n")
    with pytest.raises(ProfileError, match="put the sha256 in quotes"):
        fetch_city(str(city))
