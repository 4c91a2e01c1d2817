"""The Markdown pages the build writes: each city's landing page and the build report, in every edition's language.

These pages are generated, so no page catalog can hold their sentences
(they name cities, count runs, quote errors). Like the chapters' outputs
(:mod:`citybridge.texts`), they are written once per language when the
build writes them: the page file holds the English text, and each other
language's text on a MyST comment line (``% citybridge-page es <base64>``,
never rendered). When Sphinx reads the page for the Spanish or Chinese
edition, :func:`page_in_language` (a ``source-read`` hook of the book's
``conf.py``) puts that language's text in place of the English one, and
:func:`has_language` tells :mod:`citybridge.editions` that the page is
translated.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import i18n
from .phrases import city_prose, translate_phrase
from .texts import tr

if TYPE_CHECKING:  # pragma: no cover
    from .city import City
    from .pipeline import BuildReport

#: Energy types of a fleet (``city.yml`` fleet entries), shown translated.
ENERGY_WORDS = (i18n.N_("diesel"), i18n.N_("electric"), i18n.N_("other"))

#: Start of the comment line that carries a page in another language.
PAGE_VARIANT = "% citybridge-page "


def multilingual_md(render: Callable[[], str]) -> str:
    """A generated page in every language of the book: ``render()`` called in each
    (English first, the page itself), the others on :data:`PAGE_VARIANT` lines."""
    drawn = {}
    for lang in i18n.LANGUAGES:
        with i18n.use_language(lang):
            drawn[lang] = render()
    text = drawn.pop(i18n.SOURCE_LANGUAGE).rstrip("\n") + "\n"
    if drawn:
        text += "\n" + "".join(f"{PAGE_VARIANT}{lang} {base64.b64encode(t.encode('utf-8')).decode('ascii')}\n"
                               for lang, t in drawn.items())
    return text


def page_in_language(text: str, lang: str) -> str:
    """A generated page's text in ``lang`` (``text`` itself for English or when it has no such variant)."""
    if lang == i18n.SOURCE_LANGUAGE:
        return text
    mark = f"{PAGE_VARIANT}{lang} "
    for line in text.splitlines():
        if line.startswith(mark):
            try:
                return base64.b64decode(line[len(mark):].strip()).decode("utf-8")
            except ValueError:
                return text
    return text


def has_language(page: Path, lang: str) -> bool:
    """Whether a generated Markdown page carries its text in ``lang``."""
    try:
        return f"\n{PAGE_VARIANT}{lang} " in Path(page).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def page_title(name: str, name_local: str | None) -> str:
    """The city page title: the name, with the local name only when it adds something."""
    if not name_local or name_local.strip().casefold() in name.casefold() \
            or name.casefold() in name_local.casefold():
        return name
    return f"{name} ({name_local})"


def md_cell(text: object) -> str:
    """``text`` safe in a Markdown paragraph or table cell (escaped, no pipes or line breaks)."""
    return html.escape(str(text)).replace("|", "\\|").replace("\n", " ")


def sample_banner_md(city: City) -> str:
    """The data-status admonition (official, reconstructed, illustrative) for Markdown pages, in the language in force."""
    from .notebook import status_message

    st, title, text = status_message(city)
    kind = "warning" if st == "illustrative" else "note"
    said = tr("**{title}.** {text} See [Data and sources](../../data.md).", title=title, text=md_cell(text))
    return f":::{{{kind}}}\n{said}\n:::\n"


def _number(v: float) -> str:
    return i18n.decimal(v, 0 if float(v).is_integer() else 2)


def md_table(heads: tuple[str, ...], align: str, rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table: ``heads`` (catalog messages, shown translated),
    ``align`` one of ``l`` or ``r`` per column, and the rows' cells as written."""
    return (["| " + " | ".join(tr(h) for h in heads) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
            + ["| " + " | ".join(r) + " |" for r in rows])


def _city_index(city: City) -> str:
    p = city.profile
    title = page_title(p.name, p.name_local)
    lines = [f"# {md_cell(title)}", "", sample_banner_md(city), ""]
    lines.append(tr("Country: {country} · time zone {timezone} · distances measured in {crs}.",
                    country=md_cell(p.country or tr("not stated")), timezone=md_cell(p.timezone), crs=md_cell(p.crs)))
    lines.append("")
    if p.facts:
        lines += ["## " + tr("Key figures"), ""] + md_table(
            (i18n.N_("figure"), i18n.N_("value"), i18n.N_("unit"), i18n.N_("as of"), i18n.N_("source")), "lrlll",
            [[md_cell(i18n.gettext(f.metric.replace("_", " "))), _number(f.value), md_cell(translate_phrase(f.unit)),
              md_cell(f.year), md_cell(city_prose(f.source))] for f in p.facts]) + [""]
    if p.fleet:
        lines += ["## " + tr("Fleet"), ""] + md_table(
            (i18n.N_("mode"), i18n.N_("energy"), i18n.N_("vehicles"), i18n.N_("as of"), i18n.N_("source")), "llrll",
            [[md_cell(i18n.gettext(e.mode)), md_cell(i18n.gettext(e.energy)), i18n.decimal(e.vehicles, 0),
              md_cell(e.year), md_cell(e.source)] for e in p.fleet]) + [""]
    notes = city.text("notes")
    if notes:
        lines += ["## " + tr("Notes on this city's data"), "", md_cell(notes), ""]
    lines += [tr("The chapters below analyse this city's network with the same methods as every other city "
                 "in the book ([methods](../../methods.md))."), ""]
    return "\n".join(lines)


def city_index_md(city: City) -> str:
    """The city's landing page: identity, data-status banner and key figures with sources, in every language."""
    return multilingual_md(lambda: _city_index(city))


def _status(cached: bool, ok: bool, done: str) -> str:
    return tr("reused (unchanged)") if cached else (done if ok else "**" + tr("failed") + "**")


def _report(report: BuildReport) -> str:
    lines = ["# " + tr("Build report"), "",
             tr("This page lists every notebook run of the last build. A notebook that failed does not "
                "stop the others; its reason is given here so it can be fixed."), ""]
    if report.city_errors:
        lines += ["## " + tr("Cities that could not be built"), ""]
        for slug, err in report.city_errors.items():
            lines += [f"### {md_cell(slug)}", "", "```text", err, "```", ""]
    fails = report.failures
    if fails:
        lines += ["## " + tr("Notebooks that failed"), ""]
        for r in fails:
            lines += [f"### {md_cell(r.job.label)}", "", "```text", r.error, "```", ""]
    bad_boards = [b for b in report.boards if not b.ok]
    if bad_boards:
        lines += ["## " + tr("KPI boards that could not be computed"), "",
                  tr("These cities are left out of the side-by-side tables and of the comparison."), ""]
        for b in bad_boards:
            lines += ["### " + tr("{city}: KPI board", city=md_cell(b.city)), "", "```text", b.error, "```", ""]
    if not report.city_errors and not fails and not bad_boards:
        lines += [tr("Every notebook ran without error."), ""]
    lines += ["## " + tr("All runs"), ""] + md_table(
        (i18n.N_("city"), i18n.N_("notebook"), i18n.N_("status"), i18n.N_("seconds")), "lllr",
        [[md_cell(r.job.city or tr("all cities")), Path(r.job.notebook).stem, _status(r.cached, r.ok, tr("ok")),
          i18n.decimal(r.seconds, 1, grouping=False)] for r in report.results]) + [""]
    if report.boards:
        lines += ["## " + tr("KPI boards"), "", tr("Each city's KPI board is computed once per build, before the "
                                                  "chapters, and read by its chapter 07, the side-by-side tables "
                                                  "and the comparison."), ""] + md_table(
            (i18n.N_("city"), i18n.N_("status"), i18n.N_("seconds")), "llr",
            [[md_cell(b.city), _status(b.cached, b.ok, tr("computed")), i18n.decimal(b.seconds, 1, grouping=False)]
             for b in report.boards]) + [""]
    return "\n".join(lines)


def report_md(report: BuildReport) -> str:
    """The build report page: what ran, what was reused, what failed and why, in every language."""
    return multilingual_md(lambda: _report(report))


__all__ = ["ENERGY_WORDS", "PAGE_VARIANT", "multilingual_md", "page_in_language", "has_language", "page_title", "md_cell",
           "md_table", "sample_banner_md", "city_index_md", "report_md"]
