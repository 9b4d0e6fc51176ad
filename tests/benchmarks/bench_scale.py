"""Speed and scale with DISTINCT answers (issue 12), run on demand; prints figures, asserts nothing.

    .venv/bin/python tests/benchmarks/bench_scale.py [--keep DIR] [N ...]   (default: 1000 respondents)

--keep DIR keeps each size's survey and study in DIR (studie_N, enkat_N.xlsx) instead of a
temporary folder.

For each N a survey export is generated (xlsx: Löpnummer, Team, Formulär, År and the demo's two
questions) in which every answer sentence is a distinct string: 1-3 sentences per answer, drawn
without replacement from SweFAQ answer sentences, SweFAQ questions and SweParaphrase sentences
(../shared/benchmarks, SuperLim 2) and from sentences composed out of the phrase lists below
(opener x who x what x when x why, per theme), so the answers carry themes and no sentence repeats.

Each stage runs in a fresh process (its own start-up, imports, model load and peak RSS, read
with os.wait4): ingest; embed (`narrativ embed`, the embedding part of the themes stage); themes
(on the now cached vectors: the rest of the stage); draft (Study.draft); export; themes again
after renaming one theme in codebook.yaml (warm re-run); `narrativ info` (start-up). Then, in
one process and on the same cached vectors, our themes stage (rediscover) against BERTopic
with default settings (`BERTopic(language="swedish")`, UMAP + HDBSCAN, embeddings passed).
"""
from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT.parent / "shared" / "benchmarks" / "superlim2"
GOOD_Q = "Vad har varit bra med stödet du fått?"
WISH_Q = "Vad skulle kunna bli bättre?"

# ---- phrase lists (written for this benchmark) -------------------------------------------------
OPENERS = ["", "Jag tycker att ", "Det bästa var att ", "Jag är glad att ", "Det har betytt mycket att ",
           "Jag uppskattar verkligen att ", "Det kändes bra att ", "För min del var det viktigt att ",
           "Det som hjälpte mest var att ", "Jag märkte snabbt att ", "Det gjorde skillnad att ",
           "Ärligt talat är jag tacksam att ", "Jag vill lyfta att ", "Något jag inte väntat mig var att ",
           "Det var skönt att "]
WHO = ["min handledare", "personalen på teamet", "min coach", "min kontaktperson", "arbetsspecialisten",
       "samordnaren", "handläggaren", "de som jobbar där", "min stödperson", "teamet", "kuratorn",
       "studievägledaren", "min jobbcoach", "personalen"]
WHEN = ["", " under hela våren", " när jag behövde det som mest", " utan att jag behövde tjata",
        " varje vecka", " trots att det tog tid", " redan från första mötet", " i min egen takt",
        " även när det gick trögt", " efter flera år av väntan", " på ett sätt jag inte varit med om förut",
        " hela vägen fram till målet", " när allt kändes tungt", " både på distans och på plats"]
GOOD = {  # theme -> what the helper did (follows a subject)
    "bemötande": ["lyssnade på mig på riktigt", "tog mig på allvar", "behandlade mig med respekt",
                  "såg hela mig och inte bara mina problem", "hade tålamod med mig", "trodde på mig",
                  "bemötte mig utan att döma", "tog sig tid att förstå min situation", "var ärlig mot mig"],
    "arbete": ["hjälpte mig att hitta en praktikplats", "följde med mig på anställningsintervjun",
               "hjälpte mig att skriva ett CV som fungerade", "ordnade en arbetsträning på ett lager",
               "hjälpte mig att få ett extrajobb i butik", "pratade med arbetsgivaren åt mig",
               "gav mig stöd när jag började på min nya arbetsplats", "hittade en lönebidragsanställning åt mig"],
    "myndighet": ["hjälpte mig med ansökan till Försäkringskassan", "följde med mig till Arbetsförmedlingen",
                  "förklarade breven från myndigheterna", "hjälpte mig att överklaga beslutet",
                  "ringde socialtjänsten tillsammans med mig", "samordnade kontakterna med alla myndigheter",
                  "hjälpte mig att fylla i blanketterna", "fick myndigheterna att prata med varandra"],
    "hälsa": ["hjälpte mig att få kontakt med vårdcentralen", "stöttade mig när min ångest var som värst",
              "hjälpte mig att få en tid hos psykiatrin", "pratade med mig om sömn och rutiner",
              "tipsade om promenadgruppen som fick mig att röra på mig", "fick mig att söka hjälp för min depression",
              "hjälpte mig att hantera stressen", "stöttade mig genom en sjukskrivning"],
    "gemenskap": ["bjöd in mig till gruppträffarna", "fick mig att känna mig mindre ensam",
                  "ordnade aktiviteter där jag träffade andra i samma situation", "introducerade mig för nya vänner",
                  "fick mig att våga vara med i gruppen", "skapade en trygg stämning på träffarna",
                  "hjälpte mig att hitta en förening", "fick mig att våga gå ut bland folk igen"],
    "studier": ["hjälpte mig att söka till komvux", "visade hur jag kunde läsa in gymnasiebehörighet",
                "stöttade mig när jag började på folkhögskolan", "hjälpte mig att söka studiemedel",
                "gick igenom olika utbildningar med mig", "hjälpte mig att planera mina studier",
                "fick mig att tro att jag kunde plugga igen", "hittade en yrkesutbildning som passade mig"],
    "ekonomi": ["hjälpte mig att göra en budget", "tog kontakt med Kronofogden åt mig",
                "hjälpte mig att få ordning på mina skulder", "visade hur jag söker bostadsbidrag",
                "hjälpte mig att förstå min ekonomi", "följde med mig till budget- och skuldrådgivningen",
                "hjälpte mig att få försörjningsstöd i tid", "lärde mig att betala räkningarna i tid"],
}
GOOD_WHY = ["", "", "", ", och det märks i vardagen", ", vilket jag inte trodde var möjligt", ", så nu vågar jag mer",
            ", och det gav mig hopp", ", fast det tog sin tid", ", vilket betydde mycket för mig",
            ", och jag är inte ensam om att tycka så", ", så jag kom vidare", ", och det har förändrat mycket",
            ", vilket jag vill tacka för"]
WISH_OPENERS = ["", "Jag tycker att ", "Ibland kändes det som att ", "Det är synd att ", "Tyvärr var det så att ",
                "Det störde mig att ", "Ett problem var att ", "Jag upplevde att ", "Det var jobbigt att ",
                "Många av oss tycker att ", "Det största problemet var att ", "Jag blev besviken över att "]
WISH = {  # theme -> a clause (subject included)
    "väntetid": ["väntetiden till första mötet var för lång", "det tog månader innan något hände",
                 "besluten dröjde alldeles för länge", "man fick vänta på svar från handläggaren",
                 "kön till gruppen var för lång", "det tog lång tid att få en praktikplats"],
    "kontinuitet": ["min handläggare byttes ut flera gånger", "jag fick börja om med en ny kontaktperson",
                    "personalen slutade hela tiden", "ingen hade koll på vad som sagts tidigare",
                    "jag fick berätta min historia om och om igen", "teamet bytte arbetssätt mitt i"],
    "träffar": ["träffarna var för få", "vi sågs bara varannan vecka", "det fanns för lite tid på mötena",
                "gruppträffarna borde vara oftare", "samtalen blev för korta", "det fanns ingen träff på sommaren"],
    "information": ["informationen om vad som händer sedan var otydlig", "ingen förklarade vad insatsen innebar",
                    "jag visste inte vem jag skulle ringa", "breven var svåra att förstå",
                    "det var oklart hur länge stödet skulle vara", "hemsidan sa inget om hur man kommer med"],
    "tillgänglighet": ["lokalen låg långt från bussen", "det var svårt att ta sig dit utan bil",
                       "man kunde bara nå dem på kontorstid", "det digitala mötesverktyget krånglade",
                       "det fanns ingen tolk när jag behövde det", "trappan gjorde det svårt för mig att komma in"],
    "längd": ["stödet tog slut för tidigt", "insatsen borde ha fått fortsätta längre",
              "det fanns ingen uppföljning efteråt", "jag blev lämnad ensam när projektet slutade",
              "stödet upphörde precis när det började fungera", "det saknades en plan för tiden efter"],
}
WISH_SCOPE = ["", "", "", " för oss deltagare", " för min del", " i vår grupp", " på kontoret i stan",
              " för dem som är nya", " för oss som bor på landet", " när det var som mest att göra"]
WISH_WHEN = ["", " i början", " förra hösten", " under sommaren", " när jag var som sämst", " den senaste tiden",
             " trots att jag frågade", " vilket gjorde mig orolig", " och det var frustrerande", " för min del",
             " flera gånger", " enligt min erfarenhet"]
WISH_WHY = ["", ", så jag tappade motivationen", ", och då blev det svårt att planera", ", vilket borde gå att ändra",
            ", så det kändes som att börja om", ", och det märktes på hela gruppen", ", fast personalen gjorde sitt bästa",
            ", och jag vet att fler har sagt samma sak", ", så jag hoppas att det blir bättre", ", och det kostade mig mycket ork",
            ", vilket jag har sagt till teamet", ", och det gjorde att jag nästan hoppade av"]


def benchmark_sentences() -> list[str]:
    """Distinct real Swedish sentences of realistic length from SuperLim 2 (SweFAQ, SweParaphrase)."""
    out: list[str] = []
    for f in ("swefaq_test.jsonl", "swefaq_dev.jsonl"):
        for line in open(DATA / f, encoding="utf-8"):
            row = json.loads(line)
            out.append(row["question"])
            for a in row["candidate_answers"]:
                out += [s.strip() for s in re.findall(r"[^.!?]+[.!?]", a)]
    for f in ("sweparaphrase_test.tsv", "sweparaphrase_dev.tsv"):
        for row in csv.DictReader(open(DATA / f, encoding="utf-8"), delimiter="\t"):
            out += [row["sentence_1"].strip(), row["sentence_2"].strip()]
    return sorted({s for s in out if 25 <= len(s) <= 220 and s[-1] in ".!?"})


class Sentences:
    """Draws distinct sentences: composed ones per theme, real ones from the benchmark data."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.real = benchmark_sentences()
        self.rng.shuffle(self.real)
        self.seen: set[str] = set()

    def _unique(self, make) -> str:
        for _ in range(1000):
            s = make()
            if s not in self.seen:
                self.seen.add(s)
                return s
        raise RuntimeError("the phrase lists are exhausted: make them longer")

    def good(self, theme: str) -> str:
        r = self.rng

        def make():
            op = r.choice(OPENERS)
            s = f"{op}{r.choice(WHO)} {r.choice(GOOD[theme])}{r.choice(WHEN)}{r.choice(GOOD_WHY)}."
            return s[0].upper() + s[1:]
        return self._unique(make)

    def wish(self, theme: str) -> str:
        r = self.rng

        def make():
            s = f"{r.choice(WISH_OPENERS)}{r.choice(WISH[theme])}{r.choice(WISH_SCOPE)}{r.choice(WISH_WHEN)}{r.choice(WISH_WHY)}."
            return s[0].upper() + s[1:]
        return self._unique(make)

    def real_one(self) -> str | None:
        while self.real:
            s = self.real.pop()
            if s not in self.seen:
                self.seen.add(s)
                return s
        return None


def survey(n: int, path: Path) -> dict:
    """Write the export; returns counts (answers, sentences, characters)."""
    from openpyxl import Workbook
    gen = Sentences(n)
    r = gen.rng
    goods, wishes = list(GOOD), list(WISH)
    wb = Workbook()
    ws = wb.active
    ws.title = "Svar"
    ws.append(["Löpnummer", "Team", "Formulär", "År", GOOD_Q, WISH_Q])
    n_sent = n_chars = 0
    real_share = 0.2
    for i in range(n):
        answers = []
        for q_themes, draw in ((goods, gen.good), (wishes, gen.wish)):
            if r.random() < 0.08:              # left blank
                answers.append(None)
                continue
            k = r.choice([1, 1, 2, 2, 3])
            main = r.choice(q_themes)
            parts = []
            for j in range(k):
                real = gen.real_one() if r.random() < real_share else None
                parts.append(real or draw(main if j == 0 or r.random() < 0.5 else r.choice(q_themes)))
            n_sent += len(parts)
            text = " ".join(parts)
            n_chars += len(text)
            answers.append(text)
        ws.append([1001 + i, ["Norr", "Syd", "Väst", "Öst"][i % 4], ["Pågående", "Avslut"][i % 2],
                   [2024, 2025][(i // 2) % 2], *answers])
    wb.save(path)
    return {"sentences": n_sent, "distinct": len(gen.seen), "mean_chars": n_chars / max(1, n_sent)}


# ---- measuring -------------------------------------------------------------------------------------
def run_child(cmd: list[str], env: dict) -> dict:
    """Run one stage in a fresh process (reaped here, so its own rusage is read): wall seconds,
    peak RSS (MB) of that process, its standard output."""
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        fo.seek(0), fe.seek(0)
        out, err = fo.read(), fe.read()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:5])}: exit {p.returncode}\n{err[-3000:]}")
    return {"s": wall, "rss_mb": usage.ru_maxrss / 1024, "out": out}


COMPARE = r"""
import json, sys, time
from pathlib import Path
from pipeline import Study
from pipeline.embed import embed_texts, make_embedder
from pipeline.themes import load_units
import bertopic, pipeline.themes  # imports warm for both sides
study = Study(Path(sys.argv[1]), create=False)
units = load_units(study.store, study.config["themes"]["kinds"], set())
X, new = embed_texts(study.store, make_embedder(study.config), units.texts)
study.store.set_meta("keywords_cache", "{}")     # ours counts its keywords too, as BERTopic does
t = time.perf_counter(); res = study.themes(rediscover=True); ours = time.perf_counter() - t
from bertopic import BERTopic
t = time.perf_counter()
topics, _ = BERTopic(language="swedish").fit_transform(units.texts, embeddings=X)
theirs = time.perf_counter() - t
print(json.dumps({"ours": ours, "ours_themes": len(res.themes), "ours_unassigned": len(res.unassigned),
                  "bertopic": theirs, "bertopic_topics": len(set(topics) - {-1}),
                  "bertopic_outliers": sum(1 for x in topics if x == -1), "newly_embedded": new}))
"""


def one_size(n: int, work: Path) -> dict:
    py = sys.executable
    narrativ = [py, "-m", "pipeline.cli"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    src = work / f"enkat_{n}.xlsx"
    gen = survey(n, src)
    study = work / f"studie_{n}"
    r: dict = {"respondents": n, **gen}
    stages = [
        ("ingest", narrativ + ["ingest", "--study", str(study), str(src)]),
        ("embed", narrativ + ["embed", "--study", str(study)]),
        ("themes", narrativ + ["themes", "--study", str(study)]),
        ("draft", [py, "-c", f"from pipeline import Study; Study({str(study)!r}, create=False).draft()"]),
        ("export", narrativ + ["export", "--study", str(study)]),
    ]
    for name, cmd in stages:
        r[name] = run_child(cmd, env)
        print(f"  [{n}] {name}: {r[name]['s']:.1f} s, {r[name]['rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    info = json.loads(run_child(narrativ + ["info", "--study", str(study), "--json"], env)["out"])
    r["segments"] = _find(info, "segments")
    m = re.search(r"Teman: (\d+) av (\d+) segment", r["themes"]["out"])
    r["themes_n"], r["themed_segments"] = (int(m[1]), int(m[2])) if m else (None, None)
    out = study / "out"
    r["sizes_kb"] = {f: round((out / f).stat().st_size / 1024) for f in ("themes.json", "narrativ.docx", "narrativ.xlsx")
                     if (out / f).exists()}
    # warm re-run after renaming one theme in the codebook
    import yaml
    book_path = study / "codebook.yaml"
    book = yaml.safe_load(book_path.read_text(encoding="utf-8"))
    book["themes"][0]["label"] = "Omdöpt tema"
    book_path.write_text(yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8")
    r["rerun"] = run_child(narrativ + ["themes", "--study", str(study)], env)
    r["rerun_keywords_lost"] = sum(1 for t in json.loads((out / "themes.json").read_text(encoding="utf-8"))["themes"]
                                   if not t.get("keywords"))
    r["info"] = run_child(narrativ + ["info", "--study", str(study)], env)
    print(f"  [{n}] re-run {r['rerun']['s']:.1f} s, info {r['info']['s']:.2f} s; comparing with BERTopic",
          file=sys.stderr, flush=True)
    cmp_ = run_child([py, "-c", COMPARE, str(study)], env)
    r["compare"] = json.loads(cmp_["out"].strip().splitlines()[-1])
    r["compare_rss_mb"] = cmp_["rss_mb"]
    return r


def _find(d, key):
    if isinstance(d, dict):
        if key in d and isinstance(d[key], int):
            return d[key]
        for v in d.values():
            got = _find(v, key)
            if got is not None:
                return got
    return None


def report(r: dict) -> None:
    n, seg = r["respondents"], r["themed_segments"] or r["segments"]
    st = {k: r[k] for k in ("ingest", "embed", "themes", "draft", "export")}
    total = sum(v["s"] for v in st.values())
    c = r["compare"]
    print(f"\n== {n} respondents: {r['sentences']} answer sentences ({r['distinct']} distinct strings, "
          f"mean {r['mean_chars']:.0f} chars); {r['segments']} segments, {seg} themed, {r['themes_n']} themes")
    print(f"{'stage':<28}{'s':>8}{'texts/s':>10}{'peak RSS MB':>13}")
    rates = {"ingest": n, "embed": seg, "themes": seg, "draft": seg, "export": seg}
    for k, v in st.items():
        print(f"{k:<28}{v['s']:>8.1f}{rates[k] / v['s']:>10.1f}{v['rss_mb']:>13.0f}")
    print(f"{'end to end (sum)':<28}{total:>8.1f}{n / total:>10.1f}{max(v['rss_mb'] for v in st.values()):>13.0f}")
    print(f"{'themes after a rename':<28}{r['rerun']['s']:>8.1f}{'':>10}{r['rerun']['rss_mb']:>13.0f}"
          f"   (themes without keywords afterwards: {r['rerun_keywords_lost']})")
    print(f"{'narrativ info':<28}{r['info']['s']:>8.2f}{'':>10}{r['info']['rss_mb']:>13.0f}")
    print("output sizes (kB): " + ", ".join(f"{k} {v}" for k, v in r["sizes_kb"].items()))
    print(f"themes stage on cached vectors: ours {c['ours']:.1f} s ({c['ours_themes']} themes, "
          f"{c['ours_unassigned']} unassigned) vs BERTopic defaults {c['bertopic']:.1f} s "
          f"({c['bertopic_topics']} topics, {c['bertopic_outliers']} outliers): "
          f"BERTopic/ours = {c['bertopic'] / c['ours']:.2f}; peak RSS {r['compare_rss_mb']:.0f} MB")
    print("  " + json.dumps({"respondents": n, "segments": seg, "n_themes": r["themes_n"],
                             **{k: round(v["s"], 1) for k, v in st.items()}, "total": round(total, 1),
                             "rerun": round(r["rerun"]["s"], 1), "info": round(r["info"]["s"], 2),
                             "rss_mb": round(max(v["rss_mb"] for v in st.values())), **r["sizes_kb"],
                             "ours": round(c["ours"], 1), "bertopic": round(c["bertopic"], 1)}), flush=True)


def main() -> None:
    args = sys.argv[1:]
    keep = None
    if args[:1] == ["--keep"]:
        keep, args = Path(args[1]), args[2:]
        keep.mkdir(parents=True, exist_ok=True)
    sizes = [int(a) for a in args] or [1000]
    if not DATA.exists():
        sys.exit(f"{DATA} is missing (the benchmark sentences come from ../shared/benchmarks)")
    print(f"cores {len(os.sched_getaffinity(0))}; load {os.getloadavg()[0]:.1f}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
            try:
                report(one_size(n, keep or Path(tmp)))
            except RuntimeError as exc:
                print(f"\n== {n} respondents: FAILED\n{exc}")


if __name__ == "__main__":
    main()
