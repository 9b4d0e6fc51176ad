"""Meaning: themes named by concepts a person would write, a draft in prose that says what
participants describe, grounding that covers the prose and every quotation style, and the
participants' voice kept apart from articles, reports and staff."""
from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from conftest import DEMO, ROOT, SEED_001
from pipeline import Study, concepts
from pipeline.draft import support_check
from pipeline.errors import StudyError
from pipeline.grounding import Draft, DraftError, Paragraph, Sentence, load_material, verify

CODING = ROOT / "tests" / "benchmarks" / "coding"
TEAMS_AND_ORGS = ("Norrvik", "Sjöholm", "Ekbacka", "Försäkringskassan", "Arbetsförmedlingen", "FNS", "Surahammar",
                  "Hallstahammar", "Västerås", "Sala", "Samordningsteam")
# Quotation marks of every style, found independently of the code under test: any run of text
# between two of these characters.
MARKS = "”“„\"«»'‘’"


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _quoted(text: str) -> list[str]:
    parts = re.split(f"[{MARKS}]", text)
    return [p.strip() for p in parts[1::2] if len(p.split()) >= 2]


def _prose(text: str) -> str:
    parts = re.split(f"[{MARKS}]", text)
    return " ".join(parts[0::2])


@pytest.fixture(scope="module")
def demo(demo_run):
    with Study(demo_run, create=False) as study:
        m = load_material(study.store, study.config)
        draft = Draft.from_json((demo_run / "out" / "draft.json").read_text(encoding="utf-8"))
        yield study, m, draft


# -- labels -------------------------------------------------------------------------------------

def test_concept_lexicon_is_complete_and_in_our_own_words():
    lexicon = concepts.load()
    assert len(lexicon) >= 30
    kinds = {c.kind for c in lexicon}
    assert {"praise", "wish", "critique", "nothing"} <= kinds
    for c in lexicon:
        assert c.label[:1].isupper() and len(c.label.split()) <= 8, c.label
        assert c.description and c.narrative and len(c.examples) >= 3, c.id
        assert not any(org in c.label for org in TEAMS_AND_ORGS), c.label
    fam = concepts.families()
    assert {cid for ids in fam.values() for cid in ids} <= {c.id for c in lexicon}


def test_a_lexicon_of_ones_own_is_checked(tmp_path):
    bad = tmp_path / "lex.yaml"
    bad.write_text("concepts:\n- id: a\n  label: A\n  kind: beröm\n  narrative: x\n  examples: [y]\n", encoding="utf-8")
    with pytest.raises(StudyError, match="lex.yaml: begrepp 'a': kind ska vara en av"):
        concepts.load(bad)


def test_demo_themes_are_named_by_concepts_true_to_their_members(demo):
    _, m, _ = demo
    coding = yaml.safe_load((CODING / "demo.yaml").read_text(encoding="utf-8"))
    coded = {_norm(k): set(v) for k, v in coding.items()}
    labels = {c.label for c in concepts.load()}
    largest = m.themes[0]
    assert largest.label == "Inget att förbättra" and largest.tone == "nothing"
    true = named = 0
    for t in m.themes:
        assert not any(org.lower() in t.label.lower() for org in TEAMS_AND_ORGS), t.label
        assert "…" not in t.label and t.label != ", ".join(t.keywords[:3])
        if t.kind != "concept":
            continue
        assert t.label in labels
        by_resp: dict[str, set] = {}
        for sid in t.segment_ids:
            seg = m.segments[sid]
            if seg["voice"]:
                text = _norm(seg["text"])
                by_resp.setdefault(seg["respondent"], set()).update(
                    c for k, v in coded.items() if k in text for c in v)
        named += 1
        true += sum(t.concept in c for c in by_resp.values()) >= 0.5 * len(by_resp)
    assert named >= 10 and true >= 0.9 * named


COFFEE = ["Kaffet i fikarummet är det godaste i stan.", "Det bjuds på gratis kaffe och kanelbullar varje morgon.",
          "Espressomaskinen i köket gör dagen bättre.", "Kaffepausen klockan tio är höjdpunkten.",
          "De har alltid nybryggt kaffe när man kommer.", "Jag gillar att kaffet är gratis.",
          "Kaffe med havremjölk finns alltid, det uppskattar jag.", "Fikat med kaffe och kakor på fredagar är toppen.",
          "Det luktar nybryggt kaffe redan i trappan."]
ROUTINE = ["Jag har fått rutiner i vardagen.", "Nu har jag en tid att passa varje dag.",
           "Schemat gör att jag kommer upp på morgonen.", "Fasta tider har gett mina veckor en form.",
           "Jag har fått en struktur som jag saknade förut.", "Rutinerna gör att jag sover bättre.",
           "Att veta vilka dagar jag ska vara här ger mig ordning.", "Jag har kommit in i en bra dygnsrytm.",
           "Veckoschemat hjälper mig att planera."]


def test_a_new_kind_of_theme_is_proposed_not_forced(tmp_path):
    """Answers about something no concept covers (the coffee) become a new theme named from
    its own words; answers about routines get the concept's label."""
    rows = [{"id": f"k{i}", "Vad har varit bra?": text, "team": "A"} for i, text in enumerate(COFFEE)]
    rows += [{"id": f"r{i}", "Vad har varit bra?": text, "team": "B"} for i, text in enumerate(ROUTINE)]
    path = tmp_path / "svar.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with Study(tmp_path / "s") as study:
        study.ingest(path)
        result = study.themes()
    kinds = {t.label: t.kind for t in result.themes}
    assert kinds.get("Struktur och rutiner i vardagen") == "concept", kinds
    new = [label for label, kind in kinds.items() if kind == "new"]
    assert any(re.search(r"kaffe|fika|espresso", label, re.I) for label in new), kinds


# -- the draft is prose ---------------------------------------------------------------------------

def test_draft_is_prose_not_a_form(demo):
    _, m, draft = demo
    kinds = [p.kind for p in draft.paragraphs]
    assert kinds[0] == "opening" and kinds[-1] == "closing"
    assert {"theme", "wishes", "critique", "forms"} <= set(kinds)
    # the opening synthesises the strongest concepts in a sentence or two
    opening = draft.paragraphs[0].text.lower()
    praised = [t for t in m.themes if t.tone in ("praise", "outcome") and t.kind == "concept"][:3]
    assert sum(t.label.lower() in opening for t in praised) >= 2
    for p in draft.paragraphs:
        prose = _prose(p.text)
        assert len(_quoted(p.text)) <= 2, p.text                       # a quote only where it carries the point
        if p.kind in ("theme", "wishes", "critique", "forms"):
            assert len(prose.split()) >= 25, p.text
        assert "En deltagare skriver:" not in p.text and "Någon annan skriver" not in p.text
    # no two paragraphs share a skeleton: different openings, and no sentence frame repeated
    openers = [" ".join(p.text.split()[:3]) for p in draft.paragraphs]
    assert len(set(openers)) == len(openers), openers
    frames = [_skeleton(s.text, m) for p in draft.paragraphs for s in p.sentences]
    assert len(set(frames)) == len(frames), [f for f in frames if frames.count(f) > 1]
    # no quote twice
    quotes = [q for p in draft.paragraphs for q in _quoted(p.text)]
    assert len(set(quotes)) == len(quotes)
    # third person: the participants' own "jag" appears only inside quotes
    assert not re.search(r"\bjag\b", " ".join(_prose(p.text) for p in draft.paragraphs), re.I)


def _skeleton(text: str, m) -> str:
    """A sentence with its quote, counts, quantity words and theme words taken out: its frame."""
    text = re.sub(r"[”\"].*?[”\"]", "Q", text)
    text = re.sub(r"\d+ av \d+", "N", text)
    for t in m.themes:
        for part in (t.narrative, t.label, t.label[:1].lower() + t.label[1:], t.term):
            if part:
                text = text.replace(part, "X")
    return re.sub(r"\b(en majoritet av \w+ ?\w*|många|flera|några|enstaka \w+|en \w+)\b", "W", text, flags=re.I)


def test_draft_counts_are_recounts_and_quantity_words_follow_one_scale(demo):
    """Every "N av M" is the number of participants among the cited segments whose own words
    carry the claim (the theme's carriers: a concept's carriers, never the theme's size), M the
    stated base, and the quantity word the scale's word for N of M."""
    study, m, draft = demo
    from pipeline.grounding import quantity
    checked = smaller = 0
    for p in draft.paragraphs:
        for s in p.sentences:
            stated = re.findall(r"(\d+) av (\d+)", s.text)
            assert len(stated) == len(s.counts), s.text
            for (n, base), spec in zip(stated, s.counts):
                carriers = m.carriers(spec)
                cited = [i for i in s.segment_ids if i in carriers and m.matches(i, spec.get("where") or {})]
                assert int(n) == len({m.segments[i]["respondent"] for i in cited if m.segments[i]["voice"]}), s.text
                assert int(base) == m.base(spec.get("where") or {})
                word = quantity(int(n), int(base), study.config["draft"])
                if len(stated) == 1 and re.search(r"\b(många|flera|några|enstaka|majoritet)\b", s.text, re.I):
                    assert word.split()[0] in s.text.lower(), (word, s.text)
                t = m.theme(spec["theme"]) if spec.get("theme") else None
                smaller += bool(t and int(n) < t.voice_respondents)
                checked += 1
    assert checked >= 12 and smaller >= 1


def test_wishes_nothing_to_change_and_critique_are_told(demo):
    _, m, draft = demo
    by_kind = {p.kind: p for p in draft.paragraphs}
    nothing = next(t for t in m.themes if t.tone == "nothing")
    recount = m.recount({"theme": nothing.id}, nothing.carriers)
    assert f"({recount} av" in by_kind["wishes"].text and "inget behöver ändras" in by_kind["wishes"].text
    critique = [t for t in m.themes if t.tone == "critique" and t.voice_respondents]
    assert critique
    text = by_kind["critique"].text
    first = by_kind["critique"].sentences[0].text           # the largest critique, said plainly
    assert any(t.narrative in first for t in critique), first
    assert any(t.narrative in text for t in critique)


def test_every_quote_is_verbatim_and_every_sentence_cites(demo):
    _, m, draft = demo
    for p in draft.paragraphs:
        for s in p.sentences:
            assert s.segment_ids and all(i in m.segments for i in s.segment_ids)
            cited = [_norm(m.segments[i]["text"]) for i in s.segment_ids]
            for q in _quoted(s.text):
                assert any(_norm(q) in c for c in cited), q
            for i in s.segment_ids:
                assert m.segments[i]["voice"], (s.text, i)


# -- grounding ----------------------------------------------------------------------------------

STYLES = ["”{q}”", "\"{q}\"", "“{q}”", "«{q}»", "'{q}'", "„{q}“", "»{q}«"]


@pytest.mark.parametrize("style", STYLES)
def test_verify_knows_every_quotation_style(demo, style):
    _, m, _ = demo
    sid = next(s for t in m.themes for s in t.representative if len(m.segments[s]["text"].split()) >= 4)
    real = m.segments[sid]["text"].strip().rstrip(".")
    verify(Draft("t", [Paragraph.of("x", [Sentence("En deltagare skriver: " + style.format(q=real), [sid])])]), m)
    invented = Draft("t", [Paragraph.of("x", [Sentence("En deltagare skriver: " + style.format(
        q="Jag fick ett eget kontor med havsutsikt"), [sid])])])
    with pytest.raises(DraftError, match="citat 1, finns inte ordagrant"):
        verify(invented, m)


def test_a_sentence_citing_another_themes_segments_is_refused(demo):
    _, m, draft = demo
    s = next(s for p in draft.paragraphs if p.kind == "theme" for s in p.sentences if len(s.claims) == 1)
    other = next(t for t in m.themes if t.id not in s.claims and t.tone == "wish")
    verify(Draft("t", [Paragraph.of("x", [s])]), m)
    with pytest.raises(DraftError, match="hänvisar inte till något segment i det temat"):
        verify(Draft("t", [Paragraph.of("x", [Sentence(s.text, other.segment_ids[:2], s.claims)])]), m)


def test_paraphrase_check_catches_a_sentence_its_sources_do_not_carry(demo):
    """Planted failures: each concept sentence of the draft, citing the segments of a theme about
    something else, must be refused; citing its own segments it passes."""
    study, m, draft = demo
    check = support_check(study.store, study.config, m)
    by_concept = {t.concept: t for t in m.themes if t.concept}
    pairs = [("ekonomi", "gemenskap"), ("gemenskap", "ekonomi"), ("struktur", "lokaler"),
             ("lokaler", "struktur"), ("studier", "personalbyten"), ("jobb_efter", "vantetid")]
    def about(theme):
        """Three participants' segments of the theme that speak about its concept."""
        ids = next(c.segment_ids for c in theme.concepts if c.concept == theme.concept)
        return list({m.segments[i]["respondent"]: i for i in reversed(ids)}.values())[-3:]

    pairs = [(a, b) for a, b in pairs if a in by_concept and b in by_concept]
    assert len(pairs) >= 2
    for mine, other in pairs:
        t, o = by_concept[mine], by_concept[other]
        text = f"Flera beskriver att de {t.narrative}."
        assert check(text, about(t), 1), text
        assert not check(text, about(o), 1), (text, o.label)
        draft_bad = Draft("t", [Paragraph.of("x", [Sentence(text, about(o), [o.id])])])
        with pytest.raises(DraftError, match="säger något som de segment den hänvisar till inte säger|nämner temat"):
            verify(draft_bad, m, check)
    # the draft's own sentences pass it (the deterministic drafter is not held to it by
    # default: it states only the concept its cited segments were matched to)
    own = [check(s.text, s.segment_ids, len(s.claims)) for p in draft.paragraphs for s in p.sentences if s.claims]
    assert len(own) >= 20 and sum(own) >= 0.9 * len(own)


# -- participants' voice --------------------------------------------------------------------------

ARTICLE = """# Nytt stöd för unga i kommunen

Kommunalrådet säger att satsningen är viktig för hela regionen.

- "Vi ser att samverkan mellan myndigheterna ger resultat och att fler kommer i arbete."
- "Budgeten för nästa år är säkrad och vi vill bygga ut verksamheten."
- "Det här är en satsning vi är stolta över i fullmäktige."

Artikeln skrevs av lokaltidningens reporter efter ett besök i lokalerna.
"""


def test_only_participants_are_counted_and_quoted(tmp_path):
    rows = pd.read_excel(DEMO / "enkatsvar_2025.xlsx").head(40)
    survey = tmp_path / "enkat.csv"
    rows.to_csv(survey, index=False)
    article = tmp_path / "artikel.md"
    article.write_text(ARTICLE, encoding="utf-8")
    with Study(tmp_path / "s") as study:
        study.ingest(survey, article)
        study.themes()
        draft = study.draft()
        m = load_material(study.store, study.config)
        info = study.info()
    expected = rows.iloc[:, 0].nunique()
    assert m.respondents == expected
    assert draft.paragraphs[0].text.startswith(f"Sammanställningen bygger på fritextsvar från {expected} deltagare")
    others = {sid for sid, seg in m.segments.items() if not seg["voice"]}
    assert any("Budgeten" in m.segments[s]["text"] for s in others)
    for p in draft.paragraphs:
        assert not set(p.segment_ids) & others, p.text
        assert "Budgeten" not in p.text and "fullmäktige" not in p.text
    voice = {(r["source"], r["participant_voice"]) for r in info["voice"]["by_source"]}
    assert ("enkat.csv", True) in voice and ("artikel.md", False) in voice
    assert all(r["why"] for r in info["voice"]["by_source"])
    # study.toml can say otherwise: the survey file is declared not participant voice
    (tmp_path / "s" / "study.toml").write_text(
        (tmp_path / "s" / "study.toml").read_text(encoding="utf-8").replace(
            "other_sources = []", 'other_sources = ["enkat*.csv"]'), encoding="utf-8")
    with Study(tmp_path / "s") as study:
        study.themes()
        with pytest.raises(DraftError, match="Inga teman med deltagarnas egna ord"):
            study.draft()


# -- seed 001: the human-written section as the yardstick ----------------------------------------

def test_seed_001_draft_names_the_themes_of_the_human_section(tmp_path, seeds):
    coding = yaml.safe_load((CODING / "seed001.yaml").read_text(encoding="utf-8"))
    lexicon = {c.id: c for c in concepts.load()}
    with Study(tmp_path / "s") as study:
        study.ingest(SEED_001)
        result = study.themes()
        draft = study.draft()
    assert result.respondents >= 30
    prose = [_prose(p.text).lower() for p in draft.paragraphs]
    text = " ".join(prose)
    named = [name for name, ids in coding["section_themes"].items()
             if any(lexicon[i].narrative.lower() in text or lexicon[i].label.lower() in text for i in ids)]
    # 10 of 10 while a concept could name a theme without evidence; with cue words in the right
    # sense as the only evidence (segment_floor = 1.0; embedding similarity alone was right for
    # 15 % of its tags on real participants' answers, tests/benchmarks/bench_truth.py) the
    # draft names fewer, but truly
    assert len(named) >= 4, sorted(set(coding["section_themes"]) - set(named))
    assert sum(len(p.split()) >= 25 for p in prose) >= 4
    assert draft.paragraphs[0].text.startswith("Sammanställningen bygger på fritextsvar från 30 deltagare")
    for t in result.themes:
        assert "…" not in t.label and not any(org in t.label for org in TEAMS_AND_ORGS), t.label


def test_cue_words_are_found_as_a_search_per_text_finds_them():
    """ConceptTagger.cue_matrix tries each cue pattern only where its literal start occurs;
    it must find exactly what searching every text with every pattern finds — on the demo
    answers and on texts made to trip it (case, text starts and ends, a newline inside a text,
    a letter whose lowercase form is longer, an optional letter in the cue, a word inside a word)."""
    import numpy as np
    from openpyxl import load_workbook
    rows = list(load_workbook(DEMO / "enkatsvar_2025.xlsx", read_only=True).worksheets[0].iter_rows(values_only=True))
    texts = [c for r in rows[1:] for c in r if isinstance(c, str)]
    texts += ["RUTINER och Schema", "ensam\nvänner", "xrutin", "İstanbul, rutiner", "förstående", "förstånde",
              "rutin", "", "vågar prata", "vågat möta andra i samma situation", "strukturerad"]
    tagger = concepts.ConceptTagger()
    tagger.concepts_ = concepts.load()
    tagger.cues_ = [re.compile(r"(?i)\b(?:" + "|".join(c.cues) + ")") if c.cues else None for c in tagger.concepts_]
    fast = tagger.cue_matrix(texts)
    slow = np.array([[rx is not None and rx.search(t.replace("\n", " ")) is not None for rx in tagger.cues_]
                     for t in texts])
    assert fast.sum() > 200 and np.array_equal(fast, slow)
    assert concepts._literal_start("våga(t|r)? prata") == "våga" and concepts._literal_start("förståe?nde") == "förstå"
    assert concepts._literal_start("(samma|liknande) sits") == ""
