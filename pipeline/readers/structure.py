"""Running text (txt, md, docx, pdf) -> documents.

The text is first cut into blocks (headings, bullets, paragraphs, table-of-contents lines),
then the blocks become documents:

* a bullet list of participant quotes -> one `quote` document per bullet (quote marks and
  emphasis stripped), with the team named by the nearest team heading and the section heading;
* a heading that starts an interview ("Intervju med ...") -> one `interview` document running to
  the next interview heading or a heading of higher rank, with metadata parsed from the heading;
* everything else -> one `section` document per heading (heading text kept as title).

Every document's text is an exact slice of the source text: text == source[src_start:src_end].
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..documents import Document
from . import interviews

MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
BULLET = re.compile(r"^\s*([-*•–·▪])\s+")
TOC_LINE = re.compile(r"(\.{4,}|…{2,})\s*\d*\s*$|\t\s*\d+\s*$")
QUOTE_CHARS = "\"”“„«»'’"
EMPHASIS = "*_"


@dataclass
class Block:
    kind: str          # heading | bullet | para | toc
    start: int         # offset of the block's first character
    end: int           # offset just past its last non-blank character
    text: str          # heading title or bullet content, cleaned; paragraph text
    level: int = 0     # heading level (1 = top)
    inner_start: int = 0   # bullets: content without marker, emphasis and quote marks
    inner_end: int = 0
    quoted: bool = False


def line_locator(text: str) -> Callable[[int], str]:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def locate(offset: int) -> str:
        import bisect
        return f"rad {bisect.bisect_right(starts, offset)}"

    return locate


def clean_heading(title: str) -> str:
    title = title.strip().strip(EMPHASIS).strip()
    title = re.sub(r"[*_]{1,3}", "", title)
    title = TOC_LINE.sub("", title)
    return title.strip().rstrip(":").strip()


def _strip_span(text: str, start: int, end: int) -> tuple[int, int, bool]:
    """Shrink [start, end) past whitespace, emphasis marks and quote marks; report whether the
    content was in quote marks."""
    quoted = False
    changed = True
    while changed and start < end:
        changed = False
        while start < end and (text[start].isspace() or text[start] in EMPHASIS):
            start += 1
            changed = True
        while end > start and (text[end - 1].isspace() or text[end - 1] in EMPHASIS):
            end -= 1
            changed = True
        if start < end and text[start] in QUOTE_CHARS:
            quoted = True
            start += 1
            changed = True
            if end > start and text[end - 1] in QUOTE_CHARS:
                end -= 1
        elif start < end and text[end - 1] in QUOTE_CHARS \
                and not any(c in QUOTE_CHARS for c in text[start:end - 1]):
            quoted = True            # closing quote without an opening one
            end -= 1
            changed = True
    return start, end, quoted


def blocks(text: str, markdown: bool, cfg: dict) -> list[Block]:
    lines = []
    pos = 0
    for raw in text.split("\n"):
        lines.append((pos, raw))
        pos += len(raw) + 1
    out: list[Block] = []
    i = 0
    n = len(lines)
    while i < n:
        start, line = lines[i]
        if not line.strip():
            i += 1
            continue
        m = MD_HEADING.match(line) if markdown else None
        if m:
            out.append(Block("heading", start, start + len(line.rstrip()), clean_heading(m.group(2)),
                             level=len(m.group(1))))
            i += 1
            continue
        b = BULLET.match(line)
        if b:
            j = i + 1
            # continuation lines: non-blank, not a new bullet or heading
            while j < n and lines[j][1].strip() and not BULLET.match(lines[j][1]) \
                    and not (markdown and MD_HEADING.match(lines[j][1])):
                j += 1
            end = lines[j - 1][0] + len(lines[j - 1][1].rstrip())
            s, e, quoted = _strip_span(text, start + b.end(), end)
            out.append(Block("bullet", start, end, text[s:e], inner_start=s, inner_end=e, quoted=quoted))
            i = j
            continue
        j = i + 1
        while j < n and lines[j][1].strip() and not BULLET.match(lines[j][1]) \
                and not (markdown and MD_HEADING.match(lines[j][1])):
            j += 1
        end = lines[j - 1][0] + len(lines[j - 1][1].rstrip())
        para = text[start:end]
        body_lines = [l for _, l in lines[i:j]]
        if all(TOC_LINE.search(l) for l in body_lines):
            out.append(Block("toc", start, end, para))
        elif not markdown and j == i + 1 and _is_plain_heading(line, cfg):
            out.append(Block("heading", start, end, clean_heading(line), level=1))
        else:
            out.append(Block("para", start, end, para))
        i = j
    if out and out[-1].kind == "heading" and not markdown:   # nothing follows: not a heading
        last = out[-1]
        out[-1] = Block("para", last.start, last.end, text[last.start:last.end])
    return out


def _is_plain_heading(line: str, cfg: dict) -> bool:
    s = line.strip()
    if "\t" in s or len(s) > cfg["plain_heading_max_chars"]:
        return False
    if len(s.split()) > cfg["plain_heading_max_words"]:
        return False
    if not (s[0].isupper() or s[0].isdigit()) or s[0] in QUOTE_CHARS:
        return False
    if s[-1] in ".,;!?" + QUOTE_CHARS or s.endswith("*"):
        return False
    if ": " in s:                  # "Bild och text: ..." is a labelled line, not a heading
        return False
    return True


def parse(text: str, cfg: dict, *, markdown: bool | None = None,
          locate: Callable[[int], str] | None = None) -> list[Document]:
    """Documents from running text. `cfg` is the [ingest] settings table."""
    scfg, icfg = cfg["structure"], cfg["interviews"]
    if markdown is None:
        markdown = any(MD_HEADING.match(l) for l in text.split("\n"))
    locate = locate or line_locator(text)
    team_re = re.compile(scfg["team_heading"])
    quote_re = re.compile(scfg["quote_heading"])
    avslut_re, pagaende_re = re.compile(scfg["form_avslut"]), re.compile(scfg["form_pagaende"])
    interview_re = re.compile(icfg["heading"])

    bl = blocks(text, markdown, scfg)
    docs: list[Document] = []
    stack: list[Block] = []      # open headings, outermost first
    sticky_team: str | None = None

    def context() -> dict[str, str]:
        attrs: dict[str, str] = {}
        team = None
        if markdown:
            for h in stack:
                m = team_re.match(h.text)
                if m:
                    team = m.group("team")
        else:
            team = sticky_team
        if team:
            attrs["team"] = team.strip(" .:")
        if stack:
            attrs["section"] = stack[-1].text
            for h in reversed(stack):
                if avslut_re.search(h.text):
                    attrs["form"] = "avslut"
                    break
                if pagaende_re.search(h.text):
                    attrs["form"] = "pågående"
                    break
        return attrs

    def add_section(run: list[Block]) -> None:
        run = [b for b in run if b.kind in ("para", "bullet")]
        if not run:
            return
        s, e = run[0].start, run[-1].end
        docs.append(Document("section", text[s:e], title=stack[-1].text if stack else None,
                             attributes=context(), src_start=s, src_end=e, locator=locate(s)))

    i = 0
    run: list[Block] = []
    while i < len(bl):
        b = bl[i]
        if b.kind == "heading":
            add_section(run)
            run = []
            while stack and stack[-1].level >= b.level:
                stack.pop()
            if interview_re.search(b.text):
                j = i + 1
                while j < len(bl) and not (
                    bl[j].kind == "heading"
                    and (interview_re.search(bl[j].text) or bl[j].level < b.level or not markdown)
                ):
                    j += 1
                body = [x for x in bl[i + 1:j] if x.kind != "toc"]
                if body:
                    s, e = body[0].start, body[-1].end
                    meta = interviews.parse_heading(b.text, [h.text for h in stack], icfg)
                    docs.append(Document("interview", text[s:e], title=b.text,
                                         attributes=meta.attributes, src_start=s, src_end=e,
                                         locator=locate(b.start), names=meta.names))
                i = j
                continue
            stack.append(b)
            if team_re.match(b.text):
                sticky_team = team_re.match(b.text).group("team")
            i += 1
            continue
        if b.kind == "bullet":
            j = i
            while j < len(bl) and bl[j].kind == "bullet":
                j += 1
            items = bl[i:j]
            heading_says = bool(stack) and bool(quote_re.search(stack[-1].text))
            share = sum(x.quoted for x in items) / len(items)
            if heading_says or share >= scfg["quote_share"]:
                add_section(run)
                run = []
                attrs = context()
                for x in items:
                    if x.inner_end > x.inner_start:
                        docs.append(Document("quote", text[x.inner_start:x.inner_end],
                                             title=stack[-1].text if stack else None,
                                             attributes=dict(attrs), src_start=x.inner_start,
                                             src_end=x.inner_end, locator=locate(x.start)))
            else:
                run.extend(items)
            i = j
            continue
        run.append(b)
        i += 1
    add_section(run)
    return docs
