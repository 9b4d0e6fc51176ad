"""Agreement with a human coder, on a sample of the demo corpus that was coded by hand (by
reading each segment, with concept ids from pipeline/data/begrepp.yaml; never copied from the
machine): tests/fixtures/demo_kodning.csv, keyed by file, position and text so that it survives
changes of segment and theme ids."""
from __future__ import annotations

import csv
import math
import shutil
import zipfile

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from conftest import ROOT
from pipeline import Study, cli, qdpx
from pipeline import agreement as ag
from pipeline.errors import StudyError

CODED = ROOT / "tests" / "fixtures" / "demo_kodning.csv"


@pytest.fixture(scope="module")
def study_dir(demo_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("agreement") / "studie"
    shutil.copytree(demo_run, path)
    return path


@pytest.fixture(scope="module")
def study(study_dir):
    with Study(study_dir, create=False) as s:
        yield s


@pytest.fixture(scope="module")
def hand(study):
    """The hand coding mapped to today's segment ids: segment id -> set of concept ids."""
    keys = ag.segment_keys(study.store)
    at: dict = {}                                  # (file, position) -> [(text, segment id)]
    for (f, pos, text), sid in keys.items():
        at.setdefault((f, pos), []).append((text, sid))
    out, missing = {}, []
    with open(CODED, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            # coded sentence by sentence; a short answer is one segment now: the codes of its
            # sentences are the answer's
            sid = keys.get((r["fil"], r["position"], r["text"])) or next(
                (s for text, s in at.get((r["fil"], r["position"]), []) if r["text"] in text), None)
            if sid is None:
                missing.append(r["position"])
            else:
                out.setdefault(sid, set()).update(r["teman"].split(";"))
    return out, missing


def _write(path, rows, header=("segment_id", "teman")):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _machine(study):
    themes = {t["id"]: t for t in study.store.themes()}
    return themes, study.store.assignments()


def test_hand_coding_is_real_and_maps_to_the_demo(hand):
    codes, missing = hand
    assert len(codes) >= 80, f"only {len(codes)} of the hand-coded segments found; missing: {missing[:5]}"
    concepts = {c for s in codes.values() for c in s}
    assert len(concepts) >= 20                         # a real coding uses many themes
    assert sum(len(s) > 1 for s in codes.values()) >= 10   # and several per segment where meant


def test_report_prints_kappa_per_theme(study_dir, hand, capsys):
    assert cli.main(["agreement", "--study", str(study_dir), "--coded", str(CODED)]) == 0
    out = capsys.readouterr().out
    print(out)                                          # the report, for `pytest -s`
    assert "Krippendorffs alfa" in out and "kappa" in out
    report = _load_json(study_dir)
    codes, _ = hand
    used = {c for s in codes.values() for c in s}
    keys = {t["key"] for t in report["themes"]}
    assert used <= keys                                 # every concept the coder used is reported
    for t in report["themes"]:
        assert f"[{t['key']}]" in out
        assert t["kappa"] is None or -1.0 <= t["kappa"] <= 1.0
    assert report["segments"] == len(codes)


def _load_json(study_dir):
    import json
    return json.loads((study_dir / "out" / "overensstammelse.json").read_text(encoding="utf-8"))


def test_kappa_and_alpha_equal_the_libraries_on_the_same_vectors(study, hand):
    """Rebuild the yes/no vectors here, from the fixture and the store, and compare."""
    import krippendorff
    codes, _ = hand
    report = study.agreement(CODED)
    themes, assignments = _machine(study)
    concept_of = {tid: t.get("concept") or tid for tid, t in themes.items()}
    sids = sorted(codes)
    machine = {s: {concept_of[assignments[s][0]]} if s in assignments else set() for s in sids}
    used = [t.key for t in report.themes]
    assert set(used) == {k for s in sids for k in codes[s] | machine[s]}
    H = np.array([[k in codes[s] for k in used] for s in sids], dtype=int)
    M = np.array([[k in machine[s] for k in used] for s in sids], dtype=int)
    for j, t in enumerate(report.themes):
        assert t.human == H[:, j].sum() and t.machine == M[:, j].sum()
        if len(set(H[:, j]) | set(M[:, j])) > 1:
            assert t.kappa == pytest.approx(cohen_kappa_score(H[:, j], M[:, j]))
    assert report.alpha == pytest.approx(krippendorff.alpha(reliability_data=np.vstack([H.ravel(), M.ravel()]),
                                                            level_of_measurement="nominal"))
    assert report.agreement == pytest.approx((H == M).mean())
    assert report.exact == pytest.approx(np.mean([codes[s] == machine[s] for s in sids]))
    # a real agreement: clearly better than chance, clearly not a copy
    assert 0.3 < report.alpha < 0.95
    assert 0.2 < report.exact < 0.95


def test_a_copy_of_the_machine_coding_agrees_perfectly(study, hand, tmp_path):
    codes, _ = hand
    themes, assignments = _machine(study)
    rows = [(s, assignments[s][0] if s in assignments else "-") for s in sorted(codes)]
    report = study.agreement(_write(tmp_path / "kopia.csv", rows))
    assert report.alpha == pytest.approx(1.0)
    assert report.exact == 1.0 and not report.disagreements
    assert all(t.kappa == pytest.approx(1.0) for t in report.themes if t.human and t.human < report.segments)


def test_a_shuffled_coding_agrees_little(study, hand, tmp_path):
    codes, _ = hand
    themes, assignments = _machine(study)
    sids = sorted(codes)
    labels = [assignments.get(s, ("-",))[0] for s in sids]
    shuffled = np.random.default_rng(7).permutation(labels)
    report = study.agreement(_write(tmp_path / "blandad.csv", zip(sids, shuffled)))
    assert report.alpha < 0.3
    assert report.mean_kappa < 0.3
    honest = study.agreement(CODED)
    assert honest.alpha > report.alpha + 0.3


def test_disagreements_most_confident_first(study, hand):
    codes, _ = hand
    report = study.agreement(CODED)
    themes, assignments = _machine(study)
    scores = [d.score if d.score is not None else -math.inf for d in report.disagreements]
    assert scores == sorted(scores, reverse=True)
    assert len(report.disagreements) == round((1 - report.exact) * report.segments)
    labels = {t["id"]: t["label"] for t in themes.values()}
    for d in report.disagreements:
        assert d.segment_id in codes
        assert d.machine == (labels[assignments[d.segment_id][0]] if d.segment_id in assignments else None)
        assert d.score == (assignments[d.segment_id][1] if d.segment_id in assignments else None)
        assert d.text


def test_matched_by_theme_id_label_or_concept(study, hand, tmp_path):
    """The same coding written with concept ids, machine theme ids or labels gives the same figures."""
    codes, _ = hand
    themes, _ = _machine(study)
    by_concept = {t.get("concept"): t for t in themes.values() if t.get("concept")}
    if not by_concept:
        pytest.skip("no concept themes in this demo run")

    def written(field):
        rows = []
        for s, cs in sorted(codes.items()):
            rows.append((s, "; ".join(by_concept[c][field] if c in by_concept else c.upper() for c in sorted(cs))))
        return _write(tmp_path / f"{field}.csv", rows)

    reports = [study.agreement(written("concept")), study.agreement(written("id")), study.agreement(written("label"))]
    assert reports[0].kappas() == reports[1].kappas() == reports[2].kappas()
    assert reports[0].alpha == reports[1].alpha == reports[2].alpha


def test_stratified_sample_to_code(study_dir, study, tmp_path):
    import pandas as pd
    path = tmp_path / "urval.xlsx"
    assert cli.main(["agreement", "--study", str(study_dir), "--sample", "45", "-o", str(path)]) == 0
    frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    themes, assignments = _machine(study)
    assert list(frame.columns[:3]) == ["segment_id", "text", "team"]
    theme_cols = [c for c in frame.columns[3:] if c not in ("inget tema", "kommentar")]
    assert len(theme_cols) == len(themes)
    assert (frame[theme_cols + ["inget tema"]] == "").all().all()        # empty: to be coded
    assert len(frame) == 45 and frame.segment_id.is_unique
    segments = {g["id"]: g for g in study.store.segments()}
    assert all(segments[s]["text"] == t for s, t in zip(frame.segment_id, frame.text))
    # stratified: with as many places as strata, every (theme, team) stratum is represented
    attrs = study.store.attributes()
    kinds = set(study.config["themes"]["kinds"])
    strata = {(assignments.get(g["id"], ("",))[0], attrs.get(g["document_id"], {}).get("team", ""))
              for g in segments.values() if g["kind"] in kinds}
    rows = ag.draw_sample(study.store, study.config, len(strata))
    got = {(assignments.get(r["segment_id"], ("",))[0], r["team"]) for r in rows}
    assert got == strata
    assert [r["segment_id"] for r in ag.draw_sample(study.store, study.config, 45)] == list(frame.segment_id)


def test_filled_sample_sheet_is_read_back(study, tmp_path):
    """Mark the sample sheet (one column per theme) with the machine's own themes: full agreement."""
    from openpyxl import load_workbook
    path = study.agreement_sample(30, tmp_path / "urval.xlsx")
    themes, assignments = _machine(study)
    wb = load_workbook(path)
    ws = wb["Kodning"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        tid = assignments.get(row[0].value, ("",))[0]
        col = next((k for k, h in enumerate(header) if h and h.split(":")[0] == tid), header.index("inget tema"))
        row[col].value = "x"
    ws.append(["", "", ""])                      # an empty row: not coded, not counted
    wb.save(path)
    report = study.agreement(path)
    assert report.segments == 30 and report.exact == 1.0


def test_a_project_coded_in_another_tool(study, hand, tmp_path):
    """Another tool's .qdpx: the coder's selections (another user) on our sources, with our codes and
    new ones; narrativ's own codings are ignored."""
    from lxml import etree
    codes, _ = hand
    themes, _ = _machine(study)
    by_concept = {t.get("concept"): t for t in themes.values() if t.get("concept")}
    path = study.export_qdpx()
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    root = etree.fromstring(members["project.qde"])
    ns = "{urn:QDA-XML:project:1.0}"
    coder = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    etree.SubElement(root.find(f"{ns}Users"), f"{ns}User", guid=coder, name="Kodare")
    codes_el = root.find(f"{ns}CodeBook/{ns}Codes")
    new_codes = {}
    segs = {g["id"]: g for g in study.store.segments()}
    sources = {s.get("guid"): s for s in root.iter(f"{ns}TextSource")}
    for k, (sid, cs) in enumerate(sorted(codes.items())):
        g = segs[sid]
        src = sources[qdpx.guid("doc", g["document_id"])]
        sel = etree.Element(f"{ns}PlainTextSelection", guid=f"{k:08d}-0000-0000-0000-000000000000",
                            startPosition=str(g["start_char"]), endPosition=str(g["end_char"]), creatingUser=coder)
        for j, c in enumerate(sorted(cs)):
            if c in by_concept:
                target = qdpx.guid("theme", by_concept[c]["id"])
            else:
                if c not in new_codes:
                    new_codes[c] = f"{len(new_codes):08d}-1111-1111-1111-111111111111"
                    etree.SubElement(codes_el, f"{ns}Code", guid=new_codes[c], name=c, isCodable="true")
                target = new_codes[c]
            coding = etree.SubElement(sel, f"{ns}Coding", guid=f"{k:08d}-{j:04d}-2222-2222-222222222222",
                                      creatingUser=coder)
            etree.SubElement(coding, f"{ns}CodeRef", targetGUID=target)
        last = src.findall(f"{ns}PlainTextSelection")
        (last[-1].addnext(sel) if last else src.find(f"{ns}Description").addnext(sel))
    members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    coded = tmp_path / "kodat.qdpx"
    with zipfile.ZipFile(coded, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    matcher = ag.Matcher(study.store.themes())
    human = ag.read_coding(coded, study.store, matcher)
    for sid, cs in codes.items():
        assert human.codes[sid] == cs, sid
    # the other segments of the coded documents: read as coded with no theme
    assert all(not v for s, v in human.codes.items() if s not in codes)
    assert study.agreement(coded).segments == len(human.codes)


@pytest.mark.parametrize("content, problem", [
    ("text;teman\nHej;struktur\n", "segment-id"),
    ("segment_id;text\nabc;Hej\n", "temakolumner"),
])
def test_bad_coded_files(study, tmp_path, content, problem):
    path = tmp_path / "kodning.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StudyError, match=problem) as err:
        study.agreement(path)
    assert str(path) in str(err.value)
    unknown = _write(tmp_path / "okand.csv", [("finns.inte.1", "struktur")])
    with pytest.raises(StudyError, match="inga kodade segment"):
        study.agreement(unknown)


def _reexport_like_qualcoder(path, out, add=(), rename_narrativ=None):
    """Our project as QualCoder's RefiExport writes it back (qualcoder/refi.py): every user,
    code, source, selection and coding with a new GUID (users are kept by name only), code
    descriptions kept, the cases' codes gone into its cases, source texts as UTF-8 with BOM.
    `add`: (segment row, code name) codings by a second coder, "Anna"."""
    import uuid
    from lxml import etree
    ns = "{urn:QDA-XML:project:1.0}"
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    root = etree.fromstring(members["project.qde"])
    new = {}

    def fresh(old):
        return new.setdefault(old, str(uuid.uuid4()))

    cases = {c.get("guid") for c in root.iter(f"{ns}Case")}
    for sel in list(root.iter(f"{ns}PlainTextSelection")):
        if sel.find(f"{ns}Coding/{ns}CodeRef").get("targetGUID") in cases:
            sel.getparent().remove(sel)
    for code in list(root.iter(f"{ns}Code")):
        if code.get("guid") in cases:
            code.getparent().remove(code)
    users = root.find(f"{ns}Users")
    for u in users:
        if rename_narrativ and u.get("name") == "narrativ":
            u.set("name", rename_narrativ)
    anna = etree.SubElement(users, f"{ns}User", guid=str(uuid.uuid4()), name="Anna")
    by_name = {c.get("name"): c.get("guid") for c in root.iter(f"{ns}Code")}
    sources = {s.get("guid"): s for s in root.iter(f"{ns}TextSource")}
    for g, name in add:
        src = sources[qdpx.guid("doc", g["document_id"])]
        sel = etree.Element(f"{ns}PlainTextSelection", guid=str(uuid.uuid4()), startPosition=str(g["start_char"]),
                            endPosition=str(g["end_char"]), creatingUser=anna.get("guid"))
        coding = etree.SubElement(sel, f"{ns}Coding", guid=str(uuid.uuid4()), creatingUser=anna.get("guid"))
        etree.SubElement(coding, f"{ns}CodeRef", targetGUID=by_name[name])
        src.find(f"{ns}Description").addnext(sel)
    for el in root.iter():
        for attr in ("guid", "targetGUID", "creatingUser", "creatingUserGUID"):
            if el.get(attr) and el.get(attr) != anna.get("guid"):
                el.set(attr, fresh(el.get(attr)))
    files = {}
    for src in root.iter(f"{ns}TextSource", f"{ns}Note"):
        text = members[f"sources/{src.get('plainTextPath').split('internal://')[1]}"]
        src.set("plainTextPath", f"internal://{src.get('guid')}.txt")
        files[f"sources/{src.get('guid')}.txt"] = b"\xef\xbb\xbf" + text
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("project.qde", etree.tostring(root, xml_declaration=True, encoding="utf-8"))
        for n, data in files.items():
            z.writestr(n, data)
    return out


def test_a_project_re_exported_by_qualcoder_gives_the_true_figures(study, tmp_path):
    """A second coder codes 40 segments in QualCoder (20 as narrativ, 20 with another theme) and
    QualCoder exports the project again with new GUIDs for every user: narrativ's own codings are
    known by name and are not compared with themselves (before: 535 segments, alpha 0.98)."""
    import krippendorff
    themes, assignments = _machine(study)
    per_doc = {}
    for g in study.store.segments():
        per_doc.setdefault(g["document_id"], []).append(g)
    single = sorted((g for docs in per_doc.values() if len(docs) == 1 for g in docs
                     if assignments.get(g["id"], (None,))[0] in themes), key=lambda g: g["id"])
    picked = single[::max(1, len(single) // 40)][:40]
    tids = sorted(themes)
    human = {}
    for k, g in enumerate(picked):
        tid = assignments[g["id"]][0]
        human[g["id"]] = tid if k % 2 == 0 else tids[(tids.index(tid) + 1) % len(tids)]
    path = _reexport_like_qualcoder(study.export_qdpx(), tmp_path / "qualcoder.qdpx",
                                    [(g, themes[human[g["id"]]]["label"]) for g in picked])
    report = study.agreement(path)
    assert report.segments == 40 and report.coders == {"Anna": 40}
    assert report.ours == len(assignments)
    # the true figures, computed here from the same 40 decisions
    used = sorted(set(human.values()) | {assignments[s][0] for s in human})
    H = np.array([[int(human[s] == t) for t in used] for s in sorted(human)])
    M = np.array([[int(assignments[s][0] == t) for t in used] for s in sorted(human)])
    alpha = krippendorff.alpha(reliability_data=np.vstack([H.ravel(), M.ravel()]).astype(float),
                               level_of_measurement="nominal")
    kappas = [cohen_kappa_score(H[:, j], M[:, j], labels=[0, 1]) for j in range(len(used))
              if len(set(H[:, j]) | set(M[:, j])) > 1]
    assert report.alpha == pytest.approx(alpha) and report.mean_kappa == pytest.approx(np.mean(kappas))
    assert report.exact == 0.5 and report.alpha < 0.7
    assert "Anna 40 segment" in report.format()


def test_narrativs_own_coding_under_another_name_is_refused(study, tmp_path):
    """The re-exported project with narrativ's user renamed: its codings look like a human's,
    and they are narrativ's own; the comparison is refused instead of reporting alpha near 1."""
    path = _reexport_like_qualcoder(study.export_qdpx(), tmp_path / "kopia.qdpx", rename_narrativ="Kodare 2")
    with pytest.raises(StudyError, match="narrativs egen"):
        study.agreement(path)


def test_an_identical_sample_is_reported_with_a_warning(study, hand, tmp_path):
    codes, _ = hand
    _themes, assignments = _machine(study)
    rows = [(s, assignments[s][0]) for s in sorted(codes) if s in assignments][:20]
    report = study.agreement(_write(tmp_path / "kopia.csv", rows))
    assert report.warnings and "identisk" in report.format() and report.coders == {"kopia.csv": 20}
