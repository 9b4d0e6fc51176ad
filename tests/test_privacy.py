"""Pseudonymisation before storage, the review list, the key file, the export gate, deleting a
study, no network and no participant text in logs."""
from __future__ import annotations

import json
import logging
import os
import re
import stat

import pytest

from conftest import DEMO, OWN_INTERVIEWS, OWN_QUOTES, SEEDS, SHARED, shared
from pipeline import Study, cli
from privacy_eval import GOLD, evaluate

GOLD_FILES = [SEEDS / n for n in GOLD if n.endswith(".txt")] + [DEMO / n for n in GOLD if not n.endswith(".txt") and not n.startswith("_")]


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.name)
def test_person_names_are_replaced(study, path):
    """Hand-listed name mentions: at least 95% replaced; at most 2% of organisation and place
    mentions replaced; no other word replaced as a name."""
    if SHARED in path.parents:
        shared(path)                 # a seed: skipped without ../shared (CI=true: fails)
    r = evaluate(study, path)
    assert r["recall"] >= 0.95, r["missed"]
    assert r["keep_replaced"] <= 0.02 * r["keep_mentions"]
    assert len(r["fp_tokens"]) <= 1, r["fp_tokens"]


SYNTHETIC = (
    "Mitt personnummer är 19811218-9876 och min sambos samordningsnummer 701063-2391. "
    "Fel kontrollsiffra: 19811218-9870. Ring 070-412 88 31, +46 70 123 45 67, 021-12 34 56 eller 0701234567. "
    "Mejla mig på kalle.anka@exempel.se. Jag bor på Storgatan 12, 722 15 Västerås, och har bott på Björkvägen 3B.\n\n"
    "Jag träffade kurator Simon och handläggaren Lena på Försäkringskassan i Sala. Coachen Mohammed Al-Rashid "
    "och Anna-Karin från Arbetsförmedlingen hjälpte mig. Inga problem med Region Västmanland. Per vecka "
    "ses vi två gånger på Jobbcentrum i Norberg. Klara besked kom i maj."
)


def test_structured_identifiers_and_names_in_text(study, tmp_path):
    path = tmp_path / "svar.txt"
    path.write_text(SYNTHETIC, encoding="utf-8")
    assert study.ingest(path).ok
    text = "\n\n".join(d["text"] for d in study.store.documents())
    for secret in ("19811218-9876", "701063-2391", "070-412 88 31", "+46 70 123 45 67", "021-12 34 56",
                   "0701234567", "kalle.anka", "Storgatan 12", "722 15", "Björkvägen", "Simon", "Lena",
                   "Mohammed", "Al-Rashid", "Anna-Karin"):
        assert secret not in text, secret
    for placeholder in ("[PERSONNUMMER 1]", "[SAMORDNINGSNUMMER 1]", "[TELEFON 4]", "[E-POST 1]", "[ADRESS 1]", "[NAMN 1]"):
        assert placeholder in text, placeholder
    # kept: a number with a wrong checksum, organisations, places, common words at sentence start
    for kept in ("19811218-9870", "Försäkringskassan", "Sala", "Arbetsförmedlingen", "Inga problem",
                 "Region Västmanland", "Per vecka", "Jobbcentrum i Norberg", "Klara besked"):
        assert kept in text, kept



# Invented names in the shapes real pages have (issue 21): bylines and credits in any case, a
# quoted nickname, a foreign name at a sentence start, a short inner part of a long name; and
# words in the same places that are no names.
SHAPES = (
    "Text: Jannike Ödmarkstrand\n\nFotograf: Elin R\n\n"
    "Hjälpen kom från grannen, berättar Margit ”Mojje” Tallkvist när vi ses. Mojje, som är miljöchef, "
    "ler.\n\nZahra Olwenni är medicinskt ansvarig läkare på vårdcentralen. Där jobbar också hans fru "
    "Thi Hu Lan Vo. Hon har arbetat där länge.\n\nText och bilder: SIGNE HALLSTRÖM\n\n"
    "Foto: Colourbox Montage\n\nText: Projektet Ödmark\n\nYalla Trappan är ett socialt företag med kockar. "
    "Rapporten ”Vägen” Framåt kom i maj. Vi träffade Anna Och Per på mötet."
)


def test_names_in_credits_nicknames_and_runs(study, tmp_path):
    path = tmp_path / "sidor.txt"
    path.write_text(SHAPES, encoding="utf-8")
    assert study.ingest(path).ok
    text = "\n".join(d["text"] for d in study.store.documents())
    for secret in ("Jannike", "Ödmarkstrand", "Elin", "Margit", "Mojje", "Tallkvist", "Zahra", "Olwenni",
                   "Thi", "Hu ", "Lan", "Vo.", "SIGNE", "HALLSTRÖM"):
        assert secret not in text, secret
    nick = re.search(r"berättar (\[NAMN \d+\]) när vi ses\. (\[NAMN \d+\]), som", text)
    assert nick and nick.group(1) == nick.group(2)             # one person, one placeholder
    assert re.search(r"hans fru \[NAMN \d+\]\. Hon", text)       # the whole long name, once
    for kept in ("Colourbox Montage", "Projektet Ödmark", "Yalla Trappan", "”Vägen” Framåt", " Och "):
        assert kept in text, kept


# Every person name in our own material (tests/fixtures/own), by hand; and what must stay.
OWN_NAMES = ("Karin", "Lundgren", "Mats", "Holmberg", "Annika", "Sjöberg", "Lena", "Forsberg", "Jonas", "Ekman",
             "Helena", "Bergqvist", "Ola", "Nyberg", "Eva", "Lindholm")
OWN_KEPT = ("Arboga", "Kungsör", "Försäkringskassan", "Arbetsförmedlingen", "Region Västmanland", "Vuxenpsykiatri",
            "VKS", "Teamets lokaler", "Kommunen", "Samordningsteamet VKS")


def test_names_in_own_material_are_replaced(study):
    """Names in interview headings, in the interview text after them, and in quotes of another
    file: all replaced, the same person with the same placeholder; places and organisations kept."""
    assert study.ingest(OWN_INTERVIEWS, OWN_QUOTES).ok
    docs = study.store.documents()
    stored = "\n".join(t for d in docs for t in (d["title"], d["text"]) if t)
    originals = OWN_INTERVIEWS.read_text(encoding="utf-8") + OWN_QUOTES.read_text(encoding="utf-8")
    for name in OWN_NAMES:
        assert re.search(rf"\b{name}\b", originals), name                    # the list is true to the files
        assert not re.search(rf"\b{name}s?\b", stored), name
    for kept in OWN_KEPT:
        assert kept in stored, kept
    assert "Region [NAMN" not in stored and "[NAMN" in stored
    # the heading names the person, the quote list (another file) only her first name
    heading = next(d for d in docs if d["kind"] == "interview" and "verksamhetsledare" in d["title"])
    karin = re.match(r"Intervju med (\[NAMN \d+\])", heading["title"]).group(1)
    assert heading["text"].startswith(f"{karin} började")
    assert any(d["text"] == f"{karin} har varit ett fantastiskt stöd hela vägen." for d in docs)
    raw = b"".join(p.read_bytes() for p in study.dir.glob("store.sqlite*"))
    for name in OWN_NAMES:
        assert name.encode() not in raw, name


def test_placeholders_are_stable_across_files_and_runs(study, tmp_path):
    a = tmp_path / "a.md"
    a.write_text("- ”Min coach Lena Berglund har hjälpt mig mycket.”\n- ”Tack till Omar Haddad.”\n", encoding="utf-8")
    b = tmp_path / "b.md"
    b.write_text("- ”Lena lyssnade alltid.”\n- ”Berglunds grupp var bäst, och Omar var också bra.”\n", encoding="utf-8")
    c = tmp_path / "c.md"
    c.write_text("- ”Lena Berglund igen, och Lena.”\n- ”Omar ringde.”\n", encoding="utf-8")
    study.ingest(a)
    study.ingest(b)                    # a later run: only digests connect them
    study.ingest(c)
    texts = [d["text"] for d in study.store.documents()]
    # a full name keeps its placeholder; a lone first name or surname in another document is
    # not assumed to be that person (one of its own, the same in every file and run), unless
    # the document names the person too (issue 21: one person, one placeholder, never two)
    assert texts == ["Min coach [NAMN 1] har hjälpt mig mycket.", "Tack till [NAMN 2].",
                     "[NAMN 3] lyssnade alltid.", "[NAMN 4]s grupp var bäst, och [NAMN 5] var också bra.",
                     "[NAMN 1] igen, och [NAMN 1].", "[NAMN 5] ringde."]
    # the store holds no name, only keyed digests; the salt file is owner-only
    raw = (study.dir / "store.sqlite").read_bytes()
    for name in (b"Lena", b"Berglund", b"Omar", b"Haddad"):
        assert name not in raw
    assert stat.S_IMODE(os.stat(study.dir / ".pseudonym-salt").st_mode) == 0o600


def test_demo_store_holds_no_personal_data(tmp_path):
    with Study(tmp_path / "demo") as study:
        assert study.ingest(DEMO).ok
    study.store.conn.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "demo").glob("store.sqlite*"))
    for secret in ("Lena Berglund", "Berglund", "070-412 88 31", "0734-55 21 09", "Nyström", "Lindqvist", "Johan Ek"):
        assert secret.encode() not in raw, secret


def test_key_file_only_when_asked_outside_the_study_owner_only(capsys, tmp_path):
    study_dir = tmp_path / "studie"
    assert cli.main(["ingest", str(DEMO / "intervjuer_norrvik.docx"), "--study", str(study_dir)]) == 0
    assert not any(p.suffix == ".json" for p in study_dir.rglob("*"))
    key = tmp_path / "hemligt" / "nyckel.json"
    key.parent.mkdir()
    assert cli.main(["ingest", str(DEMO / "enkatsvar_2025.xlsx"), "--study", str(study_dir), "--keep-key", str(key)]) == 0
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    mapping = json.loads(key.read_text(encoding="utf-8"))
    assert any("Lena Berglund" in originals for originals in mapping.values())
    assert any(p.startswith("[TELEFON") for p in mapping)
    capsys.readouterr()
    inside = study_dir / "nyckel.json"
    code = cli.main(["ingest", str(DEMO / "intervju_forsakringskassan.docx"), "--study", str(study_dir),
                     "--keep-key", str(inside)])
    assert code == 2 and "får inte ligga i studiemappen" in capsys.readouterr().err
    assert not inside.exists()


def test_export_gate_refuses_identifying_text(capsys, tmp_path):
    study_dir = tmp_path / "publik"
    study_dir.mkdir()
    (study_dir / "study.toml").write_text("[privacy]\nenabled = false\n", encoding="utf-8")
    src = tmp_path / "svar.md"
    src.write_text("- ”Handläggaren Karin Ekström var toppen.”\n- ”Ring mig på 070-412 88 31.”\n- ”Bra stöd.”\n",
                   encoding="utf-8")
    assert cli.main(["ingest", str(src), "--study", str(study_dir)]) == 0
    capsys.readouterr()
    assert cli.main(["segments", "--study", str(study_dir)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "stoppades" in err and "(NAMN)" in err and "(TELEFON)" in err
    assert "Ekström" not in err and "070" not in err          # ids only, never the text
    assert cli.main(["segments", "--study", str(study_dir), "--allow-identifying"]) == 0
    assert "Karin Ekström" in capsys.readouterr().out
    # checking an export made no salt file: privacy is off, nothing was ever pseudonymised
    assert not (study_dir / ".pseudonym-salt").exists()


def test_export_gate_reads_the_salt_and_makes_none(tmp_path):
    """The gate only reads: with a salt file it uses the study's digests (a name learnt at
    ingest is still found when it turns up alone), without one it makes none."""
    src = tmp_path / "svar.md"
    src.write_text("- ”Handläggaren Karin Ekström var toppen.”\n", encoding="utf-8")
    with Study(tmp_path / "s") as study:
        study.ingest(src)
        salt = (study.dir / ".pseudonym-salt").read_bytes()
        from pipeline import gate
        findings = gate.scan(study.store, study.config, [("x", "Ekström ringde i går.")])
        assert [f.kind for f in findings] == ["NAMN"]
        assert (study.dir / ".pseudonym-salt").read_bytes() == salt
        (study.dir / ".pseudonym-salt").unlink()
        assert [f.kind for f in gate.scan(study.store, study.config, [("x", "Karin Ekström ringde.")])] == ["NAMN"]
        assert not (study.dir / ".pseudonym-salt").exists()


def test_review_list_and_deny_list_round_trip(tmp_path):
    src = tmp_path / "svar.md"
    src.write_text("- ”Jag fick hjälp av Zorbaxa och det var bra.”\n- ”Teamet i Surahammar var bra.”\n", encoding="utf-8")
    with Study(tmp_path / "s") as study:
        study.ingest(src)
        review = study.info()["privacy"]
        unknown = {k["word"] for k in review["kept_unknown"]}
        assert "Zorbaxa" in unknown                        # not a known name: shown for a human to check
        assert "Surahammar" in {k["word"] for k in review["kept_known"]}
    toml = tmp_path / "s" / "study.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("deny = []", 'deny = ["Zorbaxa"]'), encoding="utf-8")
    with Study(tmp_path / "s") as study:
        result = study.ingest(src)                         # settings changed: the file is read again
        assert result.files[0].status == "replaced"
        assert [d["text"] for d in study.store.documents()][0] == "Jag fick hjälp av [NAMN 1] och det var bra."
        review = study.info()["privacy"]
        assert review["replaced"]["NAMN"] == {"items": 1, "mentions": 1}
        assert review["placeholders"][0]["context"].startswith("Jag fick hjälp av [NAMN 1]")


def test_info_shows_review(capsys, tmp_path):
    study_dir = tmp_path / "demo"
    assert cli.main(["ingest", str(DEMO), "--study", str(study_dir)]) == 0
    capsys.readouterr()
    assert cli.main(["info", "--study", str(study_dir)]) == 0
    out = capsys.readouterr().out
    assert "Granskning av pseudonymiseringen:" in out
    assert "[TELEFON 1]" in out and "Behållna ord som kan vara namn" in out
    with Study(study_dir) as study:
        unknown = study.info()["privacy"]["kept_unknown"]
    scores = [k["score"] for k in unknown]
    assert scores == sorted(scores, reverse=True)              # most likely a name first
    assert all(k["context"] and k["segment_id"] for k in unknown)
    assert cli.main(["info", "--study", str(study_dir), "--review-all"]) == 0
    every = capsys.readouterr().out
    assert all(f"{k['word']} ×{k['count']}" in every for k in unknown)   # the whole list is reachable
    if len(unknown) > 40:
        assert "--review-all" in out


def test_full_run_opens_no_socket_and_logs_no_text(no_network, caplog, capsys, tmp_path):
    caplog.set_level(logging.DEBUG)
    bad = tmp_path / "trasig.docx"
    bad.write_bytes(b"not a docx")
    code = cli.main(["run", str(DEMO), str(OWN_INTERVIEWS), str(bad),
                     "--study", str(tmp_path / "s")])
    assert code == 1
    assert no_network == []                                # nothing even tried
    logged = caplog.text
    assert "trasig.docx" in logged
    with Study(tmp_path / "s") as study:
        texts = [d["text"] for d in study.store.documents()]
        details = " ".join(r["details"] for r in study.store.conn.execute("SELECT details FROM runs"))
    for text in texts:
        for fragment in (text[:30], text[-30:]):
            if len(fragment) >= 20:
                assert fragment not in logged and fragment not in details


def test_delete_study(capsys, tmp_path):
    study_dir = tmp_path / "studie"
    assert cli.main(["ingest", str(DEMO / "intervjuer_norrvik.docx"), "--study", str(study_dir)]) == 0
    (study_dir / "out").mkdir()
    (study_dir / "out" / "narrativ.md").write_text("x", encoding="utf-8")
    (study_dir / "mina_anteckningar.txt").write_text("egen fil", encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["delete", "--study", str(study_dir)]) == 2    # no confirmation, no terminal
    assert (study_dir / "store.sqlite").exists()
    assert cli.main(["delete", "--study", str(study_dir), "--yes"]) == 0
    assert sorted(p.name for p in study_dir.iterdir()) == ["mina_anteckningar.txt"]
    (study_dir / "mina_anteckningar.txt").unlink()
    assert cli.main(["ingest", str(DEMO / "intervjuer_norrvik.docx"), "--study", str(study_dir)]) == 0
    assert cli.main(["delete", "--study", str(study_dir), "--yes"]) == 0
    assert not study_dir.exists()
