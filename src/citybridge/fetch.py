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
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from . import __version__
from .errors import CitybridgeError, FeedError, ProfileError

#: Largest download accepted (bytes).
MAX_DOWNLOAD_BYTES = 1024**3
#: Seconds without progress before giving up.
TIMEOUT_S = 60.0
_CHUNK = 1 << 16


class _NoRedirectToOtherSchemes(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) addresses (never file: or ftp:)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, f"redirect to a non-web address refused: {newurl}",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def download(url: str, dest: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float = TIMEOUT_S) -> str:
    """Stream ``url`` to ``dest`` and return the SHA-256 of what was written.

    Raises
    ------
    CitybridgeError
        Not an http(s) address, network or HTTP error, or larger than ``max_bytes``.
    """
    if not url.lower().startswith(("http://", "https://")):
        raise ProfileError(f"download.url '{url}' is not a web address; write https://...")
    opener = urllib.request.build_opener(_NoRedirectToOtherSchemes())
    req = urllib.request.Request(url, headers={"User-Agent": f"citybridge/{__version__}"})
    h = hashlib.sha256()
    size = 0
    try:
        with opener.open(req, timeout=timeout) as resp, open(dest, "wb") as out:
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise CitybridgeError(f"{url}: the server announces {int(declared):,} bytes, more than the "
                                      f"limit of {max_bytes:,}; download it yourself if it is genuine")
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise CitybridgeError(f"{url}: the download exceeds {max_bytes:,} bytes; stopped. "
                                          "Download it yourself if the feed is genuinely this large")
                h.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise CitybridgeError(f"{url}: the server answered HTTP {exc.code} ({exc.reason}); check the address "
                              "in city.yml 'download.url'") from None
    except urllib.error.URLError as exc:
        raise CitybridgeError(f"{url}: could not download ({exc.reason}); check the address and the "
                              "network connection") from None
    except (TimeoutError, OSError) as exc:
        raise CitybridgeError(f"{url}: the download failed ({type(exc).__name__}: {exc})") from None
    if size == 0:
        raise CitybridgeError(f"{url}: the server sent an empty file")
    return h.hexdigest()


def fetch_city(city: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float = TIMEOUT_S) -> Path:
    """Download a city's feed as declared in its ``city.yml`` and verify it.

    Parameters
    ----------
    city
        A slug (looked up in ``data/cities``) or a city folder.

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
        raise ProfileError(f"{yml}: no 'download' entry; add\n  download:\n    url: https://.../gtfs.zip\n"
                           "    sha256: <64 hex digits>\nto let 'citybridge fetch' download the feed")
    expected = dl["sha256"].strip().lower()
    target = c.gtfs_path
    if target.is_dir():
        raise ProfileError(f"{yml}: 'gtfs' names the folder {target.name}; 'citybridge fetch' downloads a zip. "
                           "Set 'gtfs: gtfs.zip' (the folder is then no longer used)")
    fd, tmpname = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".download", dir=c.folder)
    os.close(fd)
    tmp = Path(tmpname)
    try:
        got = download(dl["url"], tmp, max_bytes=max_bytes, timeout=timeout)
        if got != expected:
            raise CitybridgeError(
                f"{dl['url']}: the downloaded file's SHA-256 does not match city.yml.\n"
                f"  expected (city.yml download.sha256): {expected}\n"
                f"  downloaded:                          {got}\n"
                f"{target.name} was left unchanged. If the publisher released a new feed, check it and put "
                "the new hash in city.yml; otherwise the download was damaged or tampered with")
        try:
            read_tables(tmp)
        except FeedError as exc:
            raise CitybridgeError(f"{dl['url']}: the file matches its hash but is not a usable GTFS feed "
                                  f"({exc}); {target.name} was left unchanged") from None
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    return target


__all__ = ["fetch_city", "download", "MAX_DOWNLOAD_BYTES"]
