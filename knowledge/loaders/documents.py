"""Prose documents: plain text, Markdown, HTML, PDF and Word files, split into sections."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from core.errors import LoaderError
from knowledge.loaders.base import LoadedSource, Section, check_size, read_text

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_MATTER_TITLE = re.compile(r"^title:\s*[\"']?(.+?)[\"']?\s*$", re.MULTILINE)
_SENTENCE_END = re.compile(r"[。！？；…!?.:：;]$")
_CJK_EDGE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff，、]")


class SectionBuilder:
    """Collects text lines under a stack of headings and emits one section per heading."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []
        self._lines: list[str] = []
        self.sections: list[Section] = []
        self.first_heading: str | None = None

    def heading(self, level: int, text: str) -> None:
        self.flush()
        text = " ".join(text.split())
        if not text:
            return
        if self.first_heading is None:
            self.first_heading = text
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))

    def line(self, text: str) -> None:
        self._lines.append(text)

    def flush(self) -> None:
        body = "\n".join(self._lines).strip()
        self._lines = []
        if body:
            path = " > ".join(text for _, text in self._stack) or None
            self.sections.append(Section(text=body, heading=path))


def _strip_front_matter(text: str) -> tuple[str, str | None]:
    if not text.startswith("---\n"):
        return text, None
    end = text.find("\n---", 4)
    if end == -1:
        return text, None
    header = text[4:end]
    match = _FRONT_MATTER_TITLE.search(header)
    return text[end + 4 :].lstrip("-\n"), match.group(1) if match else None


def markdown_sections(text: str) -> SectionBuilder:
    """Splits Markdown into sections by ATX headings, ignoring ``#`` lines in code fences."""
    builder = SectionBuilder()
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            builder.heading(len(match.group(1)), match.group(2))
        else:
            builder.line(line)
    builder.flush()
    return builder


def load_markdown(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads a Markdown file; the first heading (or front-matter ``title``) is the title."""
    text, front_title = _strip_front_matter(read_text(path, max_bytes))
    builder = markdown_sections(unwrap_markdown(text))
    if not builder.sections:
        raise LoaderError("Markdown file has headings but no text")
    title = front_title or builder.first_heading or path.stem
    return LoadedSource(source=source, title=title, sections=tuple(builder.sections))


def load_plain_text(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads a plain text file as one section titled by the file name."""
    text = read_text(path, max_bytes).strip()
    return LoadedSource(source=source, title=path.stem, sections=(Section(text=text),))


_HTML_DROP = ("script", "style", "noscript", "template", "svg", "nav", "footer")
_HTML_BLOCKS = ("p", "div", "li", "tr", "br", "pre", "blockquote", "dt", "dd", "section")


def load_html(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads an HTML page: ``<h1>``-``<h6>`` start sections, scripts and navigation are dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(read_text(path, max_bytes), "html.parser")
    for tag in soup(_HTML_DROP):
        tag.decompose()
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.replace_with(f"\n\n{'#' * level} {tag.get_text(' ', strip=True)}\n\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    builder = markdown_sections("\n".join(lines))
    if not builder.sections:
        raise LoaderError("HTML page has no visible text")
    title = page_title or builder.first_heading or path.stem
    return LoadedSource(source=source, title=title, sections=tuple(builder.sections))


_BLOCK_START = re.compile(r"^([-*+•]\s|\d+[.)、]\s?|[|>#]|```|~~~)")


def _join(previous: str, line: str) -> str:
    cjk = _CJK_EDGE.search(previous[-1]) and _CJK_EDGE.search(line[0])
    return previous + ("" if cjk else " ") + line


def unwrap_markdown(text: str) -> str:
    """Joins hard-wrapped paragraph lines (a soft break in Markdown) so sentences stay whole.

    List items, table rows, headings, quotes and fenced code keep their own lines; a list
    item's indented continuation lines join the item.
    """
    out: list[str] = []
    in_fence = False
    for raw in text.splitlines():
        if _FENCE.match(raw):
            in_fence = not in_fence
            out.append(raw.strip())
            continue
        line = raw.strip()
        if in_fence or not line:
            out.append(raw if in_fence else "")
            continue
        previous = out[-1] if out else ""
        if (
            previous
            and not _HEADING.match(previous)
            and not previous.startswith(("|", "```", "~~~"))
            and not _BLOCK_START.match(line)
        ):
            out[-1] = _join(previous, line)
        else:
            out.append(line)
    return "\n".join(out)


def reflow(text: str) -> str:
    """Joins lines a PDF wrapped at the margin; keeps short lines (titles) and list items.

    A line is taken as wrapped when it is nearly as long as the page's longest line and does
    not end a sentence. Chinese lines join without a space, other lines with one.
    """
    lines = [line.strip() for line in text.splitlines()]
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    wrapped = False
    for line in lines:
        if not line:
            if out and out[-1] != "":
                out.append("")
            wrapped = False
            continue
        if wrapped and out and out[-1] and not _BLOCK_START.match(line):
            out[-1] = _join(out[-1], line)
        else:
            out.append(line)
        wrapped = len(line) >= 0.7 * width and not _SENTENCE_END.search(line)
    return "\n".join(out).strip()


def load_pdf(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads a PDF's text layer, one section per page (``p. 3``).

    Raises:
        LoaderError: The PDF is damaged, encrypted with a password, or has no text layer.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    check_size(path, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(path)
            if reader.is_encrypted and not reader.decrypt(""):
                raise LoaderError("PDF is password-protected")
            pages = [reflow(page.extract_text() or "") for page in reader.pages]
            meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except LoaderError:
        raise
    except (PyPdfError, ValueError, OSError, KeyError, TypeError) as error:
        raise LoaderError(f"cannot read PDF: {error}") from error
    sections = tuple(
        Section(text=text, heading=f"p. {number}")
        for number, text in enumerate(pages, start=1)
        if text
    )
    if not sections:
        raise LoaderError("PDF has no text layer (scanned images need OCR first)")
    return LoadedSource(source=source, title=meta_title.strip() or path.stem, sections=sections)


def _docx_heading_level(style_name: str) -> int | None:
    if style_name == "Title":
        return 1
    match = re.match(r"Heading (\d)", style_name)
    return int(match.group(1)) if match else None


def load_docx(path: Path, source: str, max_bytes: int) -> LoadedSource:
    """Loads a Word document: ``Heading N`` paragraphs start sections; tables become lines.

    Raises:
        LoaderError: The file is not a valid .docx or has no text.
    """
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_size(path, max_bytes)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, ValueError, KeyError, OSError) as error:
        raise LoaderError(f"not a valid .docx file: {error}") from error
    except Exception as error:  # zipfile.BadZipFile and lxml errors on damaged files
        raise LoaderError(f"cannot read .docx file: {error}") from error
    from docx.table import Table

    builder = SectionBuilder()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                builder.line(" | ".join(cell for cell in cells if cell))
            continue
        style = block.style.name if block.style is not None else ""
        level = _docx_heading_level(style or "")
        if level is not None:
            builder.heading(level, block.text)
        else:
            builder.line(block.text)
    builder.flush()
    if not builder.sections:
        raise LoaderError("Word document has no text")
    core_title = (document.core_properties.title or "").strip()
    title = core_title or builder.first_heading or path.stem
    return LoadedSource(source=source, title=title, sections=tuple(builder.sections))
