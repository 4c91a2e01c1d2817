"""The notebook session: one city, the cities folder and the artefact cache.

Every chapter opens one :class:`Session` from its ``city`` and
``cities_root`` parameters (the comparison opens :meth:`Session.all`), and
asks it for the city's service day, its KPI board and the side-by-side
tables. No environment variable carries the cities folder: functions that
need it take it explicitly.

Side-by-side sections read only the other cities' stored KPI boards
(:func:`citybridge.artifacts.board_path`), never their feeds. A city whose
board is missing or cannot be read is left out of the table, with one
sentence saying which and why. Each side-by-side output carries in its
metadata (``{"citybridge": {"side_by_side": {...}}}``) what is needed to
draw it again, so the build refreshes it on every city page from the
current boards without a kernel (:func:`refresh_pages`): a chapter then
re-runs only when its own city changes.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .city import City, cities_dir, list_cities, load_city
from .errors import CitybridgeError
from .i18n import N_
from .notebook import HTML, say, table
from .phrases import BOARD_FAILED, FOLDER_UNREADABLE, statement_separator, translate_phrase
from .texts import Text, multilingual, tr

#: Key of an output's ``citybridge`` metadata that marks a side-by-side table.
SIDE_BY_SIDE = "side_by_side"
#: Suffix of the note the build leaves when a city's KPI board could not be computed.
ERROR_SUFFIX = ".error"


@dataclass
class StoredBoard:
    """One city's stored KPI board, or why there is none.

    ``table`` is the board (:func:`citybridge.kpi.kpi_table`) or None;
    ``reason`` then says why, in a few words a reader understands.
    """

    slug: str
    city: City | None
    table: pd.DataFrame | None
    reason: str = ""

    @property
    def name(self) -> str:
        return self.city.name if self.city is not None else self.slug


def stored_board(city: City, *, folder: Path, date: str | None = None) -> StoredBoard:
    """The city's KPI board for its current files as stored in ``folder``
    (never computed here: no feed is read)."""
    from .artifacts import board_path

    try:
        path = board_path(city, date=date, folder=folder)
    except OSError as exc:
        return StoredBoard(city.slug, city, None, FOLDER_UNREADABLE.format(error=exc.strerror))
    if path.is_file():
        try:
            return StoredBoard(city.slug, city, pd.read_parquet(path))
        except (OSError, ValueError):
            return StoredBoard(city.slug, city, None, N_("its stored KPI board cannot be read; "
                                                         "'citybridge build' computes it again"))
    err = path.with_suffix(ERROR_SUFFIX)
    if err.is_file():
        first = err.read_text(encoding="utf-8", errors="replace").strip().splitlines()[:1] or ["unknown error"]
        return StoredBoard(city.slug, city, None, BOARD_FAILED.format(error=first[0][:300]))
    return StoredBoard(city.slug, city, None, N_("no KPI board has been computed for its current data "
                                                 "('citybridge build' computes it)"))


def note_board_error(city: City, message: str, *, folder: Path, date: str | None = None) -> None:
    """Leave beside the board's place why it could not be computed, for the
    sentence of :func:`left_out_sentence` (never fails the caller)."""
    from .artifacts import board_path

    try:
        path = board_path(city, date=date, folder=folder).with_suffix(ERROR_SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(message, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def read_boards(cities_root: Path, *, folder: Path, skip: tuple[str, ...] = ()) -> list[StoredBoard]:
    """The stored KPI board (or the reason for none) of every city in ``cities_root``
    but those in ``skip``, in slug order. A city whose ``city.yml`` cannot be
    read has no board (its own chapters and the build report say why)."""
    out = []
    for slug in list_cities(cities_root):
        if slug in skip:
            continue
        try:
            c = load_city(slug, root=cities_root, check_files=False)
        except Exception:  # noqa: BLE001 - one broken city never breaks another's page
            out.append(StoredBoard(slug, None, None, N_("its city.yml cannot be read (see the build report)")))
            continue
        if not c.gtfs_path.is_file():
            out.append(StoredBoard(slug, c, None, N_("its GTFS feed is missing (see the build report)")))
            continue
        out.append(stored_board(c, folder=folder))
    return out


def left_out_sentence(missing: list[StoredBoard], *, compared: bool = False) -> str:
    """One sentence naming the cities left out of a side-by-side table (or of the
    comparison) and why ('' for none), in the language in force."""
    if not missing:
        return ""
    parts = statement_separator().join(tr("{city}: {reason}", city=b.name, reason=translate_phrase(b.reason))
                                       for b in missing)
    return tr("Not compared: {cities}.", cities=parts) if compared else \
        tr("Not shown side by side: {cities}.", cities=parts)


@multilingual
def side_by_side_html(boards: list[StoredBoard], theme: str, *, caption: str, source: str,
                      float_format: str = "{:,.1f}", city: str = "") -> HTML:
    """One KPI theme of several cities as a captioned table, then the sentence
    on the cities left out; the output remembers how it was made (``city`` is
    the page's own city, shown first) so the build can draw it again."""
    from .kpi import theme_table

    have = [b for b in boards if b.table is not None and b.city is not None]
    sentence = left_out_sentence([b for b in boards if b.table is None or b.city is None])
    parts: list[HTML] = []
    if have:
        parts.append(table(theme_table([(b.city, b.table) for b in have], theme), caption=caption, source=source,
                           float_format=float_format))
    if sentence or not have:
        parts.append(say(sentence or tr("No city has a KPI board to show side by side.")))
    meta = {"citybridge": {SIDE_BY_SIDE: {"city": city, "theme": theme, "caption": _spec(caption),
                                          "source": _spec(source), "float_format": float_format}}}
    return HTML("".join(p.body for p in parts), "\n".join(p.text for p in parts), meta)


def _spec(text):
    return text.spec() if isinstance(text, Text) else text


@multilingual
def sample_note_html(boards: list[StoredBoard], *, city: str = "") -> HTML:
    """One sentence on the cities of a side-by-side table whose data are
    illustrative (those with a board); remembered like :func:`side_by_side_html`."""
    sample = [b.city.name for b in boards if b.table is not None and b.city is not None
              and b.city.status == "illustrative"]
    out = say(tr("Not comparable: sample data for {cities}. Read those side-by-side figures as a check of "
                 "the method, not as a finding about the real networks.", cities=", ".join(sample)) if sample else
              tr("Every city here runs on official or reconstructed data; the differences come from their networks "
                 "and census populations, under the same rules."))
    out.meta = {"citybridge": {SIDE_BY_SIDE: {"city": city, "kind": "sample_note"}}}
    return out


def redraw(spec: dict, boards: list[StoredBoard]) -> HTML:
    """A side-by-side output drawn again from its remembered ``spec`` and the boards."""
    own = [b for b in boards if b.slug == spec.get("city")]
    rest = [b for b in boards if b.slug != spec.get("city")]
    if spec.get("kind") == "sample_note":
        return sample_note_html(own + rest, city=spec.get("city", ""))
    return side_by_side_html(own + rest, spec["theme"], caption=Text.from_spec(spec["caption"]),
                             source=Text.from_spec(spec["source"]),
                             float_format=spec.get("float_format", "{:,.1f}"), city=spec.get("city", ""))


@dataclass
class Session:
    """One city's session: the city, the cities folder and the artefact cache.

    Open it with :meth:`open`; ``date`` is the analysis date of the chapter
    (None: the feed's default day).
    """

    city: City
    cities_root: Path
    cache: Path
    date: str | None = None
    _others: list[StoredBoard] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, city: str | City, cities_root: str | os.PathLike[str] | None = None, *,
             date: str | None = None, cache: Path | None = None) -> Session:
        """Open the session of the city named by a notebook's ``city`` parameter.

        ``cities_root`` (a parameter set by ``citybridge build``) is the folder
        holding the cities; empty means the project's ``data/cities``.
        ``cache`` is the artefact folder (default
        :func:`citybridge.artifacts.cache_dir`).
        """
        from .artifacts import cache_dir

        root = Path(cities_root).resolve() if cities_root else cities_dir()
        place = city if isinstance(city, City) else load_city(city, root=root)
        return cls(place, root, Path(cache) if cache else cache_dir(), date or None)

    @classmethod
    def all(cls, cities: str | list[str] = "", cities_root: str | os.PathLike[str] | None = None, *,
            cache: Path | None = None) -> Sessions:
        """The sessions of the cities to compare that have a stored KPI board.

        ``cities`` is a list or a comma-separated string of slugs (empty: every
        city present). The cities left out, and why, are in ``.left_out``.
        """
        from .artifacts import cache_dir

        root = Path(cities_root).resolve() if cities_root else cities_dir()
        folder = Path(cache) if cache else cache_dir()
        slugs = [s for s in cities.split(",") if s] if isinstance(cities, str) else list(cities)
        found = {b.slug: b for b in read_boards(root, folder=folder)}
        boards = [found.get(s) or StoredBoard(s, None, None, f"there is no city folder {root / s}")
                  for s in (slugs or list(found))]
        out = Sessions(cls(b.city, root, folder, None, None) for b in boards if b.table is not None)
        for s in out:
            s._others = [b for b in boards if b.slug != s.city.slug]
        out.left_out = [b for b in boards if b.table is None]
        out.tables = {b.slug: b.table for b in boards if b.table is not None}
        if not out and not out.left_out:
            raise CitybridgeError(f"{root}: no city to compare; add a city folder (citybridge new-city)")
        return out

    def day(self):
        """The city's prepared service day (:func:`citybridge.feed.feed_day`, stored on disk)."""
        from .feed import feed_day

        return feed_day(self.city, self.date)

    def board(self) -> pd.DataFrame:
        """The city's KPI board for the session's date: read from the artefact
        cache, computed and stored when missing.

        Returns
        -------
        DataFrame
            As :func:`citybridge.kpi.kpi_table`.
        """
        from .artifacts import kpi_board

        return kpi_board(self.city, date=self.date, folder=self.cache)

    def other_boards(self) -> list[StoredBoard]:
        """The stored default-day boards of the other cities (or why there is none), read once."""
        if self._others is None:
            self._others = read_boards(self.cities_root, folder=self.cache, skip=(self.city.slug,))
        return self._others

    def others(self) -> list[City]:
        """The other cities that have a KPI board for their current data."""
        return [b.city for b in self.other_boards() if b.table is not None and b.city is not None]

    def other_profiles(self) -> list[City]:
        """Every other city whose ``city.yml`` can be read (their profiles only: no feed, no board)."""
        out = []
        for slug in list_cities(self.cities_root):
            if slug == self.city.slug:
                continue
            try:
                out.append(load_city(slug, root=self.cities_root))
            except Exception:  # noqa: BLE001 - one broken city never breaks another's page
                continue
        return out

    def side_by_side(self, theme: str, *, caption: str, source: str, float_format: str = "{:,.1f}") -> HTML:
        """One KPI theme of this city and every other city with a board, side by side.

        This city's default-day board is computed when missing (a chapter
        run on its own in JupyterLab); the others' are only read.
        """
        return side_by_side_html(self._shown(), theme, caption=caption, source=source,
                                 float_format=float_format, city=self.city.slug)

    def sample_note(self) -> HTML:
        """The sentence that says which cities of the side-by-side tables have illustrative data."""
        return sample_note_html(self._shown(), city=self.city.slug)

    def _shown(self) -> list[StoredBoard]:
        """This city's default-day board (computed when missing, unless the build
        already failed to compute it), then the others'."""
        from .artifacts import kpi_board

        own = stored_board(self.city, folder=self.cache)
        if own.table is None and not own.reason.startswith(BOARD_FAILED.split("{")[0]):
            try:
                own = StoredBoard(self.city.slug, self.city, kpi_board(self.city, folder=self.cache))
            except CitybridgeError as exc:
                own = StoredBoard(self.city.slug, self.city, None,
                                  BOARD_FAILED.format(error=str(exc).splitlines()[0][:300]))
        return [own, *self.other_boards()]


class Sessions(list):
    """The sessions of :meth:`Session.all`, with the cities left out (``left_out``)."""

    left_out: list[StoredBoard]
    tables: dict[str, pd.DataFrame]

    def boards(self) -> list[tuple[City, pd.DataFrame]]:
        """``(city, board)`` of every city compared, for :func:`citybridge.compare.board`."""
        return [(s.city, self.tables[s.city.slug]) for s in self]

    @multilingual
    def note(self) -> HTML:
        """The sentence on the cities left out of the comparison (empty when none is)."""
        return say(left_out_sentence(self.left_out, compared=True))


def refresh_pages(pages: list[tuple[Path, Path | None]], cities_root: Path, *, folder: Path) -> list[Path]:
    """Draw again, from the current stored boards, every side-by-side output of
    executed city pages, without a kernel.

    ``pages`` are ``(page, cached copy or None)``; a page whose outputs change
    is rewritten, and its cached copy with it (so the next build reuses it as
    is); a page already showing the current figures is not touched.

    Returns the pages rewritten.
    """
    import nbformat

    boards: list[StoredBoard] | None = None
    changed = []
    for page, cached in pages:
        try:
            text = page.read_text(encoding="utf-8")
        except OSError:
            continue
        if f'"{SIDE_BY_SIDE}"' not in text:
            continue
        if boards is None:
            boards = read_boards(cities_root, folder=folder)
        nb = nbformat.reads(text, as_version=4)
        dirty = False
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                spec = (out.get("metadata") or {}).get("citybridge", {}).get(SIDE_BY_SIDE)
                if not spec or "data" not in out:
                    continue
                data, meta = redraw(spec, boards).bundle()
                if dict(out["data"]) != data or json.dumps(out["metadata"], sort_keys=True) != \
                        json.dumps(meta, sort_keys=True):
                    out["data"], out["metadata"] = nbformat.from_dict(data), nbformat.from_dict(meta)
                    dirty = True
        if not dirty:
            continue
        new = nbformat.writes(nb)
        for target in (page, cached):
            if target is not None and target.is_file():
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                tmp.write_text(new, encoding="utf-8")
                os.replace(tmp, target)
        changed.append(page)
    return changed
