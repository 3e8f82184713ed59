"""Escaping what a student controls (printed output, exception messages, file and folder names) for every output:
the terminal, Markdown, HTML, JSON and CSV.

* :func:`control`: control characters other than newline and tab are shown as ``\\x1b``-style escapes (no clear
  screen, no clipboard write by OSC 52, no bidirectional override reordering a line);
* :func:`fence`: a Markdown code fence longer than any run of backticks in the text, so the text cannot close it;
* :func:`csv_cell`: a cell a spreadsheet would read as a formula gets a leading ``'`` (OWASP's rule);
* :func:`normalise_id` and :func:`lookalikes`: ids in Unicode NFKC, and ids that look the same (a confusables
  skeleton: common Cyrillic and Greek look-alikes, case folded) found so both rows can be flagged;
* :func:`id_fold`, :func:`short_hash` and :func:`file_stems`: ids compared as a case-insensitive file system
  compares names, and the stems of the files written per id, never equal after case folding.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# C0 and C1 controls but \t and \n, DEL, and the bidirectional overrides and isolates
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

# Cyrillic and Greek letters drawn like Latin ones (after casefold), and digits drawn like letters
_LOOKALIKE = str.maketrans({
    "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w", "ӏ": "l", "ё": "e", "ї": "i",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j", "0": "o", "1": "l", "|": "l", "_": "-",
})


def control(text: str) -> str:
    """``text`` with control characters (but newline and tab) shown as escapes: ESC → ``\\x1b``, U+202E →
    ``\\u202e``; a carriage return ends a line (progress bars stay readable, nothing is overwritten)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def fence(text: str) -> str:
    """A backtick fence longer than the longest run of backticks in ``text`` (at least three)."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    return "`" * max(3, longest + 1)


def csv_cell(value):
    """A CSV cell: control characters escaped, and a leading ``'`` where a spreadsheet would see a formula."""
    if not isinstance(value, str):
        return value
    value = control(value)
    return "'" + value if value.startswith(_FORMULA) else value


def normalise_id(name: str) -> str:
    """An id in Unicode NFKC (full-width letters, ligatures and the like become their plain forms)."""
    return unicodedata.normalize("NFKC", name)


def skeleton(name: str) -> str:
    """What ``name`` looks like: NFKC, case folded, look-alike letters replaced by the Latin ones."""
    return normalise_id(name).casefold().translate(_LOOKALIKE)


def lookalikes(ids) -> dict[str, list[str]]:
    """id → the other ids that look like it (same :func:`skeleton`), for ids that have any."""
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(skeleton(i), []).append(i)
    return {i: [j for j in group if j != i] for group in groups.values() if len(group) > 1 for i in group}


def id_fold(name: str) -> str:
    """``name`` as a case-insensitive file system (or a person) compares it: NFKC, case folded, NFKC again (case
    folding can leave a string that is not normalised). ``Alice``, ``alice`` and full-width ``ａｌｉｃｅ`` fold alike."""
    return normalise_id(normalise_id(name).casefold())


def short_hash(text: str, length: int = 6) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``text`` (UTF-8; an undecodable file name's surrogates
    kept), to tell apart names that fold alike."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


_STEM_UNSAFE = re.compile(r"[^\w.@+~-]")


def file_stems(keys) -> dict[str, str]:
    """key → the stem of the files written for it (``feedback/<stem>.md``, ``gradescope/<stem>/``): no two stems
    are equal after :func:`id_fold`, so none collide on a case-insensitive file system (macOS, Windows).

    A key is its own stem when it is safe (``[\\w.@+~-]``, no leading dot) and no key before it (folded keys
    first, ``alice`` before ``Alice``, then code-point order) folds alike — the intake's keys always are
    (:func:`autograder.batch.intake.assign_ids`); otherwise the stem is the key made safe, ``~`` and hex digits
    of the key's hash, as many as make it unique."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for key in sorted(set(keys), key=lambda k: (k != id_fold(k), k)):
        safe = _STEM_UNSAFE.sub("_", key).lstrip(".") or "_"
        stem, length = safe, 6
        while stem != key or id_fold(stem) in taken:
            stem = f"{safe}~{short_hash(key, length)}" + ("" if length <= 64 else f"-{length}")
            if id_fold(stem) not in taken:
                break
            length += 2
        stems[key] = stem
        taken.add(id_fold(stem))
    return stems
