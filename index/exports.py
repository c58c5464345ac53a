"""Exports from other tools: JSON Lines, CSV / TSV, or a JSON array, one article per row.

Columns are recognised by the names such exports use (title / headline, date / published_at,
source / outlet, url / link, body / text / content, author / byline, id / guid); `--map` names
others ("title=Headline Text,body=story"). A bad row (not JSON, no text, a ragged CSV line) is
skipped with its line number and reason; every other row is indexed.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from index.html import fragment_text
from index.parse import make_article, parse_when
from index.sources import Found, Limits, Skipped, entry_key, unique_ids
from rag.errors import BadFileError

# Our field -> the column names exports commonly use for it, most specific first.
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "heading", "name", "subject"),
    "date": (
        "date",
        "published",
        "published_at",
        "publishedat",
        "publish_date",
        "publication_date",
        "date_published",
        "pubdate",
        "pub_date",
        "datetime",
        "timestamp",
        "created_at",
        "time",
    ),
    "source": ("source", "outlet", "publisher", "site_name", "sitename", "site", "publication", "newspaper", "domain"),
    "url": ("url", "link", "href", "permalink", "canonical_url"),
    "body": (
        "body",
        "text",
        "content",
        "article",
        "maintext",
        "main_text",
        "full_text",
        "article_text",
        "story",
        "description",
        "summary",
    ),
    "author": ("author", "authors", "byline", "creator", "writer"),
    "id": ("id", "guid", "uuid", "article_id", "doc_id", "key"),
}
FIELDS = tuple(COLUMNS)


def parse_map(text: str) -> dict[str, str]:
    """`title=Headline Text,body=story` -> {"title": "Headline Text", "body": "story"} (ValueError
    for an unknown field or a malformed pair)."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        ours, sep, theirs = pair.partition("=")
        ours, theirs = ours.strip().lower(), theirs.strip()
        if not sep or not theirs:
            raise ValueError(f"--map wants FIELD=COLUMN pairs, got {pair!r}")
        if ours not in COLUMNS:
            raise ValueError(f"--map: unknown field {ours!r}; fields are {', '.join(FIELDS)}")
        out[ours] = theirs
    return out


def read_export(path: Path, doc_id: str, limits: Limits, fields: Mapping[str, str], suffix: str = "") -> Found:
    """Every row of an export file as an article (size limits are checked by read_source)."""
    found = Found()
    articles = []
    for where, row in _rows(path, suffix or path.suffix.lower(), found):
        try:
            articles.append(_article(row, doc_id, str(path), fields, limits))
        except _BadRow as exc:
            found.skipped.append(Skipped(f"{path} {where}", str(exc)))
    if not articles and not found.skipped:
        raise BadFileError(f"{path.name}: no rows")
    found.articles = unique_ids(articles)
    return found


class _BadRow(Exception):
    pass


def _rows(path: Path, suffix: str, found: Found) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if suffix in (".jsonl", ".ndjson"):
        with open(path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                if n == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                try:
                    try:
                        row = json.loads(raw)
                    except UnicodeDecodeError:  # a line saved as Windows-1252: its accents survive, as in CSV
                        row = json.loads(raw.decode("utf-8", errors="rag-utf8-else-cp1252"))
                except (ValueError, UnicodeDecodeError) as exc:
                    found.skipped.append(Skipped(f"{path} line {n}", f"not valid JSON ({type(exc).__name__})"))
                    continue
                if not isinstance(row, dict):
                    found.skipped.append(Skipped(f"{path} line {n}", "not a JSON object"))
                    continue
                yield f"line {n}", row
    elif suffix == ".json":
        yield from _json_array_rows(path, found)
    else:
        yield from _csv_rows(path, suffix, found)


def _json_array_rows(path: Path, found: Found) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The objects of a JSON array (or of the first array inside a top-level object, as in
    {"articles": [...]}), read one at a time with ijson: a large export is never held whole in
    memory, and a file cut or broken part way keeps the rows before the break. What the streaming
    parser does not take (UTF-16 or UTF-32 text, NaN as Python's json writes it) is parsed whole
    by the standard library, up to WHOLE_JSON_BYTES."""
    import ijson  # type: ignore[import-untyped]

    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (len(head) == 4 and 0 in head):
            yield from _rows_of(_array_in(_load_json(path), path), path, found, 0)
            return
        skip = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
        fh.seek(skip)
        prefix = None
        try:
            events = ijson.parse(fh)
            _, event, _ = next(events)
            if event == "start_array":
                prefix = "item"
            elif event == "start_map":
                key = None
                for at, event, value in events:
                    if at == "" and event == "map_key":
                        key = value
                    elif at == key and event == "start_array":
                        prefix = f"{key}.item"
                        break
                    elif at == "" and event == "end_map":
                        break
        except (ijson.JSONError, UnicodeDecodeError, StopIteration):
            yield from _rows_of(_array_in(_load_json(path), path), path, found, 0)
            return
        if prefix is None:
            raise BadFileError(f"{path.name}: expected a JSON array of article objects")
        fh.seek(skip)
        n = 0
        try:
            for n, row in enumerate(ijson.items(fh, prefix, use_float=True), 1):
                yield from _rows_of([row], path, found, n - 1)
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            try:  # NaN and the like: the standard parser takes them; a cut file it does not
                rest = _array_in(_load_json(path), path)[n:]
            except BadFileError:
                reason = f"not valid JSON from here on ({type(exc).__name__})"
                found.skipped.append(Skipped(f"{path} after item {n}", reason))
                return
            yield from _rows_of(rest, path, found, n)


WHOLE_JSON_BYTES = 200_000_000  # JSON the streaming parser refuses is read whole only up to this size


def _load_json(path: Path) -> Any:
    if path.stat().st_size > WHOLE_JSON_BYTES:
        raise BadFileError(f"{path.name}: not JSON the streaming parser reads, and too large to read whole")
    try:
        return json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadFileError(f"{path.name}: not valid JSON ({type(exc).__name__})") from None


def _array_in(data: Any, path: Path) -> list[Any]:
    if isinstance(data, dict):  # {"articles": [...]} and the like
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise BadFileError(f"{path.name}: expected a JSON array of article objects")
    return data


def _rows_of(items: list[Any], path: Path, found: Found, before: int) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The objects among array items numbered from `before + 1`; anything else is skipped."""
    for n, row in enumerate(items, before + 1):
        if isinstance(row, dict):
            yield f"item {n}", row
        else:
            found.skipped.append(Skipped(f"{path} item {n}", "not a JSON object"))


def _utf8_else_cp1252(error: UnicodeError) -> tuple[str, int]:
    """A decoding error handler: bytes that are not UTF-8 are read as Windows-1252 (what
    spreadsheet programs on Windows save), so a file that mixes the two keeps every accent."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error("rag-utf8-else-cp1252", _utf8_else_cp1252)


def _csv_rows(path: Path, suffix: str, found: Found) -> Iterator[tuple[str, Mapping[str, Any]]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # UTF-8, and any byte that is not, as Windows-1252 (one stray byte never garbles the rest).
    with open(path, encoding="utf-8-sig", errors="rag-utf8-else-cp1252", newline="") as fh:
        head = fh.read(65536)
        fh.seek(0)
        if "\x00" in head:
            raise BadFileError(f"{path.name}: binary file (contains NUL bytes)")
        try:
            sniffed = csv.Sniffer().sniff(head, delimiters="\t" if suffix == ".tsv" else ",;\t|").delimiter
        except csv.Error:
            sniffed = "\t" if suffix == ".tsv" else ","

        class dialect(csv.excel):  # only the delimiter is guessed; quoting is the standard one
            delimiter = sniffed

        reader = csv.reader(fh, dialect)
        header = next(reader, None)
        if not header:
            raise BadFileError(f"{path.name}: no header row")
        header = [h.strip() for h in header]
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                found.skipped.append(Skipped(f"{path} line {reader.line_num}", f"unreadable CSV ({exc})"))
                continue
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                found.skipped.append(
                    Skipped(f"{path} line {reader.line_num}", f"{len(values)} fields, the header has {len(header)}")
                )
                continue
            yield f"line {reader.line_num}", dict(zip(header, values))


def _pick(row: Mapping[str, Any], field: str, fields: Mapping[str, str]) -> Any:
    """A row's value for one of our fields: the mapped column, else the first usual name present."""
    if field in fields:
        return row.get(fields[field])
    folded = {str(k).strip().lower().replace(" ", "_").replace("-", "_"): v for k, v in row.items()}
    for name in COLUMNS[field]:
        value = folded.get(name)
        if value not in (None, "", [], {}):
            return value
    return None


def _article(row: Mapping[str, Any], doc_id: str, path: str, fields: Mapping[str, str], limits: Limits) -> Any:
    body = _as_text(_pick(row, "body", fields))
    if not body.strip():
        raise _BadRow("no article text" + (f" in column {fields['body']!r}" if "body" in fields else ""))
    if len(body.encode()) > limits.article_bytes:
        raise _BadRow(f"text over the {limits.article_bytes:,}-byte limit")
    title = _as_text(_pick(row, "title", fields))
    url = _as_text(_pick(row, "url", fields)) or None
    raw_date = _pick(row, "date", fields)
    key = entry_key(_pick(row, "id", fields), url, title, raw_date, body)
    try:
        return make_article(
            f"{doc_id}/{key}",
            title,
            parse_when(raw_date),
            _as_text(_pick(row, "source", fields)) or None,
            fragment_text(body),
            path,
            author=_as_text(_pick(row, "author", fields)) or None,
            url=url,
        )
    except BadFileError:
        raise _BadRow("no article text") from None


def _as_text(value: Any) -> str:
    """A cell as text: lists joined ("a, b"), {"name": ...} objects by their name."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or ""
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value if v)
    # JSON may hold lone surrogates (a cut emoji): replaced, so the row is text like any other.
    return str(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
