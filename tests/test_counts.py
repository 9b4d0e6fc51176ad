"""One count per theme everywhere, on one stated base, and teams named once (issue 18, item 2):
the figures of one study compared across the page (step 2 and Teman), Word, Markdown, Excel,
the chart and the REFI-QDA project. The study mixes participants' answers and quotes with
interviews of staff (not in the base) and writes one team two ways ("VKS" and
"Västerås-Kungsör-Surahammar (VKS)")."""
from __future__ import annotations

import html as htmllib
import re
import zipfile

import pytest

from conftest import OWN_INTERVIEWS, OWN_QUOTES

TOKEN = "test-token-counts"
LONG = "Västerås-Kungsör-Surahammar (VKS)"
EXTRA = f"""{'Samordningsteam ' + LONG}

Citat från deltagare

- ”Jag fick hjälp att hitta en praktikplats som passade mig och har nu ett jobb.”
- ”Personalen lyssnade alltid och tog mig på allvar när jag mådde dåligt.”
- ”Gruppträffarna gav mig struktur i veckan.”
"""


def _text(html: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def mixed(demo_copy, tmp_path):
    """The demo study with the own quote list (teams), own interviews (staff: not participants)
    and one more quote list naming team VKS in full; themes, draft, every export."""
    from pipeline import Study
    extra = tmp_path / "vks.txt"
    extra.write_text(EXTRA, encoding="utf-8")
    with Study(demo_copy, create=False) as s:
        s.ingest(OWN_QUOTES, OWN_INTERVIEWS, extra)
        s.themes()
        s.draft()
        s.export()
        s.export_qdpx()
    return demo_copy


def _chart_labels(monkeypatch, study):
    """The chart's bar labels and axis text, as matplotlib draws them."""
    import matplotlib.figure

    from pipeline import Study, counts, export
    from pipeline.grounding import load_material
    seen = []
    original = matplotlib.figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        for ax in fig.axes:
            seen.append(([t.get_text() for t in ax.get_yticklabels()], ax.get_xlabel(),
                         [t.get_text() for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]))
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    with Study(study, create=False) as s:
        m = load_material(s.store, s.config)
        export.write_chart(study / "out" / "teman-test.png", m, counts=counts.of_material(m, s.store))
    return seen


def test_one_count_per_theme_on_one_base_in_every_output(mixed, monkeypatch):
    import docx
    from openpyxl import load_workbook
    from starlette.testclient import TestClient

    from pipeline import Study, qdpx
    from pipeline.web.app import create_app
    study = mixed
    with Study(study, create=False) as s:
        themes = s.store.themes()
        import json
        saved = json.loads(s.store.get_meta("themes_counts"))
    base = saved["participants"]
    assert 0 < base < saved["respondents"]             # staff interviews are respondents, not participants
    want = {t["label"]: t["voice_respondents"] for t in themes}
    assert any(t["voice_respondents"] != t["respondents"] for t in themes)    # the two counts differ somewhere

    # the page: Teman and step 2
    client = TestClient(create_app(study.parent, TOKEN), base_url="http://127.0.0.1")
    client.get(f"/?token={TOKEN}")
    page = client.get(f"/studie/{study.name}/teman").text
    assert f"andelen räknas på de {base} deltagare" in _text(page)
    on_page = {}                                        # the overview: one row per theme
    rows = re.findall(r'<tr class="theme-row" id="theme-(T\d+)".*?class="theme-link"[^>]*>([^<]+)</a>.*?'
                      r'<strong>(\d+)</strong>.*?class="pct">(\d+) %<', page, re.S)
    for tid, label, n, pct in rows:
        label = htmllib.unescape(label).removesuffix(" (nytt tema)")
        on_page[label] = int(n)
        assert int(pct) == round(100 * int(n) / base)
    assert on_page == want
    bars = {}                                           # (theme, team) -> (n, team total), on each theme's page
    for tid, label, n, _ in rows:
        sec = client.get(f"/studie/{study.name}/teman/{tid}").text
        label = htmllib.unescape(label).removesuffix(" (nytt tema)")
        assert re.search(rf"<strong>{n}</strong> av {base} deltagare", sec), label
        for team, k, total in re.findall(r'class="bar-name">([^<]+)</span>.*?class="bar-n">(\d+) av (\d+)<', sec, re.S):
            bars[(label, htmllib.unescape(team))] = (int(k), int(total))
    teams = {team for _, team in bars}
    assert LONG in teams and "VKS" not in teams                               # teams named once
    step2 = client.get(f"/studie/{study.name}/inlast").text
    assert f"{base} deltagare har svarat i fritext" in _text(step2)
    team_table = re.search(r"<h2>Deltagare per team</h2>\s*<table[^>]*>(.*?)</table>", step2, re.S).group(1)
    step2_teams = {htmllib.unescape(t): int(n) for t, n in re.findall(r"<td>([^<]+)</td><td>(\d+)</td>", team_table)}
    assert LONG in step2_teams and "VKS" not in step2_teams
    for (_, team), (_, total) in bars.items():
        assert step2_teams[team] == total, team                              # one total per team

    # Word and Markdown: headings "label (n av base deltagare)"
    doc = docx.Document(str(study / "out" / "narrativ.docx"))
    in_word = {}
    for p in doc.paragraphs:
        m = re.fullmatch(r"(.+?)(?: \(nytt tema\))? \((\d+) av (\d+) deltagare\)", p.text)
        if p.style.name.startswith("Heading") and m:
            assert int(m.group(3)) == base
            in_word[m.group(1)] = int(m.group(2))
    assert in_word and all(want[label] == n for label, n in in_word.items())
    assert f"räknas på de {base} deltagare" in doc.paragraphs[1].text
    md = (study / "out" / "narrativ.md").read_text(encoding="utf-8")
    in_md = {m.group(1): int(m.group(2)) for m in re.finditer(
        r"^### (.+?)(?: \(nytt tema\))? \((\d+) av " + str(base) + r" deltagare\)$", md, re.M)}
    assert in_md == in_word

    # Excel: the themes sheet, theme × group, the framework matrix
    wb = load_workbook(study / "out" / "narrativ.xlsx", read_only=True)
    rows = list(wb["Teman"].iter_rows(values_only=True))
    head = rows[0]
    assert head[5] == "deltagare" and head[6] == f"andel av {base} deltagare" and "svarande" not in head
    ids = {t["id"] for t in themes}
    in_xlsx = {r[1]: r[5] for r in rows[1:] if r and r[0] in ids}
    assert in_xlsx == want
    assert all(abs(r[6] - r[5] / base) < 1e-3 for r in rows[1:] if r and r[0] in ids)
    assert any(r and r[0] and f"de {base} deltagare" in str(r[0]) for r in rows)
    grid = list(wb["Tema x grupp"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(grid) if r[0] == "team")
    team_names = [v for v in grid[start][1:] if v and v != "totalt"]
    assert LONG in team_names and "VKS" not in team_names
    assert grid[start + 1][0] == "alla deltagare" and grid[start + 1][len(team_names) + 1] == base
    for row in grid[start + 2:]:
        if not row or row[0] is None:
            break
        assert row[len(team_names) + 1] == want[row[0]]
        for team, n in zip(team_names, row[1:]):
            if (row[0], team) in bars:
                assert bars[(row[0], team)][0] == n, (row[0], team)
            else:
                assert n == 0
    assert [grid[start + 1][1 + k] for k, t in enumerate(team_names)] == [step2_teams[t] for t in team_names]
    matrix = list(wb["Ramverksmatris"].iter_rows(values_only=True))
    assert matrix[1][1] == "alla deltagare (temats antal)" and {r[0]: r[1] for r in matrix[2:] if r and r[0]} == want
    segment_rows = list(wb["Segment"].iter_rows(values_only=True))
    team_col = segment_rows[0].index("team")
    assert "VKS" not in {r[team_col] for r in segment_rows[1:]}

    # the chart
    for labels, xlabel, legend in _chart_labels(monkeypatch, study):
        for text in labels:
            m = re.fullmatch(r"(.+?)(?: \(nytt tema\))? \((\d+)\)", text)
            assert m, text
            assert any(label.startswith(m.group(1).rstrip("…")) and n == int(m.group(2)) for label, n in want.items()), text
        assert f"de {base} deltagarna" in xlabel or not xlabel
        assert all("VKS" != t.split(" (n=")[0] for t in legend)

    # the REFI-QDA project: its note gives the same counts, the cases one team name
    project = qdpx.read(study / "out" / "narrativ.qdpx")
    note = next(n for n in project.notes if n["name"] == "Antal per tema")
    in_qdpx = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(.+): (\d+) av " + str(base) + " deltagare$",
                                                                 note["text"], re.M)}
    assert in_qdpx == want
    with zipfile.ZipFile(study / "out" / "narrativ.qdpx") as z:
        qde = z.read("project.qde").decode("utf-8")
    assert f">{LONG}<" in qde and ">VKS<" not in qde
