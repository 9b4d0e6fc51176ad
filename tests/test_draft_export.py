"""The narrative draft (deterministic and LLM), its grounding check, and the exports read back."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from pipeline import Study, cli
from pipeline.draft import Draft, DraftError, Paragraph, load_material, prevalence, verify
from pipeline.gate import PrivacyError

# Quotations found independently of the code under test: text between any two quote marks.
QUOTE = re.compile(r"[”“„\"«»]([^”“„\"«»]+)[”“„\"«»]")


def _draft(study_dir):
    return json.loads((study_dir / "out" / "draft.json").read_text(encoding="utf-8"))


def test_draft_json_keeps_every_sentence_with_its_sources(demo_run):
    draft = _draft(demo_run)
    with Study(demo_run, create=False) as study:
        m = load_material(study.store)
    assert draft["respondents"] == m.respondents and draft["drafter"] == "deterministic"
    for p in draft["paragraphs"]:
        assert p["sentences"] and p["text"] == " ".join(x["text"] for x in p["sentences"])
        ids = [i for x in p["sentences"] for i in x["segment_ids"]]
        assert p["segment_ids"] == list(dict.fromkeys(ids))
        for x in p["sentences"]:
            assert x["segment_ids"] and set(x["segment_ids"]) <= set(m.segments)
            for theme_id in x["claims"]:
                assert set(m.theme(theme_id).segment_ids) & set(x["segment_ids"])
    # the saved draft reads back and passes the check again
    verify(Draft.from_json((demo_run / "out" / "draft.json").read_text(encoding="utf-8")), m)


def test_prevalence_words_follow_the_shares():
    cfg = {"prevalence": [[0.5, "en majoritet av deltagarna"], [0.3, "många"], [0.15, "flera"], [0.05, "några"]],
           "prevalence_below": "enstaka"}
    assert [prevalence(s, cfg) for s in (0.6, 0.3, 0.2, 0.05, 0.01)] == [
        "en majoritet av deltagarna", "många", "flera", "några", "enstaka"]


def test_invented_quote_or_missing_sources_are_refused(demo_run):
    with Study(demo_run, create=False) as study:
        m = load_material(study.store)
    sid = m.themes[0].representative[0]
    good = Draft("t", [Paragraph("theme", f"En deltagare skriver: ”{m.segments[sid]['text']}”", [sid])])
    verify(good, m)
    bad = Draft("t", [good.paragraphs[0], Paragraph("theme", "Någon skriver: ”Det här har ingen sagt.”", [sid])])
    with pytest.raises(DraftError, match="stycke 2 .*citat 1"):
        verify(bad, m)
    with pytest.raises(DraftError, match="stycke 1 .*inga källor"):
        verify(Draft("t", [Paragraph("theme", "Många är nöjda.", [])]), m)
    with pytest.raises(DraftError, match="okända segment"):
        verify(Draft("t", [Paragraph("theme", "Många är nöjda.", ["finns.inte.1"])]), m)


def test_docx_reads_back_as_an_editable_document(demo_run):
    import docx
    document = docx.Document(demo_run / "out" / "narrativ.docx")
    draft = _draft(demo_run)
    paras = [p for p in document.paragraphs if p.text.strip()]
    assert paras[0].style.name == "Heading 1" and paras[0].text == draft["title"]
    body = [p.text for p in paras]
    for p in draft["paragraphs"]:
        assert p["text"].replace("*", "") in body                     # the narrative, labels without markup
    # the appendix is headed by the themes' concept labels
    themes = json.loads((demo_run / "out" / "themes.json").read_text(encoding="utf-8"))["themes"]
    headings = [p.text for p in paras if p.style.name == "Heading 3"]
    assert headings[0].startswith("Inget att förbättra (")
    labels = {t["label"] for t in themes}
    assert all(h.rsplit(" (", 1)[0].removesuffix(" (nytt tema)") in labels for h in headings)
    comments = [c.text for c in document.comments]
    assert len(comments) == len(draft["paragraphs"])
    assert all(c.startswith("Källor: ") for c in comments)
    assert draft["paragraphs"][1]["segment_ids"][0] in comments[1]
    # appendix: quotes per theme with their source
    assert "Bilaga: citat per tema" in body
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Citat", "Källa", "Segment"]
    quote, source, sid = (c.text for c in table.rows[1].cells)
    assert quote.startswith("”") and ".xlsx" in source and "rad " in source and re.fullmatch(r"[0-9a-f]{10}(-\d+)?\.[0-9a-f]{6}(-\d+)?", sid)


def test_markdown_xlsx_and_chart(demo_run):
    md = (demo_run / "out" / "narrativ.md").read_text(encoding="utf-8")
    draft = _draft(demo_run)
    assert md.startswith(f"# {draft['title']}")
    assert "[^1]: Källor: " in md and "## Bilaga: citat per tema" in md
    assert len(QUOTE.findall(md)) >= 10

    from openpyxl import load_workbook
    wb = load_workbook(demo_run / "out" / "narrativ.xlsx", read_only=True)
    assert wb.sheetnames == ["Segment", "Teman", "Tema x grupp", "Ramverksmatris"]
    rows = list(wb["Segment"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("segment_id", "tema_id", "tema", "text", "källa") and "team" in header
    themes = json.loads((demo_run / "out" / "themes.json").read_text(encoding="utf-8"))
    themed = sum(t["size"] for t in themes["themes"])
    assert sum(1 for r in rows[1:] if r[1]) == themed
    matrix = list(wb["Tema x grupp"].iter_rows(values_only=True))
    team_row = next(i for i, r in enumerate(matrix) if r[0] == "team")
    assert set(matrix[team_row][1:4]) == {"Norrvik", "Sjöholm", "Ekbacka"}
    first_theme = matrix[team_row + 2]
    assert first_theme[0] == themes["themes"][0]["label"]
    assert first_theme[4] == themes["themes"][0]["respondents"]

    png = (demo_run / "out" / "teman.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_export_gate_stops_a_name_in_a_theme_label(demo_copy, capsys):
    import yaml
    book = yaml.safe_load((demo_copy / "codebook.yaml").read_text(encoding="utf-8"))
    book["themes"][0]["label"] = "Tack till Anna Lindberg"
    (demo_copy / "codebook.yaml").write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    before = (demo_copy / "out" / "narrativ.docx").read_bytes()
    with Study(demo_copy) as study:
        study.themes()
        study.draft()
        with pytest.raises(PrivacyError, match=r"tema T\d+ \(NAMN\)"):
            study.export()
    assert (demo_copy / "out" / "narrativ.docx").read_bytes() == before      # nothing written
    assert cli.main(["export", "--study", str(demo_copy)]) == 2
    assert "Lindberg" not in capsys.readouterr().err
    assert cli.main(["export", "--study", str(demo_copy), "--allow-identifying"]) == 0


def test_export_gate_checks_unthemed_segments_the_xlsx_lists(demo_copy):
    """The Segment sheet lists every segment, themed or not: the gate checks them all (here a
    study read with pseudonymisation off, whose one unthemed answer holds a phone number)."""
    import sqlite3
    with Study(demo_copy) as study:
        cited = {s for p in study.draft().paragraphs for s in p.segment_ids}
        themes = study.store.themes()
        sid = next(s["id"] for s in study.store.segments() if s["kind"] == "answer" and s["id"] not in cited)
    conn = sqlite3.connect(demo_copy / "store.sqlite")
    with conn:
        for t in themes:
            if sid in t["segment_ids"]:
                t["segment_ids"].remove(sid)
                conn.execute("UPDATE themes SET data = ? WHERE id = ?", (json.dumps(t, ensure_ascii=False), t["id"]))
        conn.execute("DELETE FROM assignments WHERE segment_id = ?", (sid,))
        conn.execute("UPDATE segments SET text = ? WHERE id = ?", ("Ring mig på 070-123 45 67.", sid))
    conn.close()
    with Study(demo_copy) as study:
        assert sid not in {s for t in load_material(study.store).themes for s in t.segment_ids}
        with pytest.raises(PrivacyError, match=re.escape(sid) + r" \(TELEFON\)"):
            study.export()


# -- the LLM drafter against a local server that speaks the protocol --------------------------

class _Endpoint:
    def __init__(self, reply):
        self.reply = reply
        self.requests = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.requests.append((self.path, json.loads(body)))
                content = endpoint.reply if isinstance(endpoint.reply, bytes) else json.dumps({
                    "id": "x", "object": "chat.completion", "model": "stub",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": endpoint.reply},
                                 "finish_reason": "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@contextmanager
def _llm_study(demo_copy, reply):
    """A study whose drafter talks to a local stub endpoint giving `reply`."""
    endpoint = _Endpoint(reply)
    study = Study(demo_copy)
    study.config["draft"].update(llm_url=endpoint.url, llm_model="stub", llm_timeout=10)
    try:
        yield study, endpoint
    finally:
        endpoint.close()
        study.close()


def test_llm_draft_is_grounded_and_gets_pseudonymised_text_only(demo_copy):
    with Study(demo_copy) as s:
        m = load_material(s.store)
    t = m.themes[0]
    sid = t.representative[0]
    other = next(x for x in m.themes[1:] if x.narrative)       # a theme a concept names
    reply = (f"Många deltagare tar upp {t.label.lower()}. En skriver: ”{m.segments[sid]['text']}” [{sid}]\n\n"
             f"Flera beskriver att de {other.narrative}. [{other.representative[0]}]")
    with _llm_study(demo_copy, reply) as (study, endpoint):
        draft = study.draft()
    assert draft.drafter == "llm:stub" and len(draft.paragraphs) == 2
    assert draft.paragraphs[0].segment_ids == [sid]
    path, payload = endpoint.requests[0]
    assert path == "/v1/chat/completions" and payload["model"] == "stub"
    prompt = payload["messages"][1]["content"]
    assert m.segments[sid]["text"] in prompt
    for secret in ("Berglund", "070-412", "Lindqvist"):
        assert secret not in json.dumps(payload, ensure_ascii=False)


def test_llm_draft_with_an_invented_quote_is_refused(demo_copy):
    with Study(demo_copy) as s:
        sid = load_material(s.store).themes[0].representative[0]
    with _llm_study(demo_copy, f"En deltagare skriver: ”Teamet räddade mitt liv varje dag.” [{sid}]") as (study, _):
        with pytest.raises(DraftError, match="stycke 1 .*citat 1.*ordagrant"):
            study.draft()


def test_llm_protocol_errors_are_clear(demo_copy):
    with _llm_study(demo_copy, b"{not json") as (study, endpoint):
        with pytest.raises(DraftError, match="följer protokollet"):
            study.draft()
        endpoint.close()                                     # the server is gone now
        with pytest.raises(DraftError, match="gick inte att nå"):
            study.draft()


def test_quotes_in_the_draft_did_not_lose_a_full_stop(demo_run):
    """The demo's answers hold sentences run together ("…med Arbetsförmedlingen Jag har fått…");
    the drafter quotes an answer without such a seam when the theme has one."""
    from pipeline.draft import LOST_BREAK
    assert LOST_BREAK.search("Teamet följde med mig på mötet med Arbetsförmedlingen Jag har fått en anställning.")
    assert not LOST_BREAK.search("Jag har fått en anställning. Det betyder mycket.")
    draft = json.loads((demo_run / "out" / "draft.json").read_text(encoding="utf-8"))
    quotes = [q for p in draft["paragraphs"] for q in re.findall(r"”([^”]+)”", p["text"])]
    assert len(quotes) >= 5 and not [q for q in quotes if LOST_BREAK.search(q)]
