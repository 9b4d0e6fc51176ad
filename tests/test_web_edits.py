"""Every edit a person makes on the page (written to codebook.yaml by pipeline.web.edits, as a
hand edit would be) survives every later action — a plain recompute, each other kind of edit,
new files, a privacy change — until the person changes it (issue 18, item 1). Real demo study,
real store, real embeddings (cached), through the Study API the page's jobs use."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from pipeline import Study
from pipeline import codebook as cb
from pipeline.web import edits

NEW_FILE = """Samordningsteam Ekbacka

- ”Jag fick hjälp att hitta en praktikplats som passade mig och nu har jag ett jobb.”
- ”Personalen lyssnade alltid och tog mig på allvar när jag mådde dåligt.”
- ”Gruppträffarna gav mig struktur i veckan och en anledning att gå upp.”
- ”Det var skönt att ha en kontaktperson som ringde tillbaka.”
"""


def _themes(study: Path) -> dict[str, dict]:
    with Study(study, create=False) as s:
        return {t["id"]: t for t in s.store.themes()}


def _book(study: Path) -> dict[str, dict]:
    raw = yaml.safe_load((study / cb.CODEBOOK_FILE).read_text(encoding="utf-8"))
    return {t["id"]: t for t in raw["themes"]}


def _recompute(study: Path) -> None:
    with Study(study, create=False) as s:
        s.themes()


class Expectations:
    """What each edit made, checked after every later action."""

    def __init__(self, study: Path):
        self.study = study
        self.renamed: dict[str, str] = {}                    # theme -> label
        self.merged: dict[str, tuple[str, set[str]]] = {}    # theme merged away -> (target, its segments)
        self.split: dict[str, dict[str, set[str]]] = {}      # original -> {part: its segments}
        self.excluded: dict[str, set[str]] = {}              # theme -> its segments
        self.moved: dict[str, str] = {}                      # segment -> theme
        self.pinned: dict[str, str] = {}                     # theme -> segment shown first
        self.moved_from: set[str] = set()                    # themes a segment was moved out of
        self.merged_label: dict[str, str] = {}               # merge target -> the name it was chosen by

    def used(self) -> set[str]:
        ids = set(self.renamed) | set(self.excluded) | set(self.pinned) | set(self.moved.values())
        for t, (target, _) in self.merged.items():
            ids |= {t, target}
        for t, parts in self.split.items():
            ids |= {t, *parts}
        return ids

    def apply(self, kind: str) -> None:
        """One edit of `kind` on themes no earlier edit touched, as the page makes it."""
        themes = _themes(self.study)
        free = sorted((t for t in themes.values() if t["id"] not in self.used()
                       and t["id"] not in self.moved_from), key=lambda t: (-t["size"], t["id"]))
        assert len(free) >= 2, f"too few themes left for {kind}"
        a, b = free[0], free[1]
        if kind == "rename":
            label = f"Vårt eget namn nr {len(self.renamed) + 1}"
            edits.edit_theme(self.study, "rename", a["id"], label)
            self.renamed[a["id"]] = label
        elif kind == "merge":
            edits.edit_theme(self.study, "merge", b["id"], a["id"])
            self.merged[b["id"]] = (a["id"], set(b["segment_ids"]))
            self.merged_label[a["id"]] = a["label"]
        elif kind == "split":
            edits.edit_theme(self.study, "split", a["id"])
            self.split[a["id"]] = {}
        elif kind == "exclude":
            edits.edit_theme(self.study, "exclude", a["id"])
            self.excluded[a["id"]] = set(a["segment_ids"])
        elif kind == "move":
            seg = a["segment_ids"][-1]
            edits.edit_theme(self.study, "move", a["id"], b["id"], seg)
            self.moved[seg] = b["id"]
            self.moved_from.add(a["id"])
        elif kind == "pin":
            seg = a["segment_ids"][-1]
            assert a["representative"][0] != seg
            edits.edit_theme(self.study, "pin", a["id"], "", seg)
            self.pinned[a["id"]] = seg
        else:
            raise AssertionError(kind)

    def settle(self) -> None:
        """After the run that carried out a split: remember its parts and their members."""
        themes = _themes(self.study)
        book = _book(self.study)
        for original, parts in self.split.items():
            if not parts:
                found = {tid: set(themes[tid]["segment_ids"]) for tid, e in book.items()
                         if e.get("split_from") == original and tid in themes}
                assert len(found) == 2, (original, found)
                parts.update(found)

    def check(self, after: str) -> None:
        themes = _themes(self.study)
        book = _book(self.study)
        live = {s: tid for tid, t in themes.items() for s in t["segment_ids"]}
        with Study(self.study, create=False) as s:
            exist = s.store.segment_ids()     # a segment whose text a privacy change altered has a new id
        for tid, label in self.renamed.items():
            assert themes[tid]["label"] == label, (after, "rename", tid)
            assert book[tid]["label"] == label and book[tid].get("auto_label") != label, (after, "rename")
        for tid, (target, members) in self.merged.items():
            assert tid not in themes and tid not in book, (after, "merge", tid)
            assert tid in book[target]["merged_from"], (after, "merge", tid)
            assert members & exist <= set(themes[target]["segment_ids"]), (after, "merge", tid)
            assert themes[target]["label"] == self.merged_label[target], (after, "merge: the target renamed", target)
        for original, parts in self.split.items():
            assert original not in themes and original not in book, (after, "split: the original is back", original)
            for part, members in parts.items():
                assert part in themes, (after, "split: a part is gone", original, part)
                assert book[part].get("split_from") == original, (after, "split: split_from lost", part)
                assert members & exist <= set(themes[part]["segment_ids"]), (after, "split: members left", part)
        for tid, members in self.excluded.items():
            assert tid not in themes and book[tid].get("exclude") is True, (after, "exclude", tid)
            assert not (members & set(live)), (after, "exclude: its segments are back", tid)
        for seg, tid in self.moved.items():
            assert live.get(seg) == tid, (after, "move", seg, tid, live.get(seg))
        for tid, seg in self.pinned.items():
            assert themes[tid]["representative"][0] == seg, (after, "pin", tid)
            assert book[tid]["pinned"][0] == seg, (after, "pin", tid)


KINDS = ("rename", "merge", "split", "exclude", "move", "pin")


def test_every_edit_survives_every_later_action(demo_copy, tmp_path):
    study = demo_copy
    want = Expectations(study)
    for kind in KINDS:                       # one of each, then one run (as after a page edit)
        want.apply(kind)
    _recompute(study)
    want.settle()
    want.check("the run after the edits")

    _recompute(study)
    want.check("a plain recompute")

    for kind in KINDS:                       # each kind of edit again, on other themes, one run each
        want.apply(kind)
        _recompute(study)
        want.settle()
        want.check(f"a later {kind}")

    source = tmp_path / "nya svar.txt"       # new files
    source.write_text(NEW_FILE, encoding="utf-8")
    with Study(study, create=False) as s:
        demo_only = len(s.store.segment_ids())
        s.ingest(source)
        before = len(s.store.segment_ids())
    _recompute(study)
    want.check("new files")
    with Study(study, create=False) as s:
        assert len(s.store.segment_ids()) == before > demo_only

    # a privacy change: a word always treated as a name, every file read again
    edits.privacy_word(study, "Gruppträffarna", "deny")
    with Study(study, create=False) as s:
        s.ingest(*[Path(r["path"]) for r in s.store.sources() if Path(r["path"]).exists()])
    _recompute(study)
    want.check("a privacy change")

    _recompute(study)
    want.check("the last recompute")


def test_a_split_survives_a_later_removal(demo_copy):
    """The walk in issue 18: split the largest theme, recompute, remove another theme on the
    page — both parts stay, split_from stays in codebook.yaml, the original does not come back."""
    study = demo_copy
    big = max(_themes(study).values(), key=lambda t: (t["size"], t["id"]))
    edits.edit_theme(study, "split", big["id"])
    _recompute(study)
    parts = {tid: e for tid, e in _book(study).items() if e.get("split_from") == big["id"]}
    assert len(parts) == 2
    _recompute(study)
    other = next(t for t in _themes(study) if t not in parts)
    edits.edit_theme(study, "exclude", other)
    assert {tid: e.get("split_from") for tid, e in _book(study).items() if tid in parts} == {p: big["id"] for p in parts}
    _recompute(study)
    themes = _themes(study)
    assert set(parts) <= set(themes) and big["id"] not in themes
    assert [themes[p]["size"] for p in parts] == [e["size"] for e in parts.values()]


def test_stale_results_say_so_where_shown_and_downloaded(demo_copy, tmp_path):
    """New files make the themes out of date; a word marked as a name makes the files to
    download out of date: each page says so and offers the step that refreshes it (issue 18,
    item 5); after the steps nothing is marked."""
    import re

    from starlette.testclient import TestClient

    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    token = "tok-stale"
    app = create_app(demo_copy.parent, token)
    web = TestClient(app, base_url="http://127.0.0.1")
    web.get(f"/?token={token}")
    csrf = csrf_token(token)
    name = demo_copy.name

    def stale(step):
        page = web.get(f"/studie/{name}/{step}").text
        m = re.search(r'<section class="msg warn stale" id="stale".*?</section>', page, re.S)
        return (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(0))).strip() if m else ""), page

    def wait():
        app.state.runner.wait(demo_copy)
        assert web.get(f"/studie/{name}/jobb").json()["status"] == "ok"

    with Study(demo_copy, create=False) as s:
        assert s.freshness() == {"themes": None, "draft": None, "exports": None}
    for step in ("filer", "inlast", "teman", "utkast", "ladda-ner"):
        assert stale(step)[0] == "", step
    # new files: themes, draft and downloads are out of date
    r = web.post(f"/studie/{name}/filer", data={"csrf": csrf}, files=[("filer", ("nya svar.txt", NEW_FILE.encode()))])
    assert r.status_code == 200
    wait()
    for step in ("filer", "teman", "utkast", "ladda-ner"):
        text, page = stale(step)
        assert "nya svar.txt lästes in" in text and "Beräkna teman igen" in text, step
    assert "inaktuell" in stale("ladda-ner")[1]
    web.post(f"/studie/{name}/teman/kor", data={"csrf": csrf})
    wait()
    assert stale("teman")[0] == ""
    text, _ = stale("utkast")
    assert "Teman har ändrats sedan utkastet skrevs" in text and "Skriv utkastet och filerna igen" in text
    web.post(f"/studie/{name}/utkast/kor", data={"csrf": csrf})
    wait()
    for step in ("teman", "utkast", "ladda-ner"):
        assert stale(step)[0] == "", step
    assert "inaktuell" not in stale("ladda-ner")[1]
    # a word marked as a name on step 2: its answers change, so themes and downloads are out of date
    web.post(f"/studie/{name}/integritet", data={"csrf": csrf, "word": "Handläggaren", "list": "deny"})
    wait()
    text, page = stale("ladda-ner")
    assert "texterna ändrades" in text and "Beräkna teman igen" in text and "inaktuell" in page
    web.post(f"/studie/{name}/teman/kor", data={"csrf": csrf})
    wait()
    web.post(f"/studie/{name}/utkast/kor", data={"csrf": csrf})
    wait()
    assert stale("ladda-ner")[0] == ""
    # a privacy change on a word in text that is not themed (a report section is listed in the
    # xlsx): the downloads are out of date even though the themes are not
    with Study(demo_copy, create=False) as s:
        s.store.set_meta("export_input", s.store.get_meta("export_input").replace('"segments": "', '"segments": "x'))
    text, page = stale("ladda-ner")
    assert "Texterna har ändrats sedan filerna skapades" in text and "inaktuell" in page
    assert "Skriv utkastet och filerna igen" in text


def _page_client(study: Path, token: str = "tok-undo"):
    from starlette.testclient import TestClient

    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    app = create_app(study.parent, token)
    web = TestClient(app, base_url="http://127.0.0.1")
    web.get(f"/?token={token}")
    web.csrf = csrf_token(token)
    web.name = study.name

    def wait():
        app.state.runner.wait(study)
        status = web.get(f"/studie/{study.name}/jobb").json()
        assert status["status"] == "ok", status
    web.wait = wait
    return web


def _state(study: Path):
    themes = _themes(study)
    return {tid: (t["label"], frozenset(t["segment_ids"]), tuple(t["representative"][:1])) for tid, t in themes.items()}


def test_every_edit_on_the_page_can_be_undone(demo_copy):
    """Ångra after each kind of edit gives back the themes as they were — the same ids, labels,
    members and first quote — and codebook.yaml as it was (issue 18, item 4)."""
    study = demo_copy
    _recompute(study)                      # the state a recompute keeps (the first run had no earlier one)
    web = _page_client(study)
    themes = sorted(_themes(study).values(), key=lambda t: (-t["size"], t["id"]))
    a, b = themes[1], themes[2]
    edits_ = [
        {"action": "rename", "theme": a["id"], "value": "Ett namn vi ångrar"},
        {"action": "merge", "theme": b["id"], "target": a["label"]},
        {"action": "split", "theme": a["id"]},
        {"action": "exclude", "theme": b["id"]},
        {"action": "move", "theme": a["id"], "segment": a["segment_ids"][-1], "target": b["label"]},
        {"action": "pin", "theme": a["id"], "segment": a["segment_ids"][-1]},
    ]
    for edit in edits_:
        before, book = _state(study), (study / cb.CODEBOOK_FILE).read_text(encoding="utf-8")
        r = web.post(f"/studie/{web.name}/teman/andra", data={"csrf": web.csrf, **edit})
        assert r.status_code == 200, (edit, r.text[:500])
        web.wait()
        assert _state(study) != before, edit
        page = web.get(f"/studie/{web.name}/teman").text
        assert 'id="undo"' in page and "Ångra" in page
        r = web.post(f"/studie/{web.name}/angra", data={"csrf": web.csrf, "from": "teman", "theme": edit["theme"]})
        assert r.status_code == 200 and "Ångrat:" in r.text
        assert str(r.url).endswith(f"/teman/{edit['theme']}"), (edit, str(r.url))    # back on the theme's page
        web.wait()
        assert _state(study) == before, edit
        assert (study / cb.CODEBOOK_FILE).read_text(encoding="utf-8") == book, edit


def test_privacy_marks_can_be_undone_and_common_words_are_not_listed(demo_copy):
    from pipeline import config
    study = demo_copy
    web = _page_client(study, "tok-priv")
    page = web.get(f"/studie/{web.name}/inlast").text
    listed = re.findall(r'<td class="word">([^<]+)</td>', page.split('id="kept-words"')[1].split("</table>")[0])
    assert listed and not {"Jag", "Det", "De", "Nu", "Tack"} & set(listed)
    assert "visas inte i listan" in page
    with Study(study, create=False) as s:
        texts = {g["id"]: g["text"] for g in s.store.segments()}
    word = "Handläggaren"
    assert any(word in t for t in texts.values())
    web.post(f"/studie/{web.name}/integritet", data={"csrf": web.csrf, "word": word, "list": "deny"})
    web.wait()
    assert config.load(study)["privacy"]["deny"] == [word]
    with Study(study, create=False) as s:
        assert not any(word in g["text"] for g in s.store.segments())
    r = web.post(f"/studie/{web.name}/angra", data={"csrf": web.csrf, "from": "inlast"})
    assert r.status_code == 200 and "Ångrat:" in r.text
    web.wait()
    assert config.load(study)["privacy"]["deny"] == []        # and on "keep": a replaced name is remembered
    with Study(study, create=False) as s:
        assert {g["id"]: g["text"] for g in s.store.segments()} == texts
    # "Inte ett namn": the word is listed as the person's own choice, not as a known place
    web.post(f"/studie/{web.name}/integritet", data={"csrf": web.csrf, "word": "Samtalen", "list": "keep"})
    web.wait()
    page = web.get(f"/studie/{web.name}/inlast").text
    assert "Ord du har markerat som inte namn" in page
    known = page.split("Kända organisationer och orter")[1] if "Kända organisationer och orter" in page else ""
    assert ">Samtalen<" not in known


def test_a_target_is_chosen_by_name_never_preselected(demo_copy):
    study = demo_copy
    web = _page_client(study, "tok-target")
    themes = sorted(_themes(study).values(), key=lambda t: (-t["size"], t["id"]))
    a = themes[0]
    page = web.get(f"/studie/{web.name}/teman/{a['id']}").text
    assert "<select" not in page and page.count("<datalist") == 1         # one list of themes per page
    assert 'data-confirm="Slå ihop temat med"' in page and 'data-confirm="Flytta citatet till temat"' in page
    book = (study / cb.CODEBOOK_FILE).read_text(encoding="utf-8")
    for data in ({"action": "merge", "theme": a["id"]}, {"action": "merge", "theme": a["id"], "target": "Finns inte"},
                 {"action": "move", "theme": a["id"], "segment": a["segment_ids"][0], "target": ""}):
        r = web.post(f"/studie/{web.name}/teman/andra", data={"csrf": web.csrf, **data})
        assert r.status_code == 400 and ("Välj" in r.text or "Det finns inget tema" in r.text), data
    assert (study / cb.CODEBOOK_FILE).read_text(encoding="utf-8") == book
    # after an edit on a theme's page, the person is back on that page, at the quote
    r = web.post(f"/studie/{web.name}/teman/andra", data={"csrf": web.csrf, "action": "pin", "theme": a["id"],
                                                          "segment": a["segment_ids"][-1], "back": "#q-3"},
                 follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"/teman/{a['id']}#q-3")
    web.wait()


def test_file_and_study_names_as_people_write_them(tmp_path):
    from starlette.testclient import TestClient

    from pipeline.web.app import create_app
    from pipeline.web.security import csrf_token
    token = "tok-names"
    app = create_app(tmp_path / "studier", token)
    web = TestClient(app, base_url="http://127.0.0.1")
    web.get(f"/?token={token}")
    csrf = csrf_token(token)
    for name in ("Berättelse 2025!", "Intervjuer – Sjöholm & Sørensen", "Café+é"):
        r = web.post("/studier", data={"name": name, "csrf": csrf})
        assert r.status_code == 200 and (tmp_path / "studier" / name / "store.sqlite").exists(), name
    assert "Berättelse 2025!" in web.get("/").text
    text = "Samordningsteam Ekbacka\n\n- ”Jag fick hjälp att hitta en praktikplats som passade mig.”\n"
    names = ["Intervju – Sjöholm.txt", "Enkät Q1&Q2.txt", "Svar+kommentarer.txt", "Sørensen intervju.txt"]
    r = web.post("/studie/Berättelse 2025!/filer", data={"csrf": csrf},
                 files=[("filer", (n, (text + n + "\n").encode())) for n in names])
    assert r.status_code == 200
    app.state.runner.wait(tmp_path / "studier" / "Berättelse 2025!")
    assert sorted(p.name for p in (tmp_path / "studier" / "Berättelse 2025!" / "källfiler").iterdir()) == sorted(names)
    for bad in ("a/b", "..", ".dold", "x" * 61, "fel#namn"):
        r = web.post("/studier", data={"name": bad, "csrf": csrf})
        assert r.status_code == 400 and "studienamn" in r.text, bad


def test_a_split_part_says_where_it_came_from(demo_copy):
    """A part split off a named theme is named by what its answers share, or else as a part of
    the theme it came from — never as one more "Blandade svar" group."""
    study = demo_copy
    named = [t for t in _themes(study).values() if t["kind"] == "concept" and t["respondents"] >= 10]
    origin = max(named, key=lambda t: t["respondents"])
    edits.edit_theme(study, "split", origin["id"])
    _recompute(study)
    parts = [t for tid, t in _book(study).items() if t.get("split_from") == origin["id"]]
    assert parts
    now = _themes(study)
    for part in parts:
        theme = now[part["id"]]
        assert not theme["label"].startswith("Blandade svar"), theme["label"]
        assert theme["kind"] == "concept" or theme["label"].startswith("Om ") \
            or theme["label"].startswith(origin["label"] + " – utbruten del"), theme["label"]
    _recompute(study)                                 # and keeps it on the next run
    assert {p["id"]: _themes(study)[p["id"]]["label"] for p in parts} == {p["id"]: now[p["id"]]["label"] for p in parts}
