"""Interview segments are whole (issue 20): a sentence split by a page or column break of the
source is joined again; headings, org-chart labels and captions are no segments; a placeholder
stays with its own sentence. Invented text."""
from __future__ import annotations

from pipeline.questions import in_context
from pipeline.segment import Segmenter

TEXT = """Hon ser att det har gått bra. Det finns en röd tråd där deltagarna kan gå vidare till

Arbetscenter och prova andra uppgifter.

### Organisationen

DELTAGARE

Extern praktik

Café och lokalvård

Personalen har lärt sig mycket, och de tycker att det är

bra verksamhet. [NAMN 3] håller med.

- Fler gruppträffar
"""


def _segments(kind: str) -> list[str]:
    seg = Segmenter()
    return [" ".join(TEXT[s:e].split()) for s, e in seg.split(kind, TEXT)]


def test_page_breaks_joined_and_labels_dropped_in_interviews():
    assert _segments("interview") == [
        "Hon ser att det har gått bra. Det finns en röd tråd där deltagarna kan gå vidare till "
        "Arbetscenter och prova andra uppgifter.",
        "Personalen har lärt sig mycket, och de tycker att det är bra verksamhet. [NAMN 3] håller med.",
        "- Fler gruppträffar"]


def test_other_kinds_keep_their_paragraphs():
    assert "DELTAGARE" in _segments("section")


def test_placeholder_starts_its_sentence():
    text = "Det var bra. [NAMN 17] var inte anställd då. (Hon kom senare.)"
    assert [text[s:e] for s, e in Segmenter().sentences(text)] == [
        "Det var bra.", "[NAMN 17] var inte anställd då.", "(Hon kom senare.)"]


def test_a_short_question_that_refers_back_is_read_with_the_one_before():
    qs = ["Hur har processen med att bilda de nya teamen gått till?", "Vilka har deltagit i processen?",
          "Finns tankar på förändringar?"]
    read = in_context(qs)
    assert read[1] == f"{qs[0]} {qs[1]}"
    assert read[0] == qs[0] and read[2] == qs[2]
