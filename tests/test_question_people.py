"""One person, one placeholder, in an interview report where several people share a first name
(issue 20): a lone first name is the interviewee's, or the person named nearest before it, or
a placeholder of its own — never another person's. Invented names and text."""
from __future__ import annotations

import json
import re

from pipeline import Study

REPORT = """# Uppföljning av teamen

## **INTERVJUER I ARBOGA KOMMUN**

### **Intervju med Maja Lindqvist, verksamhetsledare i samordningsteamet Arboga 2024-04-02**

Maja började som verksamhetsledare när teamet startade. Hon ser att integreringen har gått bra.

Personalen har gått en utbildning med föreläsning av Maja Strand. Maja Strand talade om bemötande
och Maja pratade länge om lösningsfokus.

Efter utbildningen tycker Maja att gruppen fungerar bättre.

### **Intervju med Maja Ekholm, socialchef i Arboga 2024-04-03**

Maja var med i diskussionerna om delningen av teamet. Hon tycker att Maja Lindqvist har gjort ett
bra arbete med teamet.

### **Intervju med kvinnlig deltagare nr 1 i Arboga 2024-04-10**

Kvinnan har varit med i ett halvår. Hon tycker om gruppen och Maja på caféet är alltid snäll.
"""


def test_lone_first_names_go_to_the_right_person(tmp_path):
    src = tmp_path / "rapport.md"
    src.write_text(REPORT, encoding="utf-8")
    key = tmp_path / "nyckel.json"
    with Study(tmp_path / "studie") as study:
        study.ingest(src, key_file=key)
        docs = {d["locator"]: (d["text"], json.loads(d["offset_map"] or "[]"), d["src_start"])
                for d in study.store.documents(["interview"])}
    original = REPORT
    # every placeholder -> the originals it replaced, per interview
    seen: dict[str, dict[str, set]] = {}
    for loc, (text, omap, start) in docs.items():
        for ns, ne, os_, oe in omap:
            seen.setdefault(loc, {}).setdefault(text[ns:ne].rstrip("s"), set()).add(original[start + os_:start + oe])
    lindqvist, ekholm, deltagare = sorted(docs, key=lambda loc: int(re.sub(r"\D", "", loc)))
    placeholders = json.loads(key.read_text(encoding="utf-8"))
    person = {}
    for p, names in placeholders.items():
        for n in names:
            if len(n.split()) > 1:
                person[n] = p
    lin, ekh, strand = person["Maja Lindqvist"], person["Maja Ekholm"], person["Maja Strand"]
    assert len({lin, ekh, strand}) == 3                       # three people, three placeholders
    # in Lindqvist's interview: "Maja" is her, except right after the lecturer is named
    text_l = docs[lindqvist][0]
    assert text_l.startswith(f"{lin} började som verksamhetsledare")
    assert f"{strand} talade om bemötande\noch {strand} pratade länge" in text_l
    assert f"Efter utbildningen tycker {lin} att" in text_l    # a new paragraph: the interviewee again
    # in Ekholm's interview: "Maja" is Ekholm; the full name of the other Maja stays hers
    text_e = docs[ekholm][0]
    assert text_e.startswith(f"{ekh} var med i diskussionerna")
    assert f"tycker att {lin} har gjort" in text_e
    # a participant's "Maja på caféet" is none of them: a placeholder of her own
    text_d = docs[deltagare][0]
    cafe = re.search(r"och (\[NAMN \d+\]) på caféet", text_d).group(1)
    assert cafe not in (lin, ekh, strand)
    # no placeholder stands for two different full names
    for p, names in placeholders.items():
        assert len({n for n in names if len(n.split()) > 1}) <= 1, p
