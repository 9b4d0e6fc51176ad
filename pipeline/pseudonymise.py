"""Pseudonymise stage: runs on every document in memory, before anything is stored.

Person names, personnummer/samordningsnummer, phone numbers, e-mail, street addresses and
account numbers become placeholders such as "[NAMN 1]" or "[TELEFON 2]", stable within the
study: the same person gets the same placeholder in every file and every run ("Susanne" alone
gets the placeholder of "Susanne Johnsson" when she is the only Susanne).

What the study keeps to make that possible is a table of *keyed digests* (HMAC-SHA256 of the
original, with a random key stored beside the store in DIR/.pseudonym-salt, owner-only), never
the originals. The key from placeholder to original is written only when asked for
(--keep-key FILE), outside the study folder, owner-only, and is never exported.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from . import identifiers
from .documents import Document
from .errors import StudyError
from .identifiers import Span
from .names import TOKEN, NameDetector

SALT_FILE = ".pseudonym-salt"
# What a placeholder looks like: "[NAMN 3]", "[TELEFON 1]" (kind, number).
PLACEHOLDER = re.compile(r"\[([A-ZÅÄÖ-]+) (\d+)\]")
# Attribute values that name organisations or places, never persons: kept in the text too.
KEEP_ATTRIBUTES = ("team", "site", "organisation")
# Quotation marks around a nickname inside a name span.
NICK_QUOTES = "\"”“„«»‘’'"


def study_salt(study_dir: Path, create: bool = True) -> bytes | None:
    """The study's digest key; made on first use, or (create=False) None when there is none."""
    path = Path(study_dir) / SALT_FILE
    if not path.exists():
        if not create:
            return None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class DigestSet:
    """A set of strings kept as keyed digests: supports `in` and `add`, reveals nothing."""

    def __init__(self, salt: bytes, namespace: str, digests: set[str] | None = None):
        self.salt, self.namespace = salt, namespace
        self.digests = set(digests or ())
        self.added: set[str] = set()
        self._memo: dict[str, str] = {}          # in memory only, for this run

    def digest(self, value: str) -> str:
        d = self._memo.get(value)
        if d is None:
            d = self._memo[value] = hmac.new(self.salt, f"{self.namespace}:{value}".encode(),
                                             hashlib.sha256).hexdigest()
        return d

    def __contains__(self, value: str) -> bool:
        return self.digest(value) in self.digests

    def add(self, value: str) -> None:
        d = self.digest(value)
        if d not in self.digests:
            self.digests.add(d)
            self.added.add(d)


@dataclass
class Replacement:
    new_start: int
    new_end: int
    old_start: int
    old_end: int
    kind: str


class Pseudonymiser:
    """Holds the study's digest registry (loaded from and written back to the store)."""

    def __init__(self, store, cfg: dict, key_file: str | Path | None = None, check_only: bool = False):
        """`check_only`: only to find what is still identifying (the export gate): no salt file
        is made; a study without one has stored no digests, so a throw-away key does."""
        self.store = store
        salt = study_salt(store.dir, create=not check_only)
        self.salt = salt if salt is not None else secrets.token_bytes(32)
        rows = store.pseudonyms() if salt is not None else []
        self.placeholders: dict[str, str] = {r["digest"]: r["placeholder"] for r in rows if r["kind"] != "token"}
        self.known = DigestSet(self.salt, "token", {r["digest"] for r in rows if r["kind"] == "token"})
        self.detector = NameDetector.from_config(cfg["privacy"], known=self.known)
        self.counters: dict[str, int] = {}
        for placeholder in self.placeholders.values():
            kind, number = placeholder.strip("[]").rsplit(" ", 1)
            self.counters[kind] = max(self.counters.get(kind, 0), int(number))
        self.new_rows: list[tuple[str, str, str]] = []
        self.key_file = Path(key_file) if key_file else None
        self.key: dict[str, list[str]] = {}
        # Spans per distinct text: identifiers depend on the text alone; names also on what the
        # detector knows (names found, words kept), which only grows: its size dates an entry.
        self._identifier_spans: dict[str, list[Span]] = {}
        self._name_spans: dict[str, tuple[tuple[int, int], list[Span]]] = {}

    def _digest(self, value: str) -> str:
        return hmac.new(self.salt, value.encode(), hashlib.sha256).hexdigest()

    # -- registry -----------------------------------------------------------------------------
    def _assign(self, kind: str, value: str) -> str:
        """The placeholder of `value` (an identifier, a full name or a lone name of its own)."""
        d = self._digest(f"{kind}:{value}")
        placeholder = self.placeholders.get(d)
        if placeholder is None:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            placeholder = f"[{kind} {self.counters[kind]}]"
        self._register(d, placeholder, kind)
        self._remember(placeholder, value)
        return placeholder

    def _remember(self, placeholder: str, value: str) -> None:
        if self.key_file is not None:
            originals = self.key.setdefault(placeholder, [])
            if value not in originals:
                originals.append(value)

    def _aliases(self, token: str, kind: str = "alias") -> list[str]:
        """Placeholders of the people whose full name holds `token` (legacy row first); kind
        "declared": only people named by a heading or the deny list."""
        out = []
        legacy = self.placeholders.get(self._digest(f"{kind}:{token}"))
        if legacy:
            out.append(legacy)
        n = 1
        while (p := self.placeholders.get(self._digest(f"{kind}:{token}:{n}"))) is not None:
            if p not in out:
                out.append(p)
            n += 1
        return out

    def _add_alias(self, token: str, placeholder: str, kind: str = "alias") -> None:
        if placeholder in self._aliases(token, kind):
            return
        n = 1
        while self._digest(f"{kind}:{token}:{n}") in self.placeholders:
            n += 1
        self._register(self._digest(f"{kind}:{token}:{n}"), placeholder, "alias")

    def declare(self, name: str) -> None:
        """A person named by an interview heading or the deny list: known in the whole study,
        so a lone first name of theirs in another file is theirs when no one else has it."""
        if len(name.split()) > 1:
            placeholder = self.assign_full(name)
            for token in name.split():
                self._add_alias(token, placeholder, "declared")

    def assign_full(self, name: str) -> str:
        """A full name gets a placeholder of its own, shared only with the same person written
        longer or shorter ("Anna Söderberg" = "Anna Folmer Söderberg": same first and last name),
        never with another person who has the same first name or surname."""
        tokens = name.split()
        d = self._digest(f"NAMN:{name}")
        placeholder = self.placeholders.get(d) or self.placeholders.get(self._digest(f"pair:{tokens[0]} {tokens[-1]}"))
        if placeholder is None:
            placeholder = self._assign("NAMN", name)
        else:
            self._register(d, placeholder, "NAMN")
            self._remember(placeholder, name)
        for later in tokens[1:]:
            self._register(self._digest(f"pair:{tokens[0]} {later}"), placeholder, "pair")
        for token in tokens:
            self._add_alias(token, placeholder)
        return placeholder

    def assign_name(self, name: str, context: list[tuple[int, str]] = (), pos: int = 0,
                    paragraph_start: int = -1) -> str:
        """A full name: its own placeholder. A lone first name or surname: the placeholder of
        the person of the same document whose name holds it — the one named nearest before it
        in the same paragraph (from `paragraph_start`), else the heading's interviewee, else
        the one named nearest before it, else the first named after it — else of the only
        person with it named by a heading or the deny list, else one of its own (the same for
        every lone mention): never another person's."""
        if len(name.split()) > 1:
            return self.assign_full(name)
        matches = sorted(((p, full) for p, full in context if name in full.split()), key=lambda m: m[0])
        if matches:
            before = [m for m in matches if m[0] <= pos]
            same_paragraph = [m for m in before if m[0] >= max(paragraph_start, 0)]
            heading = [m for m in before if m[0] < 0]
            chosen = (same_paragraph or heading or before or matches)
            return self.assign_full((chosen[-1] if chosen is not matches else matches[0])[1])
        people = self._aliases(name, "declared")
        if len(people) == 1 and len(self._aliases(name)) == 1:
            self._remember(people[0], name)
            return people[0]
        return self._assign("NAMN", name)

    def _register(self, digest: str, placeholder: str, kind: str) -> None:
        if digest not in self.placeholders:
            self.placeholders[digest] = placeholder
            self.new_rows.append((digest, placeholder, kind))

    def take_new_rows(self) -> list[tuple[str, str, str]]:
        """Registry rows to store with the next transaction (token digests included)."""
        rows = self.new_rows + [(d, "", "token") for d in sorted(self.known.added)]
        self.new_rows, self.known.added = [], set()
        return rows

    # -- detection ----------------------------------------------------------------------------
    @staticmethod
    def _texts(doc: Document) -> list[str]:
        return [t for t in [doc.title, doc.text, *doc.attributes.values()] if isinstance(t, str) and t]

    def learn(self, docs: list[Document]) -> None:
        """First pass over a batch: names from headings and every detected name become known
        tokens, so that the second pass replaces them everywhere; full names get their
        placeholders before lone first names, so "Susanne" maps to "Susanne Johnsson"."""
        self.detector.add_keep({v for doc in docs for k, v in doc.attributes.items()
                                if k in KEEP_ATTRIBUTES and isinstance(v, str)})
        for doc in docs:
            self.detector.add_known(doc.names)
        full: list[str] = [n for doc in docs for n in doc.names]
        texts = [text for doc in docs for text in self._texts(doc)]
        for spans in self.name_spans_many(texts):
            full += [s.text for s in spans]
        normalised = {self._normalise(n) for n in full}
        before = self._state()
        self.detector.add_known(normalised)
        self._carry_over(before, {t for name in normalised for t in name.split()})
        for name in sorted({self._normalise(n) for doc in docs for n in doc.names} | set(self.detector.deny)):
            self.declare(name)
        for name in sorted(normalised, key=lambda n: (-len(n.split()), n)):
            if len(name.split()) > 1:
                self.assign_full(name)

    def _normalise(self, name: str) -> str:
        """The name as its parts: a nickname's quotation marks dropped ("Margit ”Mojje” Tallkvist"
        -> "Margit Mojje Tallkvist"), a genitive -s of the last part dropped when the rest is a name."""
        tokens = [t.strip(NICK_QUOTES) for t in name.split()]
        tokens = [t for t in tokens if t]
        last = tokens[-1]
        if last.endswith("s") and len(last) > 2 and (last[:-1] in self.known or last[:-1] in self.detector.first
                                                     or last[:-1] in self.detector.last):
            tokens[-1] = last[:-1]
        return " ".join(tokens)

    def _state(self) -> tuple[int, int]:
        return len(self.known.digests), len(self.detector._keep)

    def _carry_over(self, before: tuple[int, int], added: set[str]) -> None:
        """After names became known: a text none of whose words is one of them (or its
        genitive) gets the same name spans as before, so it need not be looked at again
        (the detector consults what it knows only about each word itself)."""
        after = self._state()
        if after == before:
            return
        for text, (state, found) in self._name_spans.items():
            if state == before and not any(w in added or w[:-1] in added for w in TOKEN.findall(text)):
                self._name_spans[text] = (after, found)

    def name_spans_many(self, texts: list[str]) -> list[list[Span]]:
        """The detector's name spans of each text; each distinct text is looked at once for
        what the detector knows now."""
        state = self._state()
        cache = self._name_spans
        for text in texts:
            hit = cache.get(text)
            if hit is None or hit[0] != state:
                cache[text] = (state, self.detector.find(text))
        return [cache[text][1] for text in texts]

    def spans_many(self, texts: list[str]) -> list[list[Span]]:
        """`spans` of many texts: each distinct text is checked once, identifiers in one batch.
        The same spans as `spans` text by text."""
        cache = self._identifier_spans
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        for text, found in zip(todo, identifiers.find_many(todo)):
            cache[text] = found
        names = self.name_spans_many(texts)
        return [identifiers.merge(cache[text] + found) for text, found in zip(texts, names)]

    def spans(self, text: str) -> list[Span]:
        ready, named = self._identifier_spans.get(text), self._name_spans.get(text)
        if ready is not None and named is not None and named[0] == self._state():
            return identifiers.merge(ready + named[1])
        return self.spans_many([text])[0]

    # -- replacement --------------------------------------------------------------------------
    def people(self, texts: list[str], offset: int = 0) -> list[tuple[int, str]]:
        """The full names in `texts` (one document) with their positions in the last text;
        earlier texts (a heading) count as before everything."""
        out = []
        for k, text in enumerate(texts):
            last = k == len(texts) - 1
            for span in self.spans(text):
                name = self._normalise(span.text) if span.kind == "NAMN" else ""
                if len(name.split()) > 1:
                    out.append((span.start if last else -1, name))
        return out

    def replace(self, text: str, context: list[tuple[int, str]] | None = None) -> tuple[str, list[Replacement]]:
        """`context`: the document's people (`people`), to tell whose a lone first name is."""
        out, reps, pos = [], [], 0
        new_len = 0
        spans = self.spans(text)
        if context is None:
            context = [(s.start, self._normalise(s.text)) for s in spans
                       if s.kind == "NAMN" and len(s.text.split()) > 1]
        for span in spans:
            out.append(text[pos:span.start])
            new_len += span.start - pos
            if span.kind == "NAMN":
                name = self._normalise(span.text)
                suffix = "s" if span.text.endswith("s") and not name.endswith("s") else ""
                para = text.rfind("\n\n", 0, span.start)
                placeholder = self.assign_name(name, context, span.start, para) + suffix
            else:
                value = "".join(ch for ch in span.text.lower() if ch.isalnum() or ch in "@.")
                placeholder = self._assign(span.kind, value)
            out.append(placeholder)
            reps.append(Replacement(new_len, new_len + len(placeholder), span.start, span.end, span.kind))
            new_len += len(placeholder)
            pos = span.end
        out.append(text[pos:])
        return "".join(out), reps

    def prepare(self, docs: list[Document]) -> None:
        """Check every text of `docs` now, in one batch (each distinct text once), so that
        `apply` finds its spans ready; what `apply` replaces is the same either way."""
        self.spans_many([text for doc in docs for text in self._texts(doc)])

    def apply(self, doc: Document) -> dict[str, int]:
        """Pseudonymise one document in place; returns counts per kind."""
        counts: dict[str, int] = {}
        context = self.people([doc.title or "", doc.text]) + [(-1, self._normalise(n)) for n in doc.names if len(n.split()) > 1]
        text, reps = self.replace(doc.text, context)
        for r in reps:
            counts[r.kind] = counts.get(r.kind, 0) + 1
        doc.text = text
        doc.offset_map = [[r.new_start, r.new_end, r.old_start, r.old_end] for r in reps]
        title_context = [(-1, name) for _, name in context]
        if doc.title:
            doc.title = self.replace(doc.title, title_context)[0]
        doc.attributes = {k: self.replace(v, title_context)[0] if isinstance(v, str) else v
                          for k, v in doc.attributes.items()}
        doc.names = []
        return counts

    def write_key(self) -> None:
        if self.key_file is None or not self.key:
            return
        write_key_file(self.key_file, self.key, self.store.dir)


def write_key_file(path: Path, key: dict[str, list[str]], study_dir: Path) -> None:
    """Merge `key` into the owner-only JSON key file at `path` (outside the study folder)."""
    path = Path(path).resolve()
    if Path(study_dir).resolve() in path.parents:
        raise StudyError(f"{path}: nyckelfilen får inte ligga i studiemappen (den ska hållas åtskild från data)")
    existing: dict[str, list[str]] = {}
    if path.exists():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise StudyError(f"{path}: nyckelfilen går inte att läsa") from None
    for placeholder, originals in key.items():
        merged = existing.setdefault(placeholder, [])
        merged += [o for o in originals if o not in merged]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(existing, fh, ensure_ascii=False, indent=1, sort_keys=True)
    os.chmod(path, 0o600)


def source_offset(offset_map: list[list[int]] | None, pos: int) -> int:
    """Position in the original text of position `pos` in the pseudonymised text."""
    delta = 0
    for new_start, new_end, old_start, old_end in offset_map or ():
        if pos < new_start:
            break
        if pos < new_end:                 # inside a placeholder: its start
            return old_start if pos == new_start else old_end
        delta = old_end - new_end
    return pos + delta

