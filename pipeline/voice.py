"""Whose words: which documents are participant voice.

The narrative speaks for the participants only. Survey answers are; quotes are when they stand
under a heading that says they are participants' words ("Citat från deltagare", "Deltagarnas
egna ord …") or in a team's quote list (under "Samordningsteam X"); interviews are when the interview is with a participant. Everything else —
articles, report text, quotes of officials or politicians, staff interviews — is themed for the
evaluators' matrix but never counted as a respondent of the narrative, nor quoted in it as "en
deltagare". `[voice]` in study.toml can say otherwise per source file.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass


@dataclass
class VoiceRules:
    participant_heading: re.Pattern
    participant_sources: list[str]
    other_sources: list[str]

    @classmethod
    def from_config(cls, cfg: dict) -> "VoiceRules":
        v = cfg["voice"]
        return cls(re.compile(v["participant_heading"]), list(v["participant_sources"]), list(v["other_sources"]))

    def judge(self, kind: str, title: str | None, attributes: dict, source: str) -> tuple[bool, str]:
        """(participant voice?, why — in Swedish, for `narrativ info`)."""
        if any(fnmatch.fnmatch(source, p) for p in self.participant_sources):
            return True, "deltagarröst enligt [voice] participant_sources i study.toml"
        if any(fnmatch.fnmatch(source, p) for p in self.other_sources):
            return False, "inte deltagarröst enligt [voice] other_sources i study.toml"
        if kind == "answer":
            return True, "enkätsvar från deltagare"
        if kind == "quote":
            if title and self.participant_heading.search(title):
                return True, "citat under en rubrik som säger att det är deltagarnas ord"
            if attributes.get("team"):
                return True, "citatlista under ett teams rubrik (deltagarcitat per team)"
            return False, "citat utan rubrik som säger att det är deltagare (t.ex. en artikel eller rapport)"
        if kind == "interview":
            if attributes.get("participant") == "ja":
                return True, "intervju med deltagare"
            return False, "intervju med personal, chef, politiker eller annan aktör"
        return False, "löptext ur rapport eller artikel"


def judge_documents(store, cfg: dict) -> dict[str, tuple[bool, str]]:
    """document id -> (participant voice?, why)."""
    rules = VoiceRules.from_config(cfg)
    attrs = store.attributes()
    return {d["id"]: rules.judge(d["kind"], d["title"], attrs.get(d["id"], {}), d["source_name"])
            for d in store.documents()}


def describe(store, cfg: dict) -> list[dict]:
    """Per source file and kind: documents, how many are participant voice, and why."""
    judged = judge_documents(store, cfg)
    rows: dict[tuple, dict] = {}
    for d in store.documents():
        ok, why = judged[d["id"]]
        key = (d["source_name"], d["kind"], ok, why)
        rows.setdefault(key, {"source": d["source_name"], "kind": d["kind"], "participant_voice": ok,
                              "why": why, "documents": 0})["documents"] += 1
    return list(rows.values())
