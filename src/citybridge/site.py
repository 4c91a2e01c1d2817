"""The built site's finishing touches: one shared copy of Leaflet for every map,
and links to static files that do not change from one build to the next.

Both run on a built HTML folder (the English book and each edition, see
:mod:`citybridge.book` and :mod:`citybridge.editions`).
"""
from __future__ import annotations

import html
import re
from pathlib import Path

#: Where the built book keeps the one shared copy of Leaflet for every map.
MAP_ASSETS = ("_static/vendor/citybridge-leaflet.css", "_static/vendor/citybridge-leaflet.js")


def share_map_assets(html_dir: Path) -> int:
    """Make every map of the built book load Leaflet from one shared file.

    Each map (a folium page in an ``<iframe srcdoc>``, see
    :func:`citybridge.notebook.map_figure`) carries Leaflet inline so that it
    also works inside JupyterLab. In the built book that copy is swapped for
    a ``<link>`` and a ``<script src>`` to ``_static/vendor/`` (a srcdoc
    frame resolves relative addresses against its page), which the browser
    loads once for the whole book: about 0.2 MB less per map page. Pages
    whose maps were made differently are left as they are.

    Returns the number of maps changed.
    """
    import re

    from .maps import leaflet_assets

    inline = leaflet_assets()
    m = re.fullmatch(r"<style>(.*)</style><script>(.*)</script>", inline, re.S)
    if m is None:  # pragma: no cover - maps.leaflet_assets changed shape
        return 0
    css_path, js_path = (html_dir / p for p in MAP_ASSETS)
    css_path.parent.mkdir(parents=True, exist_ok=True)
    for path, text in ((css_path, m.group(1)), (js_path, m.group(2))):
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    needle = html.escape(inline, quote=True)
    changed = 0
    for page in html_dir.rglob("*.html"):
        if "_static" in page.relative_to(html_dir).parts:
            continue
        text = page.read_text(encoding="utf-8")
        n = text.count(needle)
        if not n:
            continue
        up = "../" * (len(page.relative_to(html_dir).parts) - 1)
        link = html.escape(f'<link rel="stylesheet" href="{up}{MAP_ASSETS[0]}">'
                           f'<script src="{up}{MAP_ASSETS[1]}"></script>', quote=True)
        page.write_text(text.replace(needle, link), encoding="utf-8")
        changed += n
    return changed


_ASSET_VERSION = re.compile(r'(["\'][^"\'<>]*_static/[^"\'<>?]+)\?v=[0-9a-f]+(["\'])')


def strip_asset_versions(html_dir: Path) -> None:
    """Remove Sphinx's ``?v=<checksum>`` from the pages' links to ``_static`` files.

    Sphinx adds the checksum only when the file is already in the output when
    a page is written, so a page rewritten by an incremental build would carry
    it while the same page of a fresh build does not; without it, a rebuild with
    nothing changed gives the same bytes. (The book is read from disk offline:
    there is no browser cache to bust.) Pages are rewritten only when they change.
    """
    for page in Path(html_dir).rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        new = _ASSET_VERSION.sub(r"\1\2", text)
        if new != text:
            page.write_text(new, encoding="utf-8")


__all__ = ["MAP_ASSETS", "share_map_assets", "strip_asset_versions"]
