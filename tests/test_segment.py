"""Segments: sentence splitting of answers, paragraphs of interviews, exact offsets back to the
source file."""
from __future__ import annotations

from conftest import OWN_INTERVIEWS, OWN_QUOTES, SEED_001, SEED_002
from files import same_but_placeholders
from pipeline.segment import Segmenter


def _texts(kind, text, **kw):
    seg = Segmenter(**kw)
    return [text[s:e] for s, e in seg.split(kind, text)]


def test_multi_theme_answer_is_split_into_sentences():
    answer = ("Har hjälpt mycket med det sociala, fått rutiner och träffar andra i samma situation. "
              "Fått hjälp med myndigheterna, t.ex. Försäkringskassan, och man blir inte dömd.")
    assert _texts("answer", answer) == [
        "Har hjälpt mycket med det sociala, fått rutiner och träffar andra i samma situation.",
        "Fått hjälp med myndigheterna, t.ex. Försäkringskassan, och man blir inte dömd."]


def test_short_answers_and_fragments_stay_together():
    assert _texts("answer", "Bra. Tack!") == ["Bra. Tack!"]
    text = "Jag har fått en plats där jag känner mig trygg och sedd. Tack!!! <3"
    assert _texts("quote", text) == [text]


def test_long_paragraphs_become_sentence_runs():
    para = " ".join(f"Mening nummer {i} handlar om något viktigt i verksamheten." for i in range(20))
    text = "Kort inledning.\n\n" + para
    parts = _texts("interview", text, max_passage_chars=200)
    assert parts[0] == "Kort inledning."
    assert all(len(p) <= 200 for p in parts[1:])
    assert " ".join(parts[1:]) == para


def _offsets_trace_back(study, paths, min_segments, min_replaced):
    study.ingest(*paths)
    sources = {p.name: p.read_text(encoding="utf-8") for p in paths}
    records = study.segments()
    assert len(records) > min_segments
    replaced = 0
    for r in records:
        original = sources[r["source"]][r["source_start"]:r["source_end"]]
        assert same_but_placeholders(r["text"], original), r["segment_id"]
        replaced += original != r["text"]
    assert replaced > min_replaced   # names were pseudonymised, and offsets still lead to the source
    # re-running the stage alone gives the same segments
    before = [(r["segment_id"], r["text"]) for r in records]
    study.segment()
    assert [(r["segment_id"], r["text"]) for r in study.segments()] == before


def test_segment_offsets_trace_back_to_own_material(study):
    _offsets_trace_back(study, (OWN_INTERVIEWS, OWN_QUOTES), 30, 10)


def test_segment_offsets_trace_back_to_the_source(study, seeds):
    _offsets_trace_back(study, (SEED_001, SEED_002), 500, 50)
