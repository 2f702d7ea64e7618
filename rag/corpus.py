"""Reading paper collections: the seed text format, JSONL, and BEIR ``corpus.jsonl``.

Formats
-------
* Seed text (``*.txt``): one paper = a title line, a blank line, an abstract line. Page
  noise ("Subscribe", "Daily Papers", dates such as "Mar 11", ...) is skipped.
* JSONL (``*.jsonl``): one object per line with ``title`` and ``abstract`` (``id`` and any
  other fields are kept as extra metadata).
* BEIR (``corpus.jsonl``-style): one object per line with ``_id``, ``title``, ``text``.
  Benchmark corpora have untitled documents and titles shared by different texts: an empty
  title becomes the text's first words, and a title shared by different texts gets the
  document's ``_id`` in brackets (:func:`beir_titles`), so every document is its own paper.

LaTeX that scraping left in titles and abstracts ("40\\%", "2.4times" for 2.4×) is undone
when the collection is loaded, unless ``corpus.clean_latex`` is off.

A paper's id is derived from its normalized title, so the same paper listed in several
files is one paper that remembers every file (and line) it came from. The same title with
a different abstract is an error naming both places, and so is an ``id`` (or BEIR ``_id``)
used for two different papers, in one file or across files.

Parsing never touches the index: a bad file fails the whole read before anything is
written.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError
from .text import clean_text, detex, shorten

MAX_TITLE_CHARS = 500
MIN_ABSTRACT_CHARS = 20

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_NOISE = re.compile(
    rf"""^(?:
        new | subscribe | daily\ papers | get\ trending\ papers.* |
        by\s*ak\ and\ the\ research\ community |
        (?:{_MONTHS})[a-z]*\.?\s+\d{{1,2}}(?:,\s*\d{{4}})? |
        \d{{1,2}}\s+(?:{_MONTHS})[a-z]*\.?(?:\s+\d{{4}})? |
        page\ \d+(?:\ of\ \d+)?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class Paper:
    """One paper: what the index stores and what answers cite."""

    id: str
    title: str
    abstract: str
    sources: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def content_hash(self) -> str:
        """Changes when the title or the abstract changes (i.e. when it must be re-embedded)."""
        return _sha(self.title + "\n" + self.abstract)[:16]

    @property
    def meta_hash(self) -> str:
        """Changes when only metadata (sources, extra fields) changes."""
        return _sha(json.dumps([list(self.sources), self.extra], sort_keys=True))[:16]


def normalize_title(title: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a title, used to match papers."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"[^\W_]+", text))  # letters and digits of any script


def paper_id(title: str) -> str:
    """Stable id: a readable slug of the normalized title plus a short hash of it."""
    norm = normalize_title(title)
    slug = "-".join(norm.split()[:6])[:48]
    return f"{slug}-{_sha(norm)[:8]}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class _Record:
    title: str
    abstract: str
    path: Path
    line: int
    extra: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


# -- readers --------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(str(path), None, f"cannot read: {exc.strerror}") from None
    if not data.strip():
        raise CorpusError(str(path), None, "file is empty")
    encoding = _utf16_or_32(data)
    if encoding:
        raise CorpusError(str(path), None, f"the file is {encoding} text, not UTF-8; re-save it as UTF-8")
    if b"\x00" in data[:8192]:
        raise CorpusError(str(path), None, "binary file (contains NUL bytes), not a text collection")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(
            str(path), line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8"
        ) from None
    return text.lstrip("\ufeff")


def _utf16_or_32(data: bytes) -> str | None:
    """Name of the UTF-16/32 encoding the bytes are in (by byte-order mark or NUL pattern), else None."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            return name
    head = data[:4096]
    if len(head) >= 8 and b"\x00" not in head[1::2] and head[0::2].count(0) > len(head) * 0.4:
        return "UTF-16"  # big-endian, no BOM: ASCII text with a NUL before every character
    if len(head) >= 8 and b"\x00" not in head[0::2] and head[1::2].count(0) > len(head) * 0.4:
        return "UTF-16"  # little-endian, no BOM
    return None


def read_seed_file(path: Path, max_abstract_chars: int) -> list[_Record]:
    """Parse the seed text format: title line, blank line, abstract line, repeated."""
    lines = _read_text(path).replace("\r\n", "\n").split("\n")
    content = [(i + 1, clean_text(line)) for i, line in enumerate(lines) if line.strip()]
    content = [(n, s) for n, s in content if not _NOISE.match(s)]
    out: list[_Record] = []
    k = 0
    while k < len(content):
        n, title = content[k]
        if len(title) > MAX_TITLE_CHARS:
            raise CorpusError(str(path), n, f"expected a title line, found {len(title)} characters of text (an abstract without a title?)")
        if k + 1 >= len(content):
            raise CorpusError(str(path), n, f"title '{shorten(title, 60)}' has no abstract after it")
        n2, abstract = content[k + 1]
        if len(abstract) < MIN_ABSTRACT_CHARS or (len(abstract) <= MAX_TITLE_CHARS and not _looks_like_prose(abstract)):
            raise CorpusError(str(path), n, f"title '{shorten(title, 60)}' has no abstract after it (next line {n2} looks like another title)")
        _check_record(path, n, title, abstract, max_abstract_chars)
        out.append(_Record(title, abstract, path, n, {}))
        k += 2
    if not out:
        raise CorpusError(str(path), None, "no papers found (expected title / blank line / abstract)")
    return out


def _looks_like_prose(s: str) -> bool:
    return bool(re.search(r"[.!?]\s+\S", s)) or s.endswith(".")


def read_jsonl_file(path: Path, max_abstract_chars: int) -> list[_Record]:
    """Parse JSONL papers (``title`` + ``abstract``) or BEIR corpus lines (``_id``, ``title``, ``text``)."""
    out: list[_Record] = []
    seen_ids: dict[str, tuple[int, str]] = {}
    # split on "\n" only: JSON strings may hold U+2028 and friends, which splitlines() breaks on
    for n, line in enumerate(_read_text(path).replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(str(path), n, f"bad JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise CorpusError(str(path), n, "bad JSON (nested too deeply)") from None
        if not isinstance(obj, dict):
            raise CorpusError(str(path), n, "expected a JSON object per line")
        beir = "_id" in obj and "text" in obj and "abstract" not in obj
        body_key = "text" if beir else "abstract"
        id_key = "_id" if beir else "id"
        title, abstract = obj.get("title"), obj.get(body_key)
        if title is None:
            raise CorpusError(str(path), n, "missing field 'title'")
        if abstract is None:
            raise CorpusError(str(path), n, f"missing field '{body_key}'")
        if not isinstance(title, str) or not isinstance(abstract, str):
            raise CorpusError(str(path), n, f"fields 'title' and '{body_key}' must be strings")
        title, abstract = clean_text(title), clean_text(abstract)
        if beir and not title:
            title = untitled(abstract)
        _check_record(path, n, title, abstract, max_abstract_chars, field_name=body_key)
        extra = {k: v if isinstance(v, str) else json.dumps(v) for k, v in obj.items() if k not in ("title", body_key)}
        ext_id = extra.get(id_key)
        if ext_id is not None:
            if ext_id in seen_ids and seen_ids[ext_id][1] != title + "\n" + abstract:
                raise CorpusError(str(path), n, f"duplicate {id_key} '{ext_id}' with different text (first at line {seen_ids[ext_id][0]})")
            seen_ids.setdefault(ext_id, (n, title + "\n" + abstract))
        out.append(_Record(title, abstract, path, n, extra))
    if not out:
        raise CorpusError(str(path), None, "no papers found")
    return beir_titles(out)


def untitled(text: str, words: int = 12) -> str:
    """The title of an untitled document: its first ``words`` words, "…" when cut. Pure."""
    head = text.split()
    return " ".join(head[:words]) + ("…" if len(head) > words else "")


def beir_titles(records: list[_Record]) -> list[_Record]:
    """Records whose title another record with a different text also has, and a BEIR ``_id``,
    get the id in brackets ("COVID-19 [d17]"), so that each document stays its own paper
    instead of an error. Others are returned as they are. Pure."""
    texts: dict[str, set[str]] = {}
    for rec in records:
        texts.setdefault(normalize_title(rec.title), set()).add(rec.abstract)
    out = []
    for rec in records:
        doc = rec.extra.get("_id")
        if doc is not None and len(texts[normalize_title(rec.title)]) > 1:
            rec = _Record(f"{rec.title} [{doc}]", rec.abstract, rec.path, rec.line, rec.extra)
        out.append(rec)
    return out


def _check_record(path: Path, n: int, title: str, abstract: str, max_abstract_chars: int, field_name: str = "abstract") -> None:
    if not title:
        raise CorpusError(str(path), n, "empty title")
    if not normalize_title(title):
        raise CorpusError(str(path), n, f"title '{shorten(title, 60)}' has no letters or digits")
    if len(title) > MAX_TITLE_CHARS:
        raise CorpusError(str(path), n, f"title is {len(title)} characters (more than {MAX_TITLE_CHARS})")
    if not abstract:
        raise CorpusError(str(path), n, f"empty {field_name}")
    if len(abstract) > max_abstract_chars:
        raise CorpusError(
            str(path), n, f"{field_name} is {len(abstract)} characters (limit corpus.max_abstract_chars = {max_abstract_chars})"
        )


# -- collections ----------------------------------------------------------------------


def iter_collection_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand folders into their ``*.txt`` and ``*.jsonl`` files (sorted, recursive)."""
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".txt", ".jsonl"))
            if not files:
                raise CorpusError(str(path), None, "folder holds no .txt or .jsonl files")
            yield from files
        elif path.is_file():
            yield path
        else:
            raise CorpusError(str(path), None, "no such file or folder")


def load_collection(paths: Iterable[Path], max_abstract_chars: int = 100_000, clean_latex: bool = True) -> list[Paper]:
    """Read every file, merge duplicates by normalized title, return papers in first-seen order.
    With ``clean_latex``, LaTeX left in titles and abstracts is undone (:func:`rag.text.detex`)."""
    merged: dict[str, Paper] = {}
    first_where: dict[str, str] = {}
    ids: dict[tuple[str, str], tuple[str, str]] = {}  # (id field, external id) -> (first place, text)
    for path in iter_collection_files(paths):
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            records = read_jsonl_file(path, max_abstract_chars)
        elif suffix == ".txt":
            records = read_seed_file(path, max_abstract_chars)
        else:
            raise CorpusError(str(path), None, f"unknown collection format '{suffix}' (use .txt seed files or .jsonl)")
        for rec in records:
            if clean_latex:
                rec = _Record(detex(rec.title), detex(rec.abstract), rec.path, rec.line, rec.extra)
            for key in ("id", "_id"):
                ext = rec.extra.get(key)
                if ext is None:
                    continue
                first, text = ids.setdefault((key, ext), (rec.where, rec.title + "\n" + rec.abstract))
                if text != rec.title + "\n" + rec.abstract:
                    raise CorpusError(str(rec.path), rec.line, f"duplicate {key} '{shorten(ext, 60)}' with different text (first at {first})")
            pid = paper_id(rec.title)
            old = merged.get(pid)
            if old is None:
                merged[pid] = Paper(pid, rec.title, rec.abstract, (rec.where,), rec.extra)
                first_where[pid] = rec.where
            elif old.abstract != rec.abstract:
                raise CorpusError(
                    str(rec.path),
                    rec.line,
                    f"paper '{shorten(rec.title, 60)}' also appears at {first_where[pid]} with a different abstract",
                )
            else:
                merged[pid] = Paper(pid, old.title, old.abstract, old.sources + (rec.where,), {**rec.extra, **old.extra})
    return list(merged.values())
