"""The notebooks' narrative in Spanish and Chinese: complete chapter catalogs, the translated
notebooks of ``make lab lang=..``, the editions' notebook pages, and the lab target's argument."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from citybridge import catalogs, editions
from citybridge import notebook_i18n as ni
from citybridge.errors import CitybridgeError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


# ---- the catalogs ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", catalogs.TARGET_LANGUAGES)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_markdown_cell_is_translated(notebook, lang):
    """No empty or fuzzy entry, and no markdown cell whose English is missing from the catalog
    (a changed cell): run ``notebook_i18n.update_notebook_catalogs()`` and translate."""
    po = ni.catalog_path(lang, notebook.stem)
    assert ni.catalog_problems(notebook, po) == []
    ids = {m.id for m in catalogs.read_catalog(po) if m.id}
    assert ids == set(ni.markdown_messages(notebook)), f"{po}: entries of cells that no longer exist"


def test_every_chapter_has_a_catalog_and_no_other():
    for lang in catalogs.TARGET_LANGUAGES:
        folder = ROOT / "book" / "locales" / lang / "LC_MESSAGES" / ni.NOTEBOOK_CATALOGS
        assert {p.stem for p in folder.glob("*.po")} == {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("lang", catalogs.TARGET_LANGUAGES)
def test_translations_keep_code_spans_links_and_headings(lang):
    import re

    for nb in NOTEBOOKS:
        msgs = ni.catalog_messages(ni.catalog_path(lang, nb.stem))
        for en, tr in msgs.items():
            assert sorted(re.findall(r"`[^`]+`", en)) == sorted(re.findall(r"`[^`]+`", tr)), (nb.stem, en[:60])
            assert re.findall(r"\]\(([^)]+)\)", en) == re.findall(r"\]\(([^)]+)\)", tr), (nb.stem, en[:60])
            heads = [ln.split(" ")[0] for ln in en.splitlines() if ln.startswith("#")]
            assert heads == [ln.split(" ")[0] for ln in tr.splitlines() if ln.startswith("#")], (nb.stem, en[:60])


def test_glossary_terms_are_used():
    es = "\n".join(ni.catalog_messages(ni.catalog_path("es", "02_service")).values())
    zh = "\n".join(ni.catalog_messages(ni.catalog_path("zh", "02_service")).values())
    assert "red de alta frecuencia" in es and "flota en punta" in es and "intervalo medio" in es
    assert "高频线网" in zh and "高峰配车数" in zh and "平均发车间隔" in zh


# ---- a hand-made notebook -----------------------------------------------------------------------

def _tiny_notebook(path: Path, intro: str = "# A title\n\nSome *text*.") -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "cells": [
              {"cell_type": "markdown", "metadata": {}, "source": [intro]},
              {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": 3,
               "outputs": [], "source": ["city = \"hangzhou\"\n"]},
              {"cell_type": "code", "metadata": {"tags": ["hide-input"]}, "execution_count": 4,
               "outputs": [{"output_type": "stream", "name": "stdout", "text": ["2\n"]}],
               "source": ["print(1 + 1)"]},
              {"cell_type": "markdown", "metadata": {}, "source": "## Summary\n\nDone, see `x`."},
              {"cell_type": "markdown", "metadata": {}, "source": "An untranslated cell."}]}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _tiny_catalog(locale_root: Path, lang: str, chapter: str, entries: dict[str, str],
                  fuzzy: tuple[str, ...] = ()) -> Path:
    po = ni.catalog_path(lang, chapter, locale_root=locale_root)
    po.parent.mkdir(parents=True, exist_ok=True)
    cat = Catalog(locale="es_CL" if lang == "es" else "zh_Hans_CN", charset="utf-8")
    for k, v in entries.items():
        cat.add(k, v, flags=("fuzzy",) if k in fuzzy else ())
    with open(po, "wb") as f:
        write_po(f, cat)
    return po


def test_markdown_messages_are_the_whole_cells(tmp_path):
    nb = _tiny_notebook(tmp_path / "01_x.ipynb")
    assert ni.markdown_messages(nb) == ["# A title\n\nSome *text*.", "## Summary\n\nDone, see `x`.",
                                        "An untranslated cell."]


def test_catalog_problems_name_empty_fuzzy_and_missing_cells(tmp_path):
    (tmp_path / "nb").mkdir()
    nb = _tiny_notebook(tmp_path / "nb" / "01_x.ipynb")
    po = _tiny_catalog(tmp_path / "locales", "es", "01_x",
                       {"# A title\n\nSome *text*.": "# Un título\n\nAlgo de *texto*.",
                        "## Summary\n\nDone, see `x`.": "## Resumen\n\nListo, vea `x`.",
                        "Gone": ""}, fuzzy=("## Summary\n\nDone, see `x`.",))
    problems = ni.catalog_problems(nb, po)
    assert len(problems) == 3
    assert "fuzzy" in problems[0] and "Summary" in problems[0]
    assert "'Gone'" in problems[1]
    assert "not in the catalog" in problems[2] and "An untranslated cell." in problems[2]
    assert ni.catalog_problems(nb, tmp_path / "none.po") == [f"{tmp_path / 'none.po'}: no catalog for 01_x.ipynb"]


def test_update_notebook_catalogs_marks_a_changed_cell_fuzzy(tmp_path):
    nbs, loc = tmp_path / "nb", tmp_path / "locales"
    nbs.mkdir()
    _tiny_notebook(nbs / "01_x.ipynb")
    (po,) = ni.update_notebook_catalogs(nbs, locale_root=loc, languages=("es",))
    assert po == loc / "es" / "LC_MESSAGES" / "notebooks" / "01_x.po"
    assert len(catalogs.missing_translations(po)) == 3
    cat = catalogs.read_catalog(po)
    cat["# A title\n\nSome *text*."].string = "# Un título\n\nAlgo de *texto*."
    with open(po, "wb") as f:
        write_po(f, cat)
    _tiny_notebook(nbs / "01_x.ipynb", intro="# A title\n\nSome *more* text.")
    ni.update_notebook_catalogs(nbs, locale_root=loc, languages=("es",))
    cat = catalogs.read_catalog(po)
    entry = cat["# A title\n\nSome *more* text."]
    assert entry.fuzzy and entry.string == "# Un título\n\nAlgo de *texto*."  # the old one as a suggestion
    assert ni.catalog_messages(po) == {}  # fuzzy entries are never used


def test_lab_notebooks_translated_outputs_stripped_code_unchanged(tmp_path):
    nbs, loc, out = tmp_path / "nb", tmp_path / "locales", tmp_path / "nb" / "_es"
    nbs.mkdir()
    src = _tiny_notebook(nbs / "01_x.ipynb")
    po = _tiny_catalog(loc, "es", "01_x", {"# A title\n\nSome *text*.": "# Un título\n\nAlgo de *texto*.",
                                           "## Summary\n\nDone, see `x`.": "## Resumen\n\nListo, vea `x`.",
                                           "An untranslated cell.": ""})
    folder, written = ni.write_lab_notebooks("es", notebooks_dir=nbs, locale_root=loc)
    assert folder == out and written == [out / "01_x.ipynb"]
    nb = json.loads((out / "01_x.ipynb").read_text(encoding="utf-8"))
    en = json.loads(src.read_text(encoding="utf-8"))
    assert [c["cell_type"] for c in nb["cells"]] == [c["cell_type"] for c in en["cells"]]
    assert [ni.cell_text(c) for c in nb["cells"] if c["cell_type"] == "markdown"] == [
        "# Un título\n\nAlgo de *texto*.", "## Resumen\n\nListo, vea `x`.", "An untranslated cell."]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [ni.cell_text(c) for c in code] == ['city = "hangzhou"\n', "print(1 + 1)"]
    assert code[0]["metadata"]["tags"] == ["parameters"] and code[1]["metadata"]["tags"] == ["hide-input"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"

    # unchanged source and catalog: nothing rewritten, a participant's edits survive
    (out / "01_x.ipynb").write_text((out / "01_x.ipynb").read_text(encoding="utf-8").replace("Un título", "Mío"),
                                    encoding="utf-8")
    assert ni.write_lab_notebooks("es", notebooks_dir=nbs, locale_root=loc)[1] == []
    assert "Mío" in (out / "01_x.ipynb").read_text(encoding="utf-8")
    # a changed catalog rewrites the copy
    _tiny_catalog(loc, "es", "01_x", {"# A title\n\nSome *text*.": "# Otro título\n\nAlgo de *texto*."})
    assert ni.write_lab_notebooks("es", notebooks_dir=nbs, locale_root=loc)[1] == [out / "01_x.ipynb"]
    assert "Otro título" in (out / "01_x.ipynb").read_text(encoding="utf-8")
    # a changed notebook too; a removed one takes its copy with it
    _tiny_notebook(src, intro="# A title\n\nSome *text*.\n")
    _tiny_notebook(nbs / "02_y.ipynb")
    assert ni.write_lab_notebooks("es", notebooks_dir=nbs, locale_root=loc)[1] == [out / "01_x.ipynb",
                                                                                   out / "02_y.ipynb"]
    (nbs / "02_y.ipynb").unlink()
    ni.write_lab_notebooks("es", notebooks_dir=nbs, locale_root=loc)
    assert not (out / "02_y.ipynb").exists() and po.is_file()


@pytest.mark.parametrize("lang", ["en", "fr", ""])
def test_lab_notebooks_refuse_other_languages(tmp_path, lang):
    with pytest.raises(CitybridgeError, match="es, zh"):
        ni.write_lab_notebooks(lang, notebooks_dir=tmp_path, locale_root=tmp_path)


def test_translate_notebook_text_leaves_english_and_non_notebooks_alone(tmp_path):
    nb = _tiny_notebook(tmp_path / "01_x.ipynb").read_text(encoding="utf-8")
    _tiny_catalog(tmp_path, "zh", "01_x", {"## Summary\n\nDone, see `x`.": "## 小结\n\n完成，见 `x`。"})
    assert ni.translate_notebook_text(nb, "01_x", "en", locale_root=tmp_path) == nb
    assert ni.translate_notebook_text("not json", "01_x", "zh", locale_root=tmp_path) == "not json"
    assert ni.translate_notebook_text(nb, "02_none", "zh", locale_root=tmp_path) == nb
    out = json.loads(ni.translate_notebook_text(nb, "01_x", "zh", locale_root=tmp_path))
    assert ni.cell_text(out["cells"][3]) == "## 小结\n\n完成，见 `x`。"
    assert out["cells"][2]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": ["2\n"]}]


def test_unreadable_notebook_is_a_clear_error(tmp_path):
    bad = tmp_path / "01_bad.ipynb"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(CitybridgeError, match="01_bad.ipynb: not a readable Jupyter notebook"):
        ni.markdown_messages(bad)


# ---- the lab target -----------------------------------------------------------------------------

def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-n", "-C", str(ROOT), *args], capture_output=True, text=True,
                          env=dict(os.environ, LANG="es_CL.UTF-8"))


@pytest.mark.parametrize("bad", ["fr", "es_CL", "es zh", "EN"])
def test_make_lab_refuses_an_unknown_language(bad):
    proc = _make("lab", f"lang={bad}")
    assert proc.returncode != 0
    assert f'lang="{bad}" is not a language of the workbook; use lang=en, lang=es or lang=zh' in proc.stderr


def test_make_lab_opens_the_translated_copies_with_the_kernel_language():
    es = _make("lab", "lang=es").stdout
    assert "-m citybridge.notebook_i18n es" in es
    assert "CITYBRIDGE_LANG=es" in es and "jupyter lab notebooks/_es/" in es
    en = _make("lab").stdout  # the default is English, whatever the environment's LANG says
    assert "notebook_i18n" not in en and "CITYBRIDGE_LANG=en" in en and "jupyter lab notebooks/ " in en
    assert _make("test", "lang=fr").returncode == 0  # only lab checks it


def test_translated_copies_are_git_ignored():
    paths = ["notebooks/_es/01_network.ipynb", "notebooks/_zh/x.ipynb",
             "book/locales/es/LC_MESSAGES/notebooks/01_network.mo"]
    proc = subprocess.run(["git", "-C", str(ROOT), "check-ignore", *paths], capture_output=True, text=True)
    assert proc.stdout.split() == paths


# ---- a translated chapter executes like the English one ------------------------------------------

def _outputs_shape(nb: dict) -> list:
    return [(ni.cell_text(c), [(o["output_type"], sorted(o.get("data", {}))) for o in c.get("outputs", [])])
            for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.notebook
def test_spanish_chapter_01_executes_like_the_english_one(tmp_path):
    import papermill as pm

    out, _ = ni.write_lab_notebooks("es", out_dir=tmp_path / "_es")
    env = {"CITYBRIDGE_CACHE": os.environ.get("CITYBRIDGE_CACHE", str(tmp_path / "cache"))}
    runs = {}
    for lang, src in (("en", ROOT / "notebooks" / "01_network.ipynb"), ("es", out / "01_network.ipynb")):
        old = os.environ.get("CITYBRIDGE_LANG")
        os.environ.update(env, CITYBRIDGE_LANG=lang)
        try:
            runs[lang] = pm.execute_notebook(str(src), str(tmp_path / f"{lang}.ipynb"),
                                             parameters={"city": "hangzhou"}, cwd=str(src.parent),
                                             kernel_name="python3", progress_bar=False)
        finally:
            os.environ.pop("CITYBRIDGE_LANG") if old is None else os.environ.update(CITYBRIDGE_LANG=old)
    assert _outputs_shape(runs["es"]) == _outputs_shape(runs["en"])
    assert not any(o["output_type"] == "error" for c in runs["es"]["cells"] for o in c.get("outputs", []))
    md = [ni.cell_text(c) for c in runs["es"]["cells"] if c["cell_type"] == "markdown"]
    assert md[0].startswith("# 01 · La red de un vistazo") and "## Resumen" in md[-1]


# ---- the editions' notebook pages ----------------------------------------------------------------

@pytest.fixture(scope="module")
def notebook_site(tmp_path_factory):
    """The hand-written pages plus chapter 01 as a Hangzhou notebook page (one computed output), in three editions."""
    from citybridge.book import build_html

    book = catalogs.assemble_pages_book(ROOT / "book", tmp_path_factory.mktemp("nb-editions"))
    nb = json.loads((ROOT / "notebooks" / "01_network.ipynb").read_text(encoding="utf-8"))
    for c in nb["cells"]:
        if c["cell_type"] == "code" and "summary = network.network_summary" in ni.cell_text(c):
            c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["Network of Hangzhou\n"]}]
    page = book / "cities" / "hangzhou" / "01_network.ipynb"
    page.parent.mkdir(parents=True)
    page.write_text(json.dumps(nb), encoding="utf-8")
    toc = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))
    toc["parts"][0]["chapters"].append({"file": "cities/hangzhou/01_network"})
    (book / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    index = build_html(book)
    editions.build_editions(book, index.parent)
    return index.parent


@pytest.mark.book
def test_notebook_pages_show_the_narrative_in_the_edition_language(notebook_site):
    html = notebook_site
    pages = {c: (html / c / "cities" / "hangzhou" / "01_network.html").read_text(encoding="utf-8")
             for c in ("en", "es", "zh")}
    assert "The network at a glance" in pages["en"] and "cb-untranslated" not in pages["en"]
    assert "La red de un vistazo" in pages["es"] and "The network at a glance" not in pages["es"]
    assert "线网概览" in pages["zh"] and "Where the lines run" not in pages["zh"]
    # no note: the outputs are drawn in the edition's language at execution (citybridge.texts)
    assert "cb-untranslated" not in pages["es"] and "cb-untranslated" not in pages["zh"]
    for code in ("es", "zh"):
        assert '<article class="bd-article">' in pages[code]  # the article is in the edition's language
        assert 'lang="en"' not in pages[code].split('<article class="bd-article">', 1)[1]
    # the stand-in page without a catalog keeps the full note
    assert "Esta página aún no está traducida" in (html / "es" / "cities" / "index.html").read_text(encoding="utf-8")


def test_narrative_detection_and_translated_notebook_pages(tmp_path):
    (tmp_path / "cities" / "a").mkdir(parents=True)
    (tmp_path / "cities" / "a" / "01_network.ipynb").write_text("{}", encoding="utf-8")
    _tiny_catalog(tmp_path / editions.PAGE_LOCALES, "es", "01_network", {"x": "y"})
    assert editions.narrative_translated(tmp_path, "cities/a/01_network", "es")
    assert not editions.narrative_translated(tmp_path, "cities/a/01_network", "zh")
    assert not editions.narrative_translated(tmp_path, "cities/a/index", "es")
    page = ('<html lang="es"><head></head><body><article class="bd-article">'
            '<div class="cell_output docutils container">x</div></article></body></html>')
    out = editions.decorate_page(page, "cities/a/01_network", "es", translated=False, narrative=True)
    assert '<div class="cell_output docutils container">x</div>' in out
    assert "cb-untranslated" not in out and '<article class="bd-article">' in out
    out = editions.decorate_page(page, "cities/a/01_network", "es", translated=False, narrative=False)
    assert "cb-untranslated" in out



def test_write_catalog_leaves_a_file_that_only_the_date_would_change(tmp_path):
    import datetime as dt

    po = tmp_path / "x.po"
    cat = Catalog(locale="es_CL", charset="utf-8", creation_date=dt.datetime(2026, 1, 1, 10, 0))
    cat.add("Hello", "Hola")
    catalogs.write_catalog(po, cat)
    before = po.read_bytes()
    assert b"POT-Creation-Date: 2026-01-01 10:00" in before
    cat.creation_date = dt.datetime(2026, 2, 2, 11, 0)
    catalogs.write_catalog(po, cat)
    assert po.read_bytes() == before
    cat["Hello"].string = "Buenas"
    catalogs.write_catalog(po, cat)
    assert b'msgstr "Buenas"' in po.read_bytes() and b"2026-02-02 11:00" in po.read_bytes()
    assert catalogs.translated_messages(po) == {"Hello": "Buenas"}
    assert catalogs.translated_messages(tmp_path / "none.po") == {}
