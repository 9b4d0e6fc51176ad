"""The export gate: every export runs the detector over what it is about to write and refuses
when anything identifying remains, naming the passages by id (never quoting them). The user
can override only with an explicit flag (--allow-identifying)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .errors import NarrativError
from .pseudonymise import Pseudonymiser


class PrivacyError(NarrativError):
    """An export was stopped because it may contain personal data."""


@dataclass(frozen=True)
class Finding:
    item_id: str
    kind: str


def scan(store, cfg: dict, items: Iterable[tuple[str, str]]) -> list[Finding]:
    """(id, text) pairs -> what the detector still finds in them."""
    checker = Pseudonymiser(store, cfg, check_only=True)      # reads the study's salt, never makes one
    items = [(item_id, text) for item_id, text in items if text]
    spans = checker.spans_many([text for _, text in items])   # each distinct text once, batched
    return [Finding(item_id, s.kind) for (item_id, _), found in zip(items, spans) for s in found]


def check(store, cfg: dict, items: Iterable[tuple[str, str]], allow: bool = False,
          what: str = "exporten") -> list[Finding]:
    findings = scan(store, cfg, items)
    if findings and not allow:
        ids: dict[str, set[str]] = {}
        for f in findings:
            ids.setdefault(f.item_id, set()).add(f.kind)
        listed = ", ".join(f"{i} ({'/'.join(sorted(k))})" for i, k in list(ids.items())[:10])
        more = f" och {len(ids) - 10} till" if len(ids) > 10 else ""
        raise PrivacyError(
            f"{what} stoppades: möjliga personuppgifter i {len(ids)} textavsnitt: {listed}{more}. "
            "Granska dem (narrativ info visar granskningslistan), lägg till namn i [privacy] deny "
            "eller ord i [privacy] keep i study.toml och läs in igen, eller exportera ändå med --allow-identifying.")
    return findings
