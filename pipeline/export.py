"""Export stage: the draft and the themes to the files the kansli works in, all through the
privacy gate first (nothing is written if anything identifying remains):

  DIR/out/narrativ.docx   title, the narrative (sources as Word comments), appendix of quotes
                          per theme with their source (file, team/site, position)
  DIR/out/narrativ.md     the same in Markdown (sources as footnotes), quotes in ”…”
  DIR/out/narrativ.xlsx   every themed segment with its attributes; themes; theme × group matrices
  DIR/out/teman.png       theme sizes per group (share of respondents), matplotlib
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from . import counts as counting
from . import gate
from .grounding import Draft, Material

ITALIC = re.compile(r"\*([^*]+)\*")
QUOTES_PER_THEME = 5


def _source_text(seg: dict) -> str:
    a = seg["attributes"]
    where = ", ".join(x for x in (a.get("team") and f"team {a['team']}", a.get("site"),
                                  a.get("form"), a.get("role")) if x)
    return f"{seg['source']}" + (f", {where}" if where else "") + f", {seg['locator']}"


def _comment_sources(segment_ids: list[str], m: Material) -> str:
    """A Word comment's visible text: which files (and teams) a paragraph builds on, in the
    kansli's words; the segment ids go in a small note after it."""
    from collections import Counter
    by_file: dict[str, Counter] = {}
    for sid in segment_ids:
        seg = m.segments.get(sid)
        if seg is not None:
            by_file.setdefault(seg["source"], Counter())[(seg.get("attributes") or {}).get("team")] += 1
    if not by_file:
        return "Källor: inga svar angivna."
    order = sorted(by_file, key=lambda f: (-sum(by_file[f].values()), f))
    parts = []
    for source in order[:6]:
        teams = by_file[source]
        named = [f"{team} {k}" for team, k in teams.most_common() if team]
        parts.append(f"{source} ({sum(teams.values())}" + (f"; team {', '.join(named)}" if named else "") + ")")
    more = f" och {len(order) - 6} filer till" if len(order) > 6 else ""
    n = sum(sum(c.values()) for c in by_file.values())
    return (f"Källor: {n} ställen i " + ", ".join(parts) + more
            + ". Svaren med fil och plats finns i kalkylbladet narrativ.xlsx.")


def _appendix(m: Material) -> list[tuple[object, list[tuple[str, dict]]]]:
    """Per theme with participant voice: its most typical participant quotes."""
    out = []
    for t in m.themes:
        voice = [s for s in t.representative + t.segment_ids if m.segments.get(s, {}).get("voice")]
        quotes = [(sid, m.segments[sid]) for sid in list(dict.fromkeys(voice))[:QUOTES_PER_THEME]]
        if quotes:
            out.append((t, quotes))
    return out


def _subtitle(draft: Draft, m: Material) -> str:
    return (f"Utkast från narrativ {date.today().isoformat()}. Underlag: fritextsvar från {m.respondents} {m.noun}, "
            f"{len(m.themes)} teman. {counting.BASE_SENTENCE.format(base=m.respondents, noun=m.noun)} "
            "Citaten och var de kommer ifrån finns i bilagan.")


def _count(t, m: Material) -> str:
    """A theme's one count on the stated base (pipeline.counts), as headings give it."""
    return f"{counting.Counts.n(t)} av {m.respondents} {m.noun}"


def check_privacy(store, cfg, draft: Draft, m: Material, allow: bool) -> None:
    items = [(f"stycke {k}", p.text) for k, p in enumerate(draft.paragraphs, start=1)]
    items += [(f"tema {t.id}", t.label) for t in m.themes]
    themed = {sid for t in m.themes for sid in t.segment_ids}
    listed = {sid for sid, seg in m.segments.items() if seg["kind"] != "section"}   # the xlsx lists these too
    items += [(sid, m.segments[sid]["text"]) for sid in sorted(themed | listed) if sid in m.segments]
    gate.check(store, cfg, items, allow=allow, what="Exporten")


def write_docx(path: Path, draft: Draft, m: Material, counts=None) -> None:
    c = counts or counting.of_material(m)
    import docx
    from docx.shared import Cm, Pt, RGBColor

    document = docx.Document()
    document.core_properties.title = draft.title
    document.core_properties.author = "narrativ"
    document.add_heading(draft.title, level=1)
    sub = document.add_paragraph()
    run = sub.add_run(_subtitle(draft, m))
    run.italic = True
    run.font.size = Pt(9)
    run.font.color.rgb = RGBColor(0x59, 0x59, 0x59)
    for p in draft.paragraphs:
        para = document.add_paragraph()
        pos = 0
        for match in ITALIC.finditer(p.text):
            if match.start() > pos:
                para.add_run(p.text[pos:match.start()])
            para.add_run(match.group(1)).italic = True
            pos = match.end()
        if pos < len(p.text):
            para.add_run(p.text[pos:])
        comment = document.add_comment(para.runs, text=_comment_sources(p.segment_ids, m), author="narrativ",
                                       initials="N")
        trace = comment.add_paragraph()                # the ids, for whoever traces a claim; small and grey
        run = trace.add_run("För spårning i narrativ.xlsx (kan lämnas därhän): " + ", ".join(p.segment_ids))
        run.font.size = Pt(7)
        run.font.color.rgb = RGBColor(0x80, 0x80, 0x80)

    document.add_page_break()
    document.add_heading("Bilaga: citat per tema", level=2)
    document.add_paragraph("Citaten är ordagranna ur det pseudonymiserade materialet. Källan anger fil, "
                           "grupp och position i filen; segment-id finns i kalkylbladet narrativ.xlsx.")
    for t, quotes in _appendix(m):
        document.add_heading(f"{c.display(t)} ({_count(t, m)})", level=3)
        table = document.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        table.autofit = False
        widths = (Cm(9.0), Cm(4.8), Cm(3.2))
        for column, width in zip(table.columns, widths):
            column.width = width                     # the grid (LibreOffice), cells below (Word)
        head = table.rows[0].cells
        for cell, title, width in zip(head, ("Citat", "Källa", "Segment"), widths):
            cell.text = ""
            cell.paragraphs[0].add_run(title).bold = True
            cell.width = width
        for sid, seg in quotes:
            cells = table.add_row().cells
            for cell, text, width, size in zip(cells, (f"”{seg['text']}”", _source_text(seg), sid), widths, (10, 8, 8)):
                cell.width = width
                cell.paragraphs[0].add_run(text).font.size = Pt(size)
    document.save(path)


SHOWN_SOURCES = 12


def _sources(ids: list[str]) -> str:
    """A paragraph's sources as a footnote gives them: the first ones, then how many more (a
    count rests on every carrier; all of them are in out/draft.json)."""
    if len(ids) <= SHOWN_SOURCES:
        return ", ".join(ids)
    return ", ".join(ids[:SHOWN_SOURCES]) + f" och {len(ids) - SHOWN_SOURCES} till (alla i out/draft.json)"


def write_markdown(path: Path, draft: Draft, m: Material, counts=None) -> None:
    c = counts or counting.of_material(m)
    lines = [f"# {draft.title}", "", f"_{_subtitle(draft, m)}_", ""]
    notes = []
    for k, p in enumerate(draft.paragraphs, start=1):
        lines += [f"{p.text}[^{k}]", ""]
        notes.append(f"[^{k}]: Källor: {_sources(p.segment_ids)}")
    lines += notes + ["", "## Bilaga: citat per tema", ""]
    for t, quotes in _appendix(m):
        lines += [f"### {c.display(t)} ({_count(t, m)})", ""]
        lines += [f"- ”{seg['text']}” — {_source_text(seg)} (`{sid}`)" for sid, seg in quotes]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


class _Rows:
    """A small sheet built in memory the way an openpyxl worksheet builds it, then written to a
    write-only workbook: `bold_row` bolds the last row's cells out to the sheet's width so far,
    `fill` gives every cell of the used rectangle a style, as iterating over the sheet does."""

    def __init__(self):
        self.rows: list[list[list]] = []          # [value, font, alignment] per cell
        self.width = 0

    def append(self, values) -> None:
        self.rows.append([[v, None, None] for v in values])
        self.width = max(self.width, len(values))

    def bold_row(self, font) -> None:
        row = self.rows[-1]
        row += [[None, None, None] for _ in range(self.width - len(row))]
        for cell in row:
            cell[1] = font

    def fill(self, alignment) -> None:
        for row in self.rows:
            row += [[None, None, None] for _ in range(self.width - len(row))]
            for cell in row:
                cell[2] = alignment

    def write(self, ws) -> None:
        from openpyxl.cell import WriteOnlyCell
        for row in self.rows:
            cells = []
            for value, font, alignment in row:
                if font is None and alignment is None:
                    cells.append(value)
                    continue
                cell = WriteOnlyCell(ws, value=value)
                if font is not None:
                    cell.font = font
                if alignment is not None:
                    cell.alignment = alignment
                cells.append(cell)
            ws.append(cells)


def write_xlsx(path: Path, m: Material, group_keys: list[str], rules=None, counts=None) -> None:
    """Written row by row (openpyxl's write-only mode): the Segment sheet of a large study has
    hundreds of thousands of cells; the small sheets are built first, then written."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    c = counts or counting.of_material(m)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Segment")
    ws.column_dimensions["D"].width = 80
    theme_of = {sid: t for t in m.themes for sid in t.segment_ids}
    keys = sorted({k for s in m.segments.values() for k in s["attributes"]})
    ws.append(["segment_id", "tema_id", "tema", "text", "källa", "position", "svarande", *keys])
    for sid, seg in m.segments.items():
        if seg["kind"] == "section":
            continue
        t = theme_of.get(sid)
        ws.append([sid, t.id if t else "", t.label if t else "", seg["text"], seg["source"],
                   seg["locator"], seg["respondent"], *[seg["attributes"].get(k, "") for k in keys]])

    ws = wb.create_sheet("Teman")
    ws.column_dimensions["B"].width = 40
    ws.append(["tema_id", "tema", "slag", "begrepp", "ton", m.noun, f"andel av {c.base} {m.noun}",
               "segment", "nyckelord", "källa"])
    kinds = {"concept": "begrepp", "new": "nytt tema", "codebook": "kodbok"}
    for t in m.themes:
        ws.append([t.id, t.label, kinds.get(t.kind, t.kind), t.concept or "", t.tone, c.n(t),
                   round(c.share(t), 4), t.size, ", ".join(t.keywords[:8]), t.source])
    ws.append([])
    ws.append([c.sentence()])

    bold = Font(bold=True)
    sheet = _Rows()
    sheet.append(["Antal deltagare per tema och grupp (en deltagare kan höra till flera teman)"])
    sheet.bold_row(bold)
    sheet.append([c.sentence()])
    for key in group_keys:
        totals = c.group_totals.get(key)
        if not totals or len(totals) < 2:
            continue
        values = list(totals)
        sheet.append([])
        sheet.append([key, *values, "totalt"])
        sheet.bold_row(bold)
        sheet.append([f"alla {m.noun}", *[totals[v] for v in values], c.base])
        for t in m.themes:
            g = c.groups(t, key)
            sheet.append([t.label, *[g.get(v, 0) for v in values], c.n(t)])
    sheet.fill(Alignment(wrap_text=False))
    ws = wb.create_sheet("Tema x grupp")
    ws.column_dimensions["A"].width = 45
    sheet.write(ws)

    from .groups import GroupRules
    from .matrix import framework_matrix
    groups, rows = framework_matrix(m, rules or GroupRules([]))
    sheet = _Rows()
    sheet.append(["Tema × grupp: antal svarande/intervjuade i varje grupp (även personal), och det starkaste "
                  f"avsnittet i varje cell; kolumnen 'alla {m.noun} (temats antal)' är temats antal som i övriga filer"])
    sheet.bold_row(bold)
    sheet.append(["tema", f"alla {m.noun} (temats antal)", *[x for g in groups for x in (g, f"{g}: starkaste avsnitt")]])
    sheet.bold_row(bold)
    n_of = {t.id: c.n(t) for t in m.themes}
    for r in rows:
        r = {**r, "respondents": n_of.get(r["theme_id"], r["respondents"])}
        values = []
        for g in groups:
            c = r["cells"].get(g)
            values += [c["n"] if c else 0, f"[{c['segment_id']}] {c['text']}" if c else ""]
        sheet.append([r["label"], r["respondents"], *values])
    ws = wb.create_sheet("Ramverksmatris")
    ws.column_dimensions["A"].width = 40
    sheet.write(ws)
    wb.save(path)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def write_chart(path: Path, m: Material, key: str = "team", top: int = 10, counts=None) -> None:
    """Two panels: what participants describe as good (praise), and the answers about what could
    be better — "Inget att förbättra" shown as a theme of its own beside wishes and critique.
    Bars: share of each group's respondents (or of all)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    c = counts or counting.of_material(m)
    themes = [t for t in m.themes if t.voice_respondents > 0] or m.themes
    panels = [("Det deltagarna beskriver som bra", [t for t in themes if t.tone in ("praise", "outcome")][:top]),
              ("Vad kunde bli bättre: önskemål, kritik och inget att förbättra",
               [t for t in themes if t.tone in ("nothing", "wish", "critique")][:6])]
    panels = [(title, ts) for title, ts in panels if ts]
    totals = c.group_totals.get(key, {})
    groups = [g for g, n in totals.items() if n > 0] if len(totals) >= 2 else []
    heights = [len(ts) for _, ts in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 0.42 * sum(heights) + 1.6 * len(panels)), dpi=150,
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (title, ts) in zip(axes[:, 0], panels):
        ts = ts[::-1]
        y = np.arange(len(ts))
        if groups:
            height = 0.8 / len(groups)
            for k, g in enumerate(groups):
                shares = [c.groups(t, key).get(g, 0) / totals[g] * 100 for t in ts]
                ax.barh(y + (k - (len(groups) - 1) / 2) * height, shares, height=height, label=f"{g} (n={totals[g]})")
            ax.legend(title=key.capitalize(), fontsize=7, title_fontsize=7, loc="lower right")
        else:
            ax.barh(y, [c.share(t) * 100 for t in ts], color="#4472c4")
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_yticks(y)
        ax.set_yticklabels([f"{_short(c.display(t), 55)} ({c.n(t)})" for t in ts], fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel(f"Andel av de {c.base} deltagarna (%)" + (f" per {key}" if groups else "")
                           + " – i parentes: antal deltagare i temat")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(store, cfg: dict, study_dir: Path, draft: Draft, material: Material,
        allow_identifying: bool = False) -> dict[str, Path]:
    check_privacy(store, cfg, draft, material, allow_identifying)
    c = counting.of_material(material, store)
    for seg in material.segments.values():              # teams named once (pipeline.counts)
        seg["attributes"] = counting.canonical(seg["attributes"], c.names)
    out = Path(study_dir) / "out"
    out.mkdir(exist_ok=True)
    paths = {"docx": out / "narrativ.docx", "md": out / "narrativ.md", "xlsx": out / "narrativ.xlsx",
             "png": out / "teman.png"}
    write_docx(paths["docx"], draft, material, counts=c)
    write_markdown(paths["md"], draft, material, counts=c)
    from .groups import GroupRules
    write_xlsx(paths["xlsx"], material, cfg["themes"]["group_by"], GroupRules.from_config(cfg), counts=c)
    write_chart(paths["png"], material, counts=c)
    from .study import record_export
    record_export(store, study_dir)
    store.log_run("export", "ok", {"files": [p.name for p in paths.values()]})
    return paths
