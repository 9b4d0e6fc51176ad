"""Command line: `narrativ <stage> ... --study DIR`. One sub-command per stage, plus `run`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import NarrativError
from .study import WHAT_SV, Study

STATUS_SV = {"added": "inläst", "replaced": "ersatt (filen har ändrats)", "unchanged": "redan inläst",
             "failed": "FEL", "skipped": "hoppades över"}


def _draft_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm-url", help="OpenAI-compatible endpoint on your machine, e.g. http://127.0.0.1:11434/v1 "
                                     "(default: the deterministic drafter)")
    p.add_argument("--llm-model", help="model name at that endpoint")
    _allow_arg(p)


def _allow_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-identifying", action="store_true",
                   help="write even if the privacy check finds possible personal data")


def _command(sub, name: str, text: str) -> argparse.ArgumentParser:
    """A sub-command; every one works on a study folder (ingest and run make it)."""
    p = sub.add_parser(name, help=text)
    made = "created if missing" if name in ("ingest", "run") else "made by 'narrativ ingest' or 'narrativ run'"
    p.add_argument("--study", required=True, type=Path, help=f"study folder ({made})")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="narrativ", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    for name, text in (("ingest", "read, pseudonymise and segment source files (txt, md, docx, pdf, xlsx, csv)"),
                       ("run", "the whole job on SOURCES: ingest, pseudonymise, segment, themes, draft, export")):
        p = _command(sub, name, text)
        p.add_argument("sources", nargs="+", help="files or folders")
        p.add_argument("--keep-key", type=Path, metavar="FILE",
                       help="keep placeholder -> original in FILE (outside the study folder, owner-only; "
                            "never exported). Default: no key is kept")
        if name == "run":
            _draft_args(p)

    _command(sub, "segment", "re-segment every stored document (after changing [segment] settings)")

    _command(sub, "embed", "embed all segments (cached; themes does this too)")

    p = _command(sub, "themes", "find themes (codebook + new), write out/themes.json and codebook.yaml")
    p.add_argument("--rediscover", action="store_true",
                   help="forget the inductive themes of earlier runs (codebook themes with examples stay)")

    p = _command(sub, "info", "what the study holds")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--review-all", action="store_true",
                   help="the whole privacy review list (every kept word that may be a name, with its sentence)")

    p = _command(sub, "segments", "every segment with text, source, offsets and attributes")
    p.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    p.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    _allow_arg(p)

    p = _command(sub, "draft", "draft the narrative from the themes and export docx, md, xlsx and png")
    _draft_args(p)

    p = _command(sub, "questions", "answer research questions from the interviews, per stakeholder group")
    p.add_argument("--questions", required=True, type=Path, help="text file, one question per line")
    _allow_arg(p)

    p = _command(sub, "export", "export the last draft again (docx, md, xlsx, png), or the study as a REFI-QDA project")
    p.add_argument("--format", choices=["report", "qdpx"], default="report",
                   help="report: narrativ.docx, .md, .xlsx and teman.png (default); qdpx: out/narrativ.qdpx for "
                        "NVivo, ATLAS.ti, MAXQDA, QualCoder")
    _allow_arg(p)

    p = _command(sub, "codebook", "exchange the codebook with QDA tools: export as REFI-QDA .qdc or Taguette's .csv, "
                                  "import .qdc/.qdpx/.csv")
    p.add_argument("action", choices=["export", "import"])
    p.add_argument("file", nargs="?", type=Path, help="import: the .qdc, .qdpx or .csv (name, description) to read")
    p.add_argument("--format", choices=["qdc", "csv"],
                   help="export format: qdc (REFI-QDA codebook) or csv (the columns Taguette imports: tag, "
                        "description, color); default: from the ending of --output, else qdc")
    p.add_argument("--output", "-o", type=Path, help="export: file to write (default: DIR/out/kodbok.qdc or .csv)")

    p = _command(sub, "agreement", "agreement of a human coder with the themes (kappa, alpha), or a sample to code")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--coded", type=Path, metavar="FILE", help="the human coding: .xlsx/.csv (segment id + themes) or .qdpx")
    g.add_argument("--sample", type=int, metavar="N", help="draw a stratified sample of N segments to code (xlsx)")
    p.add_argument("--output", "-o", type=Path, help="--sample: file to write (default: DIR/out/kodningsurval.xlsx)")
    _allow_arg(p)

    p = sub.add_parser("concepts", help="write a shipped concept list out as a starting point for your own")
    p.add_argument("--write", type=Path, required=True, metavar="FILE", help="the YAML file to write")
    p.add_argument("--list", choices=["begrepp", "samverkan"], default="begrepp",
                   help="begrepp: participants' answers (default); samverkan: staff and partners on samverkan")

    p = _command(sub, "delete", "delete the study: store, settings, results and pseudonym material")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = sub.add_parser("serve", help="the local web page (for the kansli): prints its address with an access token")
    p.add_argument("--studies", type=Path, default=Path.home() / "narrativ-studier",
                   help="folder of studies (default: ~/narrativ-studier)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default: [web] port)")
    p.add_argument("--host", default="127.0.0.1", help="listen on another address (warns: others could reach it)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--new-token", action="store_true",
                   help="make a new access token (links and open pages with the old one stop working)")
    return parser


def _report_ingest(result) -> None:
    for f in result.files:
        name = Path(f.path).name
        if f.status == "failed":
            print(f"FEL: {f.path}: {f.problem}", file=sys.stderr)
        elif f.status == "skipped":
            print(f"  {name}: {STATUS_SV[f.status]} ({f.problem})")
        else:
            extra = f", {f.documents} dokument" if f.documents else ""
            print(f"  {name}: {STATUS_SV[f.status]}{extra}")
            if f.note:
                print(f"    Obs! {f.note}")
    print(f"Segment skapade: {result.segments}")
    if result.failed:
        print(f"{len(result.failed)} fil(er) kunde inte läsas; övriga är inlästa.", file=sys.stderr)


def _report_themes(result, study_dir: Path) -> None:
    print(f"Teman: {len(result.themes)} av {result.segments} segment från {result.respondents} svarande "
          f"(nyberäknade embeddings: {result.embedded})")
    if result.inductive_k is not None:
        print(f"Nya teman föreslogs med automatiskt valt antal kluster: {result.inductive_k}")
    tags = {"new": "  (nytt tema: inget begrepp passar)", "codebook": "  (kodbok)", "concept": ""}
    for th in result.themes:
        print(f"  {th.id:>6}  {th.respondents:>4} svarande ({th.share:.0%})  {th.label}{tags.get(th.kind, '')}")
    for line in result.stale:
        print(f"  Obs! {line}", file=sys.stderr)
    from .overview import coverage_lines
    for line in coverage_lines(result.coverage or {}):
        print(line)
    print(f"Utan tema: {len(result.unassigned)} segment" + (f"; uteslutna: {len(result.excluded)}" if result.excluded else ""))
    print(f"Resultat: {study_dir / 'out' / 'themes.json'}; redigera teman i {study_dir / 'codebook.yaml'}")


def _draft_and_export(study, args) -> None:
    if getattr(args, "llm_url", None):
        study.config["draft"]["llm_url"] = args.llm_url
    if getattr(args, "llm_model", None):
        study.config["draft"]["llm_model"] = args.llm_model
    draft = study.draft()
    paths = study.export(allow_identifying=args.allow_identifying)
    print(f"Utkast: {len(draft.paragraphs)} stycken ({draft.drafter}); varje stycke anger sina källor.")
    print("Skrivet: " + ", ".join(str(p) for p in paths.values()))


def _delete(args) -> int:
    from .study import delete_study
    if not (args.study / "store.sqlite").exists():
        print(f"FEL: {args.study}: ingen studie här", file=sys.stderr)
        return 2
    if not args.yes:
        if not sys.stdin.isatty():
            print("FEL: bekräfta borttagningen med --yes", file=sys.stderr)
            return 2
        answer = input(f"Ta bort studien {args.study} med alla data och resultat? Skriv 'ja': ")
        if answer.strip().lower() != "ja":
            print("Avbrutet; inget togs bort.")
            return 1
    left = delete_study(args.study)
    print(f"Studien {args.study} är borttagen.")
    if left:
        print("Kvar i mappen (inte skapat av narrativ): " + ", ".join(p.name for p in left))
    print("En nyckelfil som sparats med --keep-key ligger utanför studien; ta bort den själv om den finns.")
    return 0


def _export_codebook(study, args) -> int:
    """`codebook export`: the format from --format or the file's ending (.csv: csv)."""
    out = args.output
    ending = out.suffix.lower() if out else ""
    fmt = args.format or ("csv" if ending == ".csv" else "qdc")
    if out is not None and ending in (".csv", ".qdc") and ending != f".{fmt}":
        print(f"FEL: {out}: --format {fmt} men filen slutar på {ending}; välj --format {ending[1:]} "
              f"eller ett filnamn som slutar på .{fmt}", file=sys.stderr)
        return 2
    out = out or study.dir / "out" / f"kodbok.{fmt}"
    if fmt == "csv" and out.suffix.lower() != ".csv":       # Study.export_codebook goes by the ending
        from .qdc import export_codebook
        print(f"Skrivet: {export_codebook(study.dir, out, fmt)}")
    else:
        print(f"Skrivet: {study.export_codebook(out)}")
    return 0


def _exchange(study, args) -> int:
    """`codebook export|import` and `agreement`."""
    if args.command == "codebook" and args.action == "export":
        return _export_codebook(study, args)
    elif args.command == "codebook":
        if args.file is None:
            print("FEL: ange filen att importera: narrativ codebook import FIL --study MAPP", file=sys.stderr)
            return 2
        added, updated = study.import_codebook(args.file)
        print(f"Kodbok: {added} nya teman, {updated} uppdaterade, i {study.dir / 'codebook.yaml'}; "
              "kör 'narrativ themes' för att koda med dem")
    elif args.sample is not None:
        print(f"Skrivet: {study.agreement_sample(args.sample, args.output, allow_identifying=args.allow_identifying)}")
    else:
        print(study.agreement(args.coded, allow_identifying=args.allow_identifying).format())
        print(f"Resultat: {study.dir / 'out' / 'overensstammelse.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "delete":
            return _delete(args)
        if args.command == "concepts":
            from .concepts import shipped_text
            if args.write.exists():
                print(f"FEL: {args.write} finns redan; välj ett annat filnamn", file=sys.stderr)
                return 2
            args.write.write_text(shipped_text(args.list), encoding="utf-8")
            print(f"Skrivet: {args.write}. Redigera den och ange sökvägen (relativ till studiemappen) som "
                  f"[concepts] lexicon i study.toml.")
            return 0
        if args.command == "serve":
            from .web.server import serve
            return serve(args.studies, args.port, args.host, open_browser=not args.no_browser,
                         new_token=args.new_token)
        if args.command in ("info", "segments", "segment", "embed", "themes", "draft", "export", "questions",
                            "agreement") or (args.command == "codebook" and args.action == "export"):
            study = Study(args.study, create=False)
        else:
            study = Study(args.study)
        with study:
            if args.command == "run":
                # one lock over the whole run: nothing (the page, a notebook, another CLI) can write
                # the study between its steps, e.g. edit codebook.yaml between themes and draft
                with study.lock(WHAT_SV["run"]):
                    result = study.ingest(*args.sources, key_file=args.keep_key)
                    _report_ingest(result)
                    from .overview import format_summary
                    print()
                    print(format_summary(study.info()))
                    print()
                    _report_themes(study.themes(), study.dir)
                    _draft_and_export(study, args)
                return 0 if result.ok else 1
            if args.command == "ingest":
                result = study.ingest(*args.sources, key_file=args.keep_key)
                _report_ingest(result)
                return 0 if result.ok else 1
            if args.command == "segment":
                print(f"Segment skapade: {study.segment()}")
                return 0
            if args.command == "embed":
                n, new = study.embed()
                print(f"Segment: {n}, nyberäknade embeddings: {new} (övriga från cachen)")
                return 0
            if args.command == "draft":
                with study.lock(WHAT_SV["draft"]):              # the draft and its files as one step
                    _draft_and_export(study, args)
                return 0
            if args.command == "questions":
                results = study.questions(args.questions, allow_identifying=args.allow_identifying)
                for r in results:
                    n = sum(len(g["passages"]) for g in r["groups"].values())
                    focus = f" (fokus: {', '.join(r['focus'])})" if r["focus"] else ""
                    print(f"  {r['question']}{focus}: {n} avsnitt i {len(r['groups'])} grupper")
                    print(f"    {r['overview']}")
                print(f"Resultat: {study.dir / 'out' / 'questions.json'}")
                return 0
            if args.command == "export" and args.format == "qdpx":
                print(f"Skrivet: {study.export_qdpx(allow_identifying=args.allow_identifying)}")
                return 0
            if args.command in ("codebook", "agreement"):
                return _exchange(study, args)
            if args.command == "export":
                paths = study.export(allow_identifying=args.allow_identifying)
                print("Skrivet: " + ", ".join(str(p) for p in paths.values()))
                return 0
            if args.command == "themes":
                _report_themes(study.themes(rediscover=args.rediscover), study.dir)
                return 0
            if args.command == "info":
                info = study.info(review=True)
                if args.json:
                    print(json.dumps(info, ensure_ascii=False, indent=2))
                else:
                    from .overview import format_summary
                    print(format_summary(info, review_all=args.review_all))
                return 0
            if args.command == "segments":
                from .overview import write_segments
                records = study.segments(allow_identifying=args.allow_identifying)
                if args.output:
                    with open(args.output, "w", encoding="utf-8", newline="") as fh:
                        write_segments(records, args.format, fh)
                    print(f"{len(records)} segment skrivna till {args.output}", file=sys.stderr)
                else:
                    write_segments(records, args.format, sys.stdout)
                return 0
    except NarrativError as exc:
        print(f"FEL: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
