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
        if kind in ("answer", "quote"):
            return SURVEY_GROUP
        text = "; ".join(f"{k}={attributes.get(k, '')}" for k in ("participant", "role", "organisation", "site"))
        for name, pattern in self.rules:
            if pattern.search(text):
                return name
        return OTHER_GROUP
