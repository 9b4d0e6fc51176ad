"""Stakeholder groups (participants, team staff and managers, politicians, each funding party)
from interview metadata, by the ordered rules in study.toml [[questions.groups]]."""
from __future__ import annotations

import re

SURVEY_GROUP = "Deltagare (enkät)"
OTHER_GROUP = "Övriga"


class GroupRules:
    def __init__(self, rules: list[dict]):
        self.rules = [(r["group"], re.compile(r["when"])) for r in rules]

    def rules_as_dicts(self) -> list[dict]:
        return [{"group": name, "when": pattern.pattern} for name, pattern in self.rules]

    @classmethod
    def from_config(cls, cfg: dict) -> "GroupRules":
        return cls(cfg["questions"].get("groups", []))

    def group(self, kind: str, attributes: dict) -> str:
        return self.explain(kind, attributes)[0]

    def explain(self, kind: str, attributes: dict) -> tuple[str, str]:
        """(group, why): the group and, in a sentence, which rule put the document there on
        which words of its metadata — so that a wrong rule is seen at once."""
        if kind in ("answer", "quote"):
            return SURVEY_GROUP, "enkätsvar och citat är deltagarnas egna svar"
        fields, text = [], ""
        for k in FIELDS:
            fields.append((k, len(text) + len(k) + 1))
            text += f"{k}={attributes.get(k, '')}; "
        text = text[:-2]
        for n, (name, pattern) in enumerate(self.rules, start=1):
            m = pattern.search(text)
            if m:
                at = m.start(m.lastindex) if m.lastindex else m.end() - 1
                key = [k for k, start in fields if start <= at][-1]
                hit = m.group(m.lastindex) if m.lastindex else text[max(m.start(), dict(fields)[key]):m.end()]
                if key == "participant":
                    why = "rubriken säger att det är en deltagare"
                else:
                    why = f"{LABEL[key]} ”{attributes.get(key, '')}” innehåller ”{hit.strip()}”"
                return name, f"regel {n} i [[questions.groups]] ({name}): {why}"
        shown = ", ".join(f"{LABEL[k]} ”{attributes[k]}”" for k in ("role", "organisation", "site") if attributes.get(k))
        return OTHER_GROUP, f"ingen regel i [[questions.groups]] passar ({shown or 'inga uppgifter i rubriken'})"


FIELDS = ("participant", "role", "organisation", "site")
LABEL = {"participant": "deltagare", "role": "roll", "organisation": "organisation", "site": "ort"}

