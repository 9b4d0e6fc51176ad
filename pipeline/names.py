"""Person names in Swedish text, offline, without an NER model (none installs offline here).

Lists + context rules, as measured in shared/notes/privacy-and-drafting.md:
* first names: Faker's sv_SE lists (Isof) plus first names of other locales that are not common
  Swedish words; surnames: Faker's sv_SE list (Skatteverket);
* a capitalised word right after a first name is a surname (unless it is an organisation or
  place); a capitalised word after a role word ("kurator", "-chefen", "-ministern") is a name;
* context that marks a name: an age after it ("Sara, 31 år", "Sara 42 år", "(27 år)"), a known
  surname after it ("Solvig Andersson": an unknown first name), being alone on a line (a
  caption, a signature after "Hälsningar", a heading over a quoted testimonial); a word in none
  of the lists needs such context *and* must look like a name (`name_like`: no Swedish word,
  no inflected or compound form of one, rare);
* vetoes: organisation endings (-kassan, -förmedlingen, -teamet, ...), a keep-list of
  organisations and the 290 municipalities, and, for names that are also common Swedish words
  (Per, Bo, Inga), no replacement without evidence;
* names given by the user (deny-list) or found in interview headings are always names, and a
  name found once is replaced everywhere (`known` tokens, study-wide).
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .identifiers import Span

TOKEN = re.compile(r"[A-Za-zÅÄÖåäöÉéÜüØøÆæ][\wÅÄÖåäöÉé'’]*(?:-[\wÅÄÖåäöÉé]+)*")
CAPITALISED = re.compile(r"^[A-ZÅÄÖÉÜØÆ][a-zåäöéüøæ'’]+(?:-[A-ZÅÄÖa-zåäö][a-zåäöéüøæ]+)*$")
SENTENCE_END = re.compile(r"(^|[.!?:;•\n\t|\"”“*>\-–(]|\[|\d\.)\s*$")
# An age right after a word: ", 31 år", " 42 år", " (27 år)". Group 1 is the separator.
AGE = re.compile(r"(,\s*|\s*\(\s*|[ \t]+)\d{1,3}[ \t]*år\b")
# What may stand around a word that is alone on its line: list and signature marks, quotes.
LONE_LEAD = re.compile(r"[ \t]*(?:[/–—•*_\"”“'(][ \t]*)*")
LONE_TAIL = re.compile(r"[ \t]*[.,!:;*_\"”“')]*[ \t]*")
QUOTE_START = tuple("\"”“„«»")
LONE_MARGIN = 12               # at most this many marks and spaces around a word alone on a line
# Endings of inflected forms: "Fikat" is "fika" + t, "Mälarbygden" ends in "bygd" + en.
INFLECTIONS = ("ornas", "arnas", "ernas", "orna", "arna", "erna", "ens", "ets", "en", "et", "na", "ar", "er",
               "or", "n", "t", "s")


@lru_cache(maxsize=4)
def _lexicons(locales: tuple[str, ...], extra_max_zipf: float) -> tuple[frozenset, frozenset]:
    from faker.providers.person.sv_SE import Provider as Sv
    first = set(Sv.first_names_female) | set(Sv.first_names_male)
    for loc in locales:
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        names = getattr(provider, "first_names", None)
        if names is None:
            names = list(getattr(provider, "first_names_male", [])) + list(getattr(provider, "first_names_female", []))
        for name in names:
            if CAPITALISED.match(name) and _word_zipf(name.lower()) < extra_max_zipf:
                first.add(name)
    return frozenset(first), frozenset(Sv.last_names)


_word_cache: dict[str, float] = {}


def _word_zipf(word: str) -> float:
    z = _word_cache.get(word)
    if z is None:
        from wordfreq import zipf_frequency
        z = _word_cache[word] = zipf_frequency(word, "sv")
    return z


@lru_cache(maxsize=1)
def swedish_words() -> frozenset:
    """Lower-case stems of the hunspell-sv dictionary (installed by the `hunspell-sv` package
    as a data file), to tell names that are also words ("Inga", "Klara") from names only."""
    import sys
    import sysconfig
    from importlib import metadata
    try:                           # where pip put the package's data file, wherever that is
        dist = metadata.distribution("hunspell-sv")
        candidates = [Path(dist.locate_file(f)) for f in dist.files or () if str(f).endswith("/sv_SE.dic")]
    except metadata.PackageNotFoundError:
        candidates = []
    candidates += [Path(sysconfig.get_paths()["data"]) / "share/hunspell/sv_SE.dic",
                  Path(sys.prefix) / "share/hunspell/sv_SE.dic", Path("/usr/share/hunspell/sv_SE.dic")]
    for path in candidates:
        if path.exists():
            words = set()
            with open(path, encoding="utf-8", errors="replace") as fh:
                next(fh, None)
                for line in fh:
                    stem = line.split("/", 1)[0].strip()
                    if stem and stem.islower():
                        words.add(stem)
            return frozenset(words)
    raise RuntimeError("the Swedish hunspell dictionary (package hunspell-sv) is not installed")


@lru_cache(maxsize=4096)
def _looks_like_name(low: str, max_zipf: float, first_names: frozenset) -> bool:
    words = swedish_words()
    if low in words or _word_zipf(low) >= max_zipf:
        return False
    for suffix in INFLECTIONS:
        if low.endswith(suffix) and low[:-len(suffix)] in words:
            return False
    for k in range(1, len(low) - 3):               # compound: the tail is a word ("…bygden")
        tail = low[k:]
        if tail.capitalize() in first_names:       # "Wivi|anne": a name ending in a name
            continue
        if tail in words or any(tail.endswith(x) and len(tail) - len(x) >= 4 and tail[:-len(x)] in words
                                for x in INFLECTIONS):
            return False
    return True


@lru_cache(maxsize=1)
def municipalities() -> frozenset:
    text = resources.files("pipeline").joinpath("data/kommuner.txt").read_text(encoding="utf-8")
    words = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(line)
            words.update(line.replace("-", " ").split())
    return frozenset(words)


@dataclass
class NameDetector:
    """Settings come from the [privacy] table; `known` holds name tokens already found in the
    study (propagation), `deny` the user's and the headings' names."""
    ambiguous_zipf: float = 3.5
    very_common_zipf: float = 5.0
    extra_name_locales: tuple[str, ...] = ()
    extra_name_max_zipf: float = 4.0
    unknown_name_max_zipf: float = 3.0
    lone_line_words: tuple[str, ...] = ()
    greetings: tuple[str, ...] = ()
    role_suffixes: tuple[str, ...] = ()
    org_suffixes: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    # Tokens already known to be names in this study: any container with `in` and `add`
    # (the pseudonymiser passes one that stores keyed digests, not names).
    known: object = field(default_factory=set)

    @classmethod
    def from_config(cls, pcfg: dict, known=None) -> "NameDetector":
        return cls(
            ambiguous_zipf=pcfg["ambiguous_zipf"],
            very_common_zipf=pcfg["very_common_zipf"],
            extra_name_locales=tuple(pcfg["extra_name_locales"]),
            extra_name_max_zipf=pcfg["extra_name_max_zipf"],
            unknown_name_max_zipf=pcfg["unknown_name_max_zipf"],
            lone_line_words=tuple(pcfg["lone_line_words"]),
            greetings=tuple(pcfg["greetings"]),
            role_suffixes=tuple(pcfg["role_suffixes"]),
            org_suffixes=tuple(pcfg["org_suffixes"]),
            organisations=tuple(pcfg["organisations"]),
            keep=tuple(pcfg["keep"]),
            deny=tuple(pcfg["deny"]),
            known=known if known is not None else set(),
        )

    def __post_init__(self):
        self.first, self.last = _lexicons(tuple(self.extra_name_locales), self.extra_name_max_zipf)
        self._keep = set(self.keep) | set(self.organisations) | municipalities()
        self._deny = {t for name in self.deny for t in name.split()}
        self._org_re = re.compile(r"(" + "|".join(map(re.escape, self.org_suffixes)) + r")$", re.I) \
            if self.org_suffixes else None
        self._role_re = re.compile(r"(" + "|".join(map(re.escape, self.role_suffixes)) + r")$", re.I) \
            if self.role_suffixes else None
        self._greeting_re = re.compile(r"(?i)\b(" + "|".join(map(re.escape, self.greetings)) + r")\W*$") \
            if self.greetings else None
        self._lone_words = set(self.lone_line_words)

    def add_keep(self, words) -> None:
        """Words that name organisations or places in this material (team and site values)."""
        for value in words:
            self._keep.update(t for t in value.replace("-", " ").split() if CAPITALISED.match(t))
            self._keep.add(value)

    def add_known(self, names) -> None:
        for name in names:
            for token in name.split():
                if CAPITALISED.match(token):
                    self.known.add(token)

    def _strong(self, word: str) -> bool:
        """A name given by the user or already found in the study (also as genitive)."""
        for w in (word, word[:-1] if word.endswith("s") else None):
            if w and (w in self._deny or w in self.known):
                return True
        return False

    # -- word classes -------------------------------------------------------------------------
    def vetoed(self, word: str) -> bool:
        genitive = word.endswith("s") and word[:-1] in self._keep        # "Surahammars"
        return word in self._keep or genitive or bool(self._org_re and self._org_re.search(word))

    def ambiguous(self, word: str) -> bool:
        """The name is also a Swedish word."""
        low = word.lower()
        z = _word_zipf(low)
        return z >= self.very_common_zipf or (z >= self.ambiguous_zipf and low in swedish_words())

    def very_common(self, word: str) -> bool:
        return _word_zipf(word.lower()) >= self.very_common_zipf

    def name_like(self, word: str) -> bool:
        """A capitalised word in no name list that could be a name: no Swedish word, no inflected
        form ("Fikat") or compound ("Mälarbygden") of one, rare, not an organisation or place."""
        if not CAPITALISED.match(word) or self.vetoed(word):
            return False
        if "-" in word:
            return all(p in self.first or p in self.last or self.name_like(p) for p in word.split("-"))
        return _looks_like_name(word.lower(), self.unknown_name_max_zipf, self.first)

    def _base(self, word: str, pool) -> str | None:
        """The name in `word`, allowing a genitive -s ("Susannes")."""
        if word in pool:
            return word
        if word.endswith("s") and word[:-1] in pool:
            return word[:-1]
        return None

    # -- detection ----------------------------------------------------------------------------
    def _alone(self, text: str, s: int, e: int) -> tuple[bool, bool]:
        """(the word is alone on its line, and the line says it is a name: a greeting on the
        line before, a signature slash, or a quote opening the line after)."""
        start = text.rfind("\n", max(0, s - LONE_MARGIN), s) + 1
        end = text.find("\n", e, e + LONE_MARGIN + 1)
        end = len(text) if end < 0 and len(text) - e <= LONE_MARGIN else end
        if (start == 0 and s > LONE_MARGIN) or end < 0:
            return False, False                     # more than marks around it on its line
        lead = text[start:s]
        if not LONE_LEAD.fullmatch(lead) or not LONE_TAIL.fullmatch(text[e:end]):
            return False, False
        j = start - 1                               # the line before (blank lines skipped)
        while j > 0 and text[j - 1].isspace():
            j -= 1
        prev_line = text[text.rfind("\n", 0, j) + 1:j] if j > 0 else ""
        k = end
        while k < len(text) and text[k].isspace():
            k += 1
        greeted = bool(self._greeting_re and prev_line and self._greeting_re.search(prev_line))
        return True, greeted or "/" in lead or text.startswith(QUOTE_START, k)

    def find(self, text: str) -> list[Span]:
        tokens = [(m.start(), m.end(), m.group(0)) for m in TOKEN.finditer(text)]
        flags = [False] * len(tokens)
        for i, (s, e, w) in enumerate(tokens):
            if not CAPITALISED.match(w) or self.vetoed(w):
                continue
            initial = bool(SENTENCE_END.search(text[max(0, s - 4):s])) or s == 0
            prev = tokens[i - 1] if i > 0 and text[tokens[i - 1][1]:s] == " " else None
            nxt = tokens[i + 1] if i + 1 < len(tokens) and text[e:tokens[i + 1][0]] == " " else None
            after_role = prev is not None and self._role_re is not None and prev[2][:1].islower() \
                and bool(self._role_re.search(prev[2]))
            known_surname_next = nxt is not None and CAPITALISED.match(nxt[2]) is not None \
                and not self.vetoed(nxt[2]) and self._base(nxt[2], self.last) is not None
            surname_next = known_surname_next or (nxt is not None and CAPITALISED.match(nxt[2]) is not None
                                                  and not self.vetoed(nxt[2]) and not self.ambiguous(nxt[2]))
            age = AGE.match(text, e)
            alone, signed = self._alone(text, s, e)
            evidence = surname_next or after_role or age is not None
            base = self._base(w, self.first)
            lone_name = alone and (signed or (w not in self._lone_words and not self.very_common(base or w)))
            if self._strong(w):
                flags[i] = not (initial and self.very_common(w) and not (evidence or lone_name) and w not in self._deny)
            elif base:
                flags[i] = not initial or evidence or lone_name or not (self.ambiguous(w) or self.ambiguous(base))
            elif after_role and not initial and not self.ambiguous(w):
                flags[i] = True          # "kurator Zorbaxa"; not "handläggare Framför allt" (a lost full stop)
            elif (known_surname_next or (age is not None and age.group(1).strip()) or (alone and signed)) \
                    and self.name_like(w):
                flags[i] = True          # "Solvig Andersson", "Solvig, 61 år", "Hälsningar\nSolvig"
            elif age is not None and self._base(w, self.last) and not self.ambiguous(w):
                flags[i] = True          # "Andersson, 45 år"
            elif i > 0 and flags[i - 1] and prev is not None and (self._base(w, self.last) or not self.ambiguous(w)):
                flags[i] = True          # surname after a first name
            elif self._base(w, self.last) and not initial and not self.ambiguous(w):
                flags[i] = True
        spans: list[Span] = []
        for i, (s, e, w) in enumerate(tokens):
            if not flags[i]:
                continue
            if spans and i > 0 and flags[i - 1] and text[tokens[i - 1][1]:s] == " ":
                last = spans[-1]
                spans[-1] = Span(last.start, e, "NAMN", text[last.start:e])
            else:
                spans.append(Span(s, e, "NAMN", w))
        return spans

    def capitalised_kept(self, text: str) -> list[str]:
        """Capitalised words not at a sentence start and not replaced: the review list."""
        out = []
        for m in TOKEN.finditer(text):
            w = m.group(0)
            if CAPITALISED.match(w) and not SENTENCE_END.search(text[max(0, m.start() - 4):m.start()]) \
                    and m.start() > 0:
                out.append(w)
        return out
