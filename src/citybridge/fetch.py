"""Download a city's official feed (``citybridge fetch CITY``).

A ``city.yml`` may declare where its feed comes from::

    download:
      url: https://example.org/gtfs.zip
      sha256: 3b1f...   # 64 hex digits, e.g. from `sha256sum gtfs.zip`

:func:`fetch_city` streams the file to a temporary file next to the city's
feed (never more than :data:`MAX_DOWNLOAD_BYTES`), checks its SHA-256 and
only then moves it into place. On any problem (network error, HTTP error,
size limit, hash mismatch, not a readable GTFS zip) the existing feed is left
untouched and the temporary file is removed.

The whole download has one overall deadline (:data:`DEADLINE_S`): a server
that trickles a byte at a time, or never finishes its headers, is cut off
when it passes, and the partial file is removed. Temporary ``.download``
files left by a fetch that was killed are removed by the next fetch.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from . import __version__
from .errors import CitybridgeError, FeedError, ProfileError
from .texts import tr

#: Largest download accepted (bytes).
MAX_DOWNLOAD_BYTES = 1024**3
#: Seconds without progress before giving up.
TIMEOUT_S = 60.0
#: Seconds for the whole download (connection, headers and body) before giving up.
DEADLINE_S = 1800.0
#: A leftover ``.download`` file older than this (seconds) belongs to a fetch that died.
STALE_S = 2 * DEADLINE_S
_CHUNK = 1 << 16


class _NoRedirectToOtherSchemes(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) addresses (never file: or ftp:)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, f"redirect to a non-web address refused: {newurl}",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Sockets:
    """The sockets of one download, so that a watchdog can cut them at the deadline."""

    def __init__(self) -> None:
        self.socks: list[socket.socket] = []
        self.expired = False
        self.lock = threading.Lock()

    def add(self, sock) -> None:
        with self.lock:
            self.socks.append(sock)
            if self.expired:
                self._cut(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.socks:
                self._cut(sock)

    @staticmethod
    def _cut(sock) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _handlers(watch: _Sockets) -> list:
    """HTTP and HTTPS handlers whose connections register their socket with ``watch``."""

    class _Conn(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            watch.add(self.sock)

    class _ConnS(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            watch.add(self.sock)

    class _H(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_Conn, req)

    class _HS(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(_ConnS, req, context=self._context)

    return [_H(), _HS()]


def check_url(url: str) -> str:
    """``url`` if it is a well-formed http(s) address, else a :class:`ProfileError` saying why."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ProfileError(tr("download.url '{url}' is not a web address; write https://...", url=url))
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ProfileError(tr("download.url '{url}' is not a valid web address ({reason}); correct it in city.yml",
                              url=url, reason=str(exc))) from None
    if not parts.hostname or any(c.isspace() for c in url):
        raise ProfileError(tr("download.url '{url}' is not a valid web address (no host name, or a space); "
                              "correct it in city.yml", url=url))
    return url


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def download(url: str, dest: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float = TIMEOUT_S,
             deadline: float = DEADLINE_S) -> str:
    """Stream ``url`` to ``dest`` and return the SHA-256 of what was written.

    ``timeout`` bounds each wait for the server; ``deadline`` bounds the
    whole download (a server trickling bytes is cut off when it passes).

    Raises
    ------
    CitybridgeError
        Not a valid http(s) address, network or HTTP error, a reply that is
        not valid HTTP, larger than ``max_bytes``, or past the deadline.
    """
    check_url(url)
    watch = _Sockets()
    opener = urllib.request.build_opener(_NoRedirectToOtherSchemes(), *_handlers(watch))
    req = urllib.request.Request(url, headers={"User-Agent": f"citybridge/{__version__}"})
    h = hashlib.sha256()
    size = 0
    t_end = time.monotonic() + deadline
    timer = threading.Timer(deadline, watch.expire)
    timer.daemon = True
    timer.start()
    late = CitybridgeError(f"{url}: " + tr("the download did not finish within {limit:,.0f} s (the server is too "
                                           "slow or stalled); nothing was kept. Try again later or download it "
                                           "yourself", limit=float(deadline)))
    try:
        with opener.open(req, timeout=min(timeout, deadline)) as resp, open(dest, "wb") as out:
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise CitybridgeError(f"{url}: " + tr("the server announces {size:,} bytes, more than the limit of "
                                                      "{limit:,}; download it yourself if it is genuine",
                                                      size=int(declared), limit=max_bytes))
            while True:
                if time.monotonic() > t_end:
                    raise late
                chunk = resp.read1(_CHUNK) if hasattr(resp, "read1") else resp.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise CitybridgeError(f"{url}: " + tr("the download exceeds {limit:,} bytes; stopped. Download it "
                                                          "yourself if the feed is genuinely this large",
                                                          limit=max_bytes))
                h.update(chunk)
                out.write(chunk)
    except CitybridgeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every network or protocol failure becomes a message
        if watch.expired or time.monotonic() > t_end:
            raise late from None
        raise CitybridgeError(_network_message(url, exc)) from None
    finally:
        timer.cancel()
    if watch.expired:
        raise late
    if size == 0:
        raise CitybridgeError(f"{url}: " + tr("the server sent an empty file"))
    return h.hexdigest()


def _network_message(url: str, exc: BaseException) -> str:
    """One sentence for a failed download: what went wrong and what to check."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"{url}: " + tr("the server answered HTTP {code} ({reason}); check the address in city.yml "
                               "'download.url'", code=str(exc.code), reason=str(exc.reason))
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, (http.client.HTTPException, ValueError)):
            return _network_message(url, reason)
        return f"{url}: " + tr("could not download ({reason}); check the address and the network connection",
                               reason=str(reason))
    if isinstance(exc, http.client.LineTooLong):
        return f"{url}: " + tr("the server's reply has an over-long line ({reason}); it is not a usable web server",
                               reason=str(exc))
    if isinstance(exc, http.client.IncompleteRead):
        return f"{url}: " + tr("the server's reply broke off or is badly chunked ({n} bytes received); try again "
                               "later", n=str(exc.partial and len(exc.partial) or 0))
    if isinstance(exc, http.client.HTTPException):
        detail = str(exc).strip() or type(exc).__name__
        return f"{url}: " + tr("the server's reply is not valid HTTP ({kind}: {reason}); check the address in "
                               "city.yml 'download.url' (is it a web server?)", kind=type(exc).__name__,
                               reason=detail[:120])
    if isinstance(exc, ValueError):
        return f"{url}: " + tr("not a valid web address ({reason}); correct 'download.url' in city.yml",
                               reason=str(exc))
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"{url}: " + tr("the server did not answer in time; try again later")
    return f"{url}: " + tr("the download failed ({kind}: {reason})", kind=type(exc).__name__, reason=str(exc)[:200])


def remove_stale_downloads(folder: Path, older_than_s: float = STALE_S) -> list[Path]:
    """Remove ``.*.download`` files in ``folder`` left by fetches that were killed."""
    removed = []
    now = time.time()
    try:
        leftovers = list(Path(folder).glob(".*.download"))
    except OSError:
        return removed
    for p in leftovers:
        try:
            if p.is_file() and now - p.stat().st_mtime > older_than_s:
                p.unlink()
                removed.append(p)
        except OSError:
            pass
    return removed


def fetch_city(city: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float | None = None,
               deadline: float | None = None) -> Path:
    """Download a city's feed as declared in its ``city.yml`` and verify it.

    Parameters
    ----------
    city
        A slug (looked up in ``data/cities``) or a city folder.
    timeout, deadline
        Seconds to wait for the server each time, and for the whole download;
        default :data:`TIMEOUT_S` and :data:`DEADLINE_S`.

    Returns
    -------
    Path
        The city's feed (``gtfs`` in city.yml), now the verified download.

    Raises
    ------
    CitybridgeError
        No ``download`` entry, download failure, size limit, hash mismatch
        (both hashes given) or a download that is not a readable GTFS feed.
        The existing feed is never modified in these cases.
    """
    from .city import load_city
    from .feed import read_tables

    c = load_city(city, check_files=False)
    dl = c.profile.download
    yml = c.folder / "city.yml"
    if not dl:
        raise ProfileError(f"{yml}: " + tr("no 'download' entry; add\n  download:\n    url: https://.../gtfs.zip\n"
                                           "    sha256: <64 hex digits>\nto let 'citybridge fetch' download the "
                                           "feed"))
    expected = dl["sha256"].strip().lower()
    target = c.gtfs_path
    if target.is_dir():
        raise ProfileError(f"{yml}: " + tr("'gtfs' names the folder {folder}; 'citybridge fetch' downloads a zip. "
                                           "Set 'gtfs: gtfs.zip' (the folder is then no longer used)",
                                           folder=target.name))
    if not target.parent.is_dir():
        raise ProfileError(f"{yml}: " + tr("'gtfs' names {file}, but the folder {folder}/ does not exist in the city "
                                           "folder; create it or set 'gtfs: gtfs.zip'", file=str(c.profile.gtfs),
                                           folder=target.parent.name))
    check_url(dl["url"])
    remove_stale_downloads(target.parent)
    try:
        fd, tmpname = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".download", dir=target.parent)
    except OSError as exc:
        raise CitybridgeError(f"{target.parent}: " + tr("cannot write the download there ({reason}); make the city "
                                                        "folder writable (or run fetch as its owner) and try again",
                                                        reason=str(exc.strerror))) from None
    os.close(fd)
    tmp = Path(tmpname)
    try:
        got = download(dl["url"], tmp, max_bytes=max_bytes, timeout=TIMEOUT_S if timeout is None else timeout,
                       deadline=DEADLINE_S if deadline is None else deadline)
        if got != expected:
            raise CitybridgeError(f"{dl['url']}: " + tr(
                "the downloaded file's SHA-256 does not match city.yml.\n"
                "  expected (city.yml download.sha256): {expected}\n"
                "  downloaded:                          {got}\n"
                "{file} was left unchanged. If the publisher released a new feed, check it and put the new hash in "
                "city.yml; otherwise the download was damaged or tampered with", expected=expected, got=got,
                file=target.name))
        try:
            read_tables(tmp)
        except FeedError as exc:
            raise CitybridgeError(f"{dl['url']}: " + tr("the file matches its hash but is not a usable GTFS feed "
                                                        "({reason}); {file} was left unchanged", reason=str(exc),
                                                        file=target.name)) from None
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise CitybridgeError(f"{target}: " + tr("the verified download could not be put in place ({reason}); "
                                                     "check that the file and its folder are writable",
                                                     reason=str(exc.strerror))) from None
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    return target


__all__ = ["fetch_city", "download", "check_url", "remove_stale_downloads", "MAX_DOWNLOAD_BYTES", "DEADLINE_S"]
