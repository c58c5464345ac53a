"""One article's text (.txt, .md, .html) into an Article: headline, ISO date, outlet, author, clean body.

Plain text and Markdown are read by their layout (headline line, date line, optional `Source:` /
`By` lines, an outlet's "CNN —" dateline); saved web pages go through trafilatura (index/html.py).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, date
from pathlib import Path

from rag.errors import BadFileError
from rag.types import Article

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        "january february march april may june july august september october november december".split()
    )
}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH_RE = r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_TIME_RE = r"(?:[\s,]*(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s?[ap]\.?m\.?(?![A-Za-z])|(?:\s?(?:GMT|UTC|ET|EST|EDT)\b))?)?"
# A date at the very start of a line, optionally followed by a time glued to the next words.
_DATE_PATTERNS = [
    re.compile(r"^\s*" + _MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})" + _TIME_RE, re.I),
    re.compile(r"^\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RE + r",?\s+(?P<year>\d{4})" + _TIME_RE, re.I),
    re.compile(
        r"^\s*(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})(?:[T\s]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?",
        re.I,
    ),
]
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}(?:\s?[ap]\.?m\.?)?", re.I)
# A line that is only an outlet's name and a dash ("CNN —", "AP –"), as news bodies open.
_DATELINE = re.compile(r"^\s*(?P<source>[A-Z][\w&.'’]*(?: [A-Z][\w&.'’]*){0,4})\s*[—–]\s*$")
# A wire dateline opening the first paragraph: "WASHINGTON (AP) — The Senate ...", "Paris (CNN) – ...".
_WIRE_DATELINE = re.compile(
    r"^\s*[A-Z][\w.'’-]*(?:[ ,]+[A-Z][\w.'’-]*){0,4}\s*\((?P<source>[A-Z][\w&.'’]*(?: [A-Z][\w&.'’]*){0,3})\)"
    r"\s+[—–-]{1,2}\s+(?=[\"“‘'A-Z0-9])"
)
_HTML_TAG = re.compile(r"<(?:!doctype|html|head|body|p|div|article|h1|title|meta)\b", re.I)
_SOURCE_RE = re.compile(r"^\s*(?:source|outlet|publisher)\s*:\s*(?P<source>.+?)\s*$", re.I)
# A byline: "By Jane Doe", "By Jane Doe and Li Wei, CNN", "Author: Jane Doe".
_AUTHOR_RE = re.compile(
    r"^\s*(?:by|author)\s*:?\s+(?P<author>[A-Z][\w.'’-]*(?:[ ,]+(?:and )?[A-Z][\w.'’-]*){1,7})\s*$", re.I
)


def read_text(path: Path, max_bytes: int) -> str:
    """Read a file as text, rejecting empty, oversized, binary and undecodable files."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadFileError(f"{path.name}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise BadFileError(f"{path.name}: empty file")
    if size > max_bytes:
        raise BadFileError(f"{path.name}: {size:,} bytes is over the {max_bytes:,}-byte limit")
    data = path.read_bytes()
    return decode_text(data, path.name)


def decode_text(data: bytes, name: str) -> str:
    """Decode bytes as UTF-8 (with BOM), falling back to Windows-1252; reject binary data."""
    if not data.strip():
        raise BadFileError(f"{name}: empty file")
    if b"\x00" in data[:8192]:
        raise BadFileError(f"{name}: binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BadFileError(f"{name}: not UTF-8 or Windows-1252 text")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise BadFileError(f"{name}: looks binary ({controls} control characters)")
    if not text.strip():
        raise BadFileError(f"{name}: no text")
    return text


def parse_file(path: Path, max_bytes: int = 5_000_000, doc_id: str | None = None) -> Article:
    """Read and parse one article file."""
    text = read_text(path, max_bytes)
    return parse_text(text, doc_id or id_for(Path(path.name)), suffix=path.suffix.lower(), path=str(path))


def id_for(relative: Path) -> str:
    """Stable article id from a file's path inside its folder: each part reduced to safe characters,
    without the suffix ("bbc/2024/Port strike.html" -> "bbc/2024/Port_strike")."""
    parts = [*relative.parent.parts, relative.stem] if relative.parent != Path(".") else [relative.stem]
    safe = [re.sub(r"[^A-Za-z0-9_.-]+", "_", p).strip("._") or "article" for p in parts]
    return "/".join(safe)[:200]


def file_ids(relatives: list[Path], known: Mapping[str, str] | None = None) -> dict[Path, str]:
    """The id of each file: `id_for` its path, or with its type added when another file of the
    folder has the same name but another type ("a.html" and "a.txt" -> "a-html", "a-txt").

    `known` is what earlier builds gave (path inside the folder -> id, files since removed
    included): a file keeps its id for as long as it is there and gets it back when it returns,
    and an id once given to one file is never given to another. So a twin that comes or goes
    renames nothing ("a.txt" stays "a" when "a.html" arrives, which is "a-html"; "a-html" stays
    "a-html" when "a.txt" goes). Without `known` (a first build), ids depend only on the files of
    each name, never on sort order."""
    known = known or {}
    out: dict[Path, str] = {}
    fresh: list[Path] = []
    for relative in relatives:
        kept = known.get(relative.as_posix())
        if kept is not None:
            out[relative] = kept
        else:
            fresh.append(relative)
    taken = set(known.values()) | set(out.values())
    groups: dict[str, list[Path]] = {}
    for relative in fresh:
        groups.setdefault(id_for(relative), []).append(relative)
    for base, paths in groups.items():
        for relative in sorted(paths):
            suffix = re.sub(r"[^A-Za-z0-9]+", "", relative.suffix)  # case kept: a.txt and a.TXT differ
            wanted = base if len(paths) == 1 and base not in taken else f"{base}-{suffix or 'file'}"[:200]
            candidate, n = wanted, 1
            while candidate in taken:
                n += 1
                candidate = f"{wanted}-{n}"
            out[relative] = candidate
            taken.add(candidate)
    return {relative: out[relative] for relative in relatives}


def parse_text(text: str, doc_id: str, suffix: str = ".txt", path: str = "") -> Article:
    """Parse article text into an Article; never fails on odd layouts, only guesses less."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # A page saved as .html is read as one; a .html file holding plain text is read as text.
    if (suffix in HTML_SUFFIXES and _HTML_TAG.search(text)) or _looks_like_html(text):
        from index.html import parse_html

        page = parse_html(text, doc_id)
        return make_article(
            doc_id, page.title, page.date, page.source, page.body, path, author=page.author, url=page.url
        )
    title, published, source, author, body = _parse_plain(text, markdown=suffix in (".md", ".markdown"))
    return make_article(doc_id, title, published, source, body, path, author=author)


def make_article(
    doc_id: str,
    title: str,
    published: str | None,
    source: str | None,
    body: str,
    path: str = "",
    author: str | None = None,
    url: str | None = None,
) -> Article:
    """An Article from parsed fields: the body cleaned, a missing headline taken from the first
    sentence, the date split from a time of day ("2024-03-05 08:30"), a content hash of it all."""
    body = _clean_body(body)
    if not body:
        raise BadFileError(f"{doc_id}: no article text found")
    published, _, clock = (published or "").partition(" ")
    title = " ".join((title or "").split())
    headline = bool(title)
    if not title:
        title = _title_from_body(body)
    source = " ".join(source.split()) if source else None
    fields = [title, published, source or "", body, author or "", url or ""]
    content_hash = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:16]
    return Article(
        doc_id,
        title,
        published or None,
        source or None,
        body,
        content_hash,
        path,
        time=clock or None,
        headline=headline,
        author=author or None,
        url=url or None,
    )


def parse_when(value: object) -> str | None:
    """A date (and time) in any of the forms exports and feeds use, as "YYYY-MM-DD" or
    "YYYY-MM-DD HH:MM": ISO 8601, RFC 2822 ("Tue, 05 Mar 2024 08:30:00 GMT"), Unix seconds or
    milliseconds, or a written date ("March 5, 2024"). None when it is none of them."""
    from datetime import datetime
    from email.utils import parsedate_to_datetime

    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d{9,13}(\.\d+)?", value.strip())):
        seconds = float(value)
        seconds = seconds / 1000 if seconds > 1e11 else seconds
        try:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return moment.strftime("%Y-%m-%d %H:%M")
    text = str(value).strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.strftime("%Y-%m-%d %H:%M") if "T" in text or ":" in text else moment.strftime("%Y-%m-%d")
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, IndexError):
        pass
    dated = parse_date_prefix(text)
    if dated is None:
        return None
    clock = _CLOCK.search(text[: len(text) - len(dated[1])])
    return f"{dated[0]} {clock.group().strip()}" if clock else dated[0]


def parse_date_prefix(line: str) -> tuple[str, str] | None:
    """If a line starts with a date (and maybe a time), return (ISO date, rest of the line)."""
    for pattern in _DATE_PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("mnum"):
            month = int(groups["mnum"])
        else:
            name = groups["month"].lower().rstrip(".")
            month = _MONTHS.get(name) or _MONTHS[name[:3]]
        try:
            iso = date(int(groups["year"]), month, int(groups["day"])).isoformat()
        except ValueError:
            return None
        return iso, line[m.end() :].lstrip(" ,-–—|")
    return None


def _parse_plain(text: str, markdown: bool) -> tuple[str, str | None, str | None, str | None, str]:
    lines = text.split("\n")
    title = ""
    published: str | None = None
    published_time: str | None = None
    source: str | None = None
    author: str | None = None
    consumed = 0
    # Look at the first few non-empty lines for a title, a date and a source label.
    idx = 0
    header_lines = 0
    while idx < len(lines) and header_lines < 4:
        line = lines[idx].strip()
        if not line:
            idx += 1
            continue
        header_lines += 1
        if markdown and line.startswith("#") and not title:
            title = line.lstrip("#").strip()
            consumed = idx + 1
            idx += 1
            continue
        byline = _AUTHOR_RE.match(line) if title else None
        if byline and not author:
            author = byline.group("author").strip(" ,")
            consumed = idx + 1
            idx += 1
            continue
        src = _SOURCE_RE.match(line)
        if src and not source:
            source = src.group("source")
            consumed = idx + 1
            idx += 1
            continue
        meta = re.match(r"^\s*(?:date|published)\s*:\s*(.+)$", line, re.I)
        dated = parse_date_prefix(meta.group(1) if meta else line)
        if dated and not published:
            published, rest = dated
            clock = _CLOCK.search(line[: len(line) - len(rest)])
            published_time = clock.group().strip() if clock else None
            if rest.strip():
                # The date was glued to the first sentence of the body: keep that sentence.
                lines[idx] = rest
                consumed = idx
                break
            consumed = idx + 1
            idx += 1
            continue
        if not title and _looks_like_headline(line, lines[idx + 1 :]):
            title = line.rstrip()
            consumed = idx + 1
            idx += 1
            continue
        break
    remaining = lines[consumed:]
    first = next((i for i, ln in enumerate(remaining) if ln.strip()), None)
    if first is not None and not source:
        dateline = _DATELINE.match(remaining[first])
        wire = _WIRE_DATELINE.match(remaining[first])
        if dateline:  # "CNN —", "London CNN —": the outlet's dateline opens the body
            from index.nlp import without_leading_place

            source = without_leading_place(dateline.group("source"))
            remaining = remaining[first + 1 :]
        elif wire and len(remaining[first]) > wire.end():  # "PARIS (AP) — The ...": keep the sentence
            source = wire.group("source")
            remaining = [remaining[first][wire.end() :], *remaining[first + 1 :]]
    body = "\n".join(remaining)
    if markdown:
        body = _strip_markdown(body)
    return title, _with_time(published, published_time), source, author, body


def _with_time(published: str | None, clock: str | None) -> str | None:
    """The date, with the time of day carried after a space when the dateline gives one."""
    return f"{published} {clock}" if published and clock else published


def _looks_like_headline(line: str, following: list[str]) -> bool:
    """A headline is a short-ish first line followed by more text, not a paragraph opener."""
    rest = [ln for ln in following if ln.strip()]
    if not rest or len(line) > 200:
        return False
    # A line that ends like a sentence and is long is more likely the first paragraph.
    if line.endswith((".", "”", '"')) and len(line) > 120:
        return False
    nxt = rest[0].strip()
    return parse_date_prefix(nxt) is not None or len(line) < 160


def _strip_markdown(body: str) -> str:
    body = re.sub(r"^#{1,6}\s*", "", body, flags=re.M)
    body = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", body)
    body = re.sub(r"(\*\*|__)(.+?)\1", r"\2", body)
    body = re.sub(r"^\s*[-*+]\s+", "", body, flags=re.M)
    return body


def _clean_body(body: str) -> str:
    lines = [re.sub(r"[ \t\f\v]+", " ", ln).strip() for ln in body.split("\n")]
    cleaned = "\n".join(ln for ln in lines if ln)
    return "".join(ch for ch in cleaned if ch == "\n" or ord(ch) >= 32).strip()


def _title_from_body(body: str) -> str:
    first = body.split("\n", 1)[0]
    m = re.match(r"(.+?[.!?])(?:\s|$)", first)
    sentence = m.group(1) if m else first
    return sentence if len(sentence) <= 100 else sentence[:97].rsplit(" ", 1)[0] + "…"


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html")
