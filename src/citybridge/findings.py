"""A finding of the checks (:mod:`citybridge.validate`) and how one is made.

A finding names the file, the column and the row where it applies, and says
what to do; :func:`findings_from_error` turns the message of any
:class:`~citybridge.errors.CitybridgeError` ("file, column 'c', row r: text")
into findings.

A finding's message is a :class:`~citybridge.texts.Text` where the check
wrote one: it is translated when it is shown (``citybridge validate --lang
es``, chapter 00 in each edition), while the file, column and row stay as
values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .i18n import N_
from .texts import Text, TextStr, resolve

#: Severities, most severe first: the city cannot be built / a result may be wrong / a note.
SEVERITIES = (N_("fatal"), N_("warning"), N_("info"))


@dataclass(frozen=True)
class Finding:
    """One problem or note.

    Attributes
    ----------
    severity : str
        ``fatal``, ``warning`` or ``info``.
    file : str
        The file concerned (a feed's table as ``.../gtfs.zip/stops.txt``).
    column, row : str
        Where in the file (row: 1-based data row, the header is row 0); may be empty.
    text : str or Text
        What is wrong and what to do, as the check wrote it (a
        :class:`~citybridge.texts.Text` is translated when shown).
    """

    severity: str
    file: str
    column: str
    row: str
    text: str | Text

    @property
    def message(self) -> str:
        """What is wrong and what to do, in the language in force."""
        return str(resolve(self.text))


def finding(sev: str, file: object, message: str | Text, column: str = "", row: object = "") -> Finding:
    """A :class:`Finding` of severity ``sev`` (file and row as text; row 1-based, may be empty)."""
    if isinstance(message, TextStr) and message.text is not None:
        message = message.text
    return Finding(sev, str(file), column, "" if row == "" or row is None else str(row), message)


_LOC_RE = re.compile(r"^(?P<file>.+?)(?:, line (?P<line>\d+))?(?:, column '(?P<col>[^']*)')?"
                     r"(?:, row (?P<row>\d+))?: (?P<msg>.*)$", re.S)


def findings_from_error(sev: str, exc: BaseException | str, default_file: object) -> list[Finding]:
    """Turn a citybridge error message ("file, column 'c', row r: text") into findings."""
    out = []
    for line in str(exc).split("\n"):
        line = line.strip()
        if not line:
            continue
        if line.startswith("- ") and out:
            out[-1] = Finding(out[-1].severity, out[-1].file, out[-1].column, out[-1].row,
                              out[-1].text + "\n" + line)
            continue
        m = _LOC_RE.match(line)
        if m and ("/" in m["file"] or "\\" in m["file"] or "." in m["file"]) and " " not in m["file"].strip("'"):
            msg = Text("line {line}: {message}", line=int(m["line"]), message=m["msg"]) if m["line"] else m["msg"]
            out.append(finding(sev, m["file"], msg, m["col"] or "", m["row"] or ""))
        else:
            out.append(finding(sev, default_file, line))
    return out or [finding(sev, default_file, str(exc))]


def first_row(mask) -> int:
    """1-based data row of the first True in a boolean array."""
    return int(np.flatnonzero(np.asarray(mask))[0]) + 1
