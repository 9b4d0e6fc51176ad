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
  name found once is replaced everywhere (`known` tokens, study-wide);
* where the context says "a person": one to four name-shaped words after a credit or byline
  ("Text:", "Foto:", "Av", any case), a quoted nickname between two name parts (one name), a
  run of foreign-looking words at a sentence start before a reporting verb or a role, short
  parts inside a run of name parts (one person, one placeholder).
"""
from __future__ import annotations

import importlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .identifiers import Span

TOKEN = re.compile(r"[A-Za-zÅÄÖåäöÉéÜüØøÆæ][\wÅÄÖåäöÉé'’]*(?:-[\wÅÄÖåäöÉé]+)*")
# A name with a capital inside ("AlKarmadi", "McDonald"): a name only beside other names.
CAMEL = re.compile(r"^[A-ZÅÄÖ][a-zåäö]+[A-ZÅÄÖ][a-zåäö]{2,}$")
CAPITALISED = re.compile(r"^[A-ZÅÄÖÉÜØÆ][a-zåäöéüøæ'’]+(?:-[A-ZÅÄÖa-zåäö][a-zåäöéüøæ]+)*$")
SENTENCE_END = re.compile(r"(^|[.!?:;•\n\t|\"”“*>\-–(]|\[|\d\.)\s*$")
# An age right after a word: ", 31 år", " 42 år", " (27 år)". Group 1 is the separator.
AGE = re.compile(r"(,\s*|\s*\(\s*|[ \t]+)\d{1,3}[ \t]*år\b")
# What may stand around a word that is alone on its line: list and signature marks, quotes.
LONE_LEAD = re.compile(r"[ \t]*(?:[/–—•*_\"”“'(][ \t]*)*")
LONE_TAIL = re.compile(r"[ \t]*[.,!:;*_\"”“')]*[ \t]*")
QUOTE_START = tuple("\"”“„«»")
# A nickname in quotation marks between two name parts: the gap before it and after it.
NICK_OPEN = re.compile(r"[ \t][\"”“„«»‘’'][ \t]?")
NICK_CLOSE = re.compile(r"[ \t]?[\"”“„«»‘’'][ \t]")
# What may stand between a run of capitalised words and a role word to make it a person:
# "… är medicinskt ansvarig läkare", "… var projektledare", "… arbetar som kurator".
PREDICATE = re.compile(r"[ \t]+(?:är|var|blir|blev|arbetar som|jobbar som)((?:[ \t]+[a-zåäöé-]+){1,4})")
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


@lru_cache(maxsize=2)
def world_first_names(min_count: int) -> frozenset:
    """First names of 100+ countries (the `nomquamgender` package's name data: lower-case,
    transliterated, MIT), those seen at least `min_count` times. Noisy (it holds words and
    places too): callers check that a name is no Swedish or English word and no place."""
    import importlib.util
    import json
    spec = importlib.util.find_spec("nomquamgender")          # its data file, without importing it (pandas)
    raw = (Path(next(iter(spec.submodule_search_locations))) / "name_data.json").read_text(encoding="utf-8")
    return frozenset(k for k, v in json.loads(raw).items() if v[1] >= min_count and k.replace("-", "").isalpha())


@lru_cache(maxsize=1)
def places() -> frozenset:
    """Country names (Swedish and English) and Swedish city names (Faker's address providers)."""
    out: set[str] = set()
    for loc in ("sv_SE", "en_US"):
        try:
            provider = importlib.import_module(f"faker.providers.address.{loc}").Provider
        except ImportError:
            continue
        for attr in ("countries", "cities", "city_names"):
            for value in getattr(provider, attr, ()) or ():
                out.add(value)
    return frozenset(w for w in out if CAPITALISED.match(w))


_word_cache: dict[str, float] = {}
_en_cache: dict[str, float] = {}


def _english_zipf(word: str) -> float:
    z = _en_cache.get(word)
    if z is None:
        from wordfreq import zipf_frequency
        z = _en_cache[word] = zipf_frequency(word, "en")
    return z


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
    return not _compound(low, 4, first_names)


@lru_cache(maxsize=8192)
def _compound(low: str, min_tail: int, first_names: frozenset) -> bool:
    """The word ends in a Swedish word of at least `min_tail` letters ("…bygden", "trettiosex|åriga")."""
    words = swedish_words()
    for k in range(1, len(low) - min_tail + 1):
        tail = low[k:]
        if tail.capitalize() in first_names:       # "Wivi|anne": a name ending in a name
            continue
        if tail in words or any(tail.endswith(x) and len(tail) - len(x) >= 4 and tail[:-len(x)] in words
                                for x in INFLECTIONS + ("a", "e")):
            return True
    return False


@lru_cache(maxsize=4096)
def _surname_ending(low: str, last_names: frozenset) -> bool:
    """The word ends like at least three listed surnames (an ending of 4-6 letters after a head
    of 3 or more: "…strand", "…holm", "…gren"), the mark of a Swedish compound surname."""
    for k in (4, 5, 6):
        if len(low) - k >= 3 and len(_surname_endings(last_names, k).get(low[-k:], ())) >= 3:
            return True
    return False


@lru_cache(maxsize=8)
def _surname_endings(last_names: frozenset, k: int) -> dict:
    out: dict[str, set] = {}
    for name in last_names:
        if len(name) - k >= 3:
            out.setdefault(name[-k:].lower(), set()).add(name)
    return out


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
    world_name_min_count: int = 10
    english_max_zipf: float = 4.0
    report_verbs: tuple[str, ...] = ()
    credit_words: tuple[str, ...] = ()
    locative_prepositions: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
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
            world_name_min_count=pcfg["world_name_min_count"],
            english_max_zipf=pcfg["english_max_zipf"],
            report_verbs=tuple(pcfg["report_verbs"]),
            credit_words=tuple(pcfg["credit_words"]),
            locative_prepositions=tuple(pcfg["locative_prepositions"]),
            parties=tuple(pcfg["parties"]),
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
        self._world = world_first_names(self.world_name_min_count)
        self._world_cache: dict[str, bool] = {}
        self._places = places()
        self._report = set(self.report_verbs)
        self._locative = set(self.locative_prepositions)
        words = "|".join(map(re.escape, self.credit_words)) or "(?!)"
        # "Foto: Hedda Lönnqvarn", "FOTO: SIGNE HALLSTRÖM", "Text och bilder: ...", "arkivbild: jonas w"
        self._credit_re = re.compile(r"(?i)(?<![\w])(?:" + words + r")\s*:[ \t]*")
        self._byline_re = re.compile(r"(?im)^[ \t\-–—•]*av[ \t]+(?=[A-ZÅÄÖ])")
        self._party_re = re.compile(r"[ \t]*\((?:" + "|".join(map(re.escape, self.parties)) + r")\)") \
            if self.parties else None

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
        """The name in `word`, allowing a genitive -s ("Susannes") and hyphenated first names
        whose parts are all names ("Per-Anders")."""
        if word in pool:
            return word
        if word.endswith("s") and word[:-1] in pool:
            return word[:-1]
        if pool is self.first and "-" in word and all(p in pool or self.world_name(p) for p in word.split("-")):
            return word
        return None

    def world_name(self, word: str) -> bool:
        """A first name of another country (nomquamgender's lists) that is no Swedish or English
        word and no place ("Senait", "Yonas", "Nasrin"; not "Kista", "Somalia", "Chance")."""
        hit = self._world_cache.get(word)
        if hit is None:
            low = unicodedata.normalize("NFKD", word.lower()).encode("ascii", "ignore").decode()
            hit = self._world_cache[word] = bool(
                CAPITALISED.match(word) and low in self._world and not self.vetoed(word)
                and word not in self._places and _english_zipf(word.lower()) < self.english_max_zipf
                and self._rare_word(word.lower()))
        return hit

    def _rare_word(self, low: str) -> bool:
        """Not a Swedish word anyone uses much: hunspell-sv lists some names ("shirin") as
        words, so a dictionary word counts only from Zipf 2.5."""
        z = _word_zipf(low)
        return z < self.unknown_name_max_zipf and not (z >= 2.5 and low in swedish_words())

    def namish(self, word: str) -> bool:
        """In a name list, or a word that could be a name (`name_like`, not an English word)."""
        if self.vetoed(word) or word in self._places:
            return False
        if self._base(word, self.first) or self._base(word, self.last) or self._strong(word):
            return not self.ambiguous(word)
        w = word[:-1] if word.endswith("s") and self.world_name(word[:-1]) else word
        return self.world_name(w) or (self.name_like(word) and _english_zipf(word.lower()) < self.english_max_zipf)

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
        flags = self._token_flags(text, tokens)
        self._chains(text, tokens, flags)
        self._credits(text, tokens, flags)
        joins = self._nicknames(text, tokens, flags)
        self._coordinated(text, tokens, flags)
        self._inner_parts(text, tokens, flags)
        return self._spans(text, tokens, flags, joins)

    def _token_flags(self, text: str, tokens: list) -> list[bool]:
        """Each capitalised word on its own: name lists, role words, ages, lines alone."""
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
            elif self.world_name(w) or (w.endswith("s") and self.world_name(w[:-1])):
                # another country's first name: not "på Ikea", "i Kista" (a place or a firm)
                org = prev is not None and CAPITALISED.match(prev[2]) and not self.namish(prev[2]) \
                    and not SENTENCE_END.search(text[max(0, prev[0] - 4):prev[0]]) and prev[0] > 0
                flags[i] = evidence or lone_name or not (org or (prev is not None and prev[2].lower() in self._locative))
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
        return flags

    def _runs(self, text: str, tokens: list, trim: bool = True) -> list[list[int]]:
        """Runs of capitalised words one space apart, split at organisations and places, without
        leading common words ("Men Zahra Olwenni" -> "Zahra Olwenni") unless `trim` is False."""
        runs, run = [], []
        for i, (s, e, w) in enumerate(tokens):
            ok = (CAPITALISED.match(w) or CAMEL.match(w)) is not None and not self.vetoed(w) and w not in self._places
            if ok and run and text[tokens[run[-1]][1]:s] == " ":
                run.append(i)
                continue
            if run:
                runs.append(run)
            run = [i] if ok else []
        if run:
            runs.append(run)
        if not trim:
            return runs
        out = []
        for run in runs:
            while run and not (self.namish(tokens[run[0]][2]) or self._base(tokens[run[0]][2], self.first)
                               or self.unwordy(tokens[run[0]][2]) or self._camel_name(tokens[run[0]][2])):
                run = run[1:]
            if run:
                out.append(run)
        return out

    def _evidence(self, text: str, tokens: list, run: list[int]) -> bool:
        """Context that says the words are a person: a reporting verb or a role word before
        ("säger Yonas", "undersköterskan Thuzar"), a reporting verb, an age, a party or a role
        after ("Rawan berättar", "Nasrin, 48 år", "Ove Lindtorp (C)", "Kerry Dalmoor, ordförande")."""
        i, j = run[0], run[-1]
        before = tokens[i - 1][2] if i > 0 and text[tokens[i - 1][1]:tokens[i][0]] in (" ", "\n") else ""
        if before.islower() and (before in self._report or (self._role_re and self._role_re.search(before))):
            return True
        e = tokens[j][1]
        age = AGE.match(text, e)
        if (age and age.group(1).strip()) or (self._party_re and self._party_re.match(text, e)):
            return True
        if j + 1 < len(tokens) and text[e:tokens[j + 1][0]] == " " and tokens[j + 1][2] in self._report:
            return True
        m = re.match(r",[ \t]*([a-zåäö]+)", text[e:e + 40])
        return bool(m and self._role_re and self._role_re.search(m.group(1)))

    def _predicate_role(self, text: str, end: int) -> bool:
        """A role word said of the words ending at `end`: "… är medicinskt ansvarig läkare"."""
        m = PREDICATE.match(text, end)
        return bool(m and self._role_re and any(self._role_re.search(w) for w in m.group(1).split()))

    def _foreign_word(self, word: str) -> bool:
        """No Swedish word as it stands (not in the dictionary, no compound of Swedish words, not
        very common) and no English word: "Firas", not "Projekt", "Sedan", "Images". Weaker than
        `unwordy` (which also wants the word rare in Swedish text, where names are counted)."""
        low = word.lower()
        return CAPITALISED.match(word) is not None and not self.vetoed(word) and word not in self._places \
            and low not in swedish_words() and _word_zipf(low) < self.very_common_zipf \
            and _english_zipf(low) < self.english_max_zipf and not _compound(low, 5, self.first) \
            and not (low.endswith("s") and _english_zipf(low[:-1]) >= self.english_max_zipf)

    def _chains(self, text: str, tokens: list, flags: list[bool]) -> None:
        """Words the lists do not know, from their neighbours: two or more name-like words in a
        row ("Senait Baravi", "Rawan Alqudmi AlKarmadi"), or a run with evidence from context."""
        for run in self._runs(text, tokens):
            words = [tokens[k][2] for k in run]
            namish = [self.namish(w) or self._camel_name(w) for w in words]
            if len(run) >= 2 and (all(namish) or (any(namish) and all(map(self.unwordy, words)))):
                hit = True
            else:
                hit = any(namish) and self._evidence(text, tokens, run) and \
                    (namish[0] or self.name_like(words[0]) or (len(run) > 1 and self._base(words[0], self.first)))
            if hit:
                for k in run:
                    flags[k] = True
        # At a sentence start the first word of a name may be one a list does not hold and that
        # Swedish text uses often (names are counted there): two or more words, none Swedish
        # or English, the last clearly a name, and context that says a person ("Zahra Olwenni är
        # medicinskt ansvarig läkare", "Zahra Olwenni berättar").
        for run in self._runs(text, tokens, trim=False):
            s0 = tokens[run[0]][0]
            initial = s0 == 0 or SENTENCE_END.search(text[max(0, s0 - 4):s0]) is not None
            if len(run) < 2 or not initial or all(flags[k] for k in run):
                continue
            words = [tokens[k][2] for k in run]
            last = words[-1]
            if all(map(self._foreign_word, words)) and (self.namish(last) or self.unwordy(last)) and \
                    (self._evidence(text, tokens, run) or self._predicate_role(text, tokens[run[-1]][1])):
                for k in run:
                    flags[k] = True

    def _nicknames(self, text: str, tokens: list, flags: list[bool]) -> set[int]:
        """A nickname in quotation marks between a first name and a surname: "Margit ”Mojje”
        Tallkvist" is one person, so the three words make one name (returned: the indexes of
        the tokens joined to the one before them)."""
        joins: set[int] = set()
        for i in range(len(tokens) - 2):
            (_, e0, first), (s1, _e1, nick), (s2, _, last) = tokens[i], tokens[i + 1], tokens[i + 2]
            nick = nick.rstrip("'’")
            close = text[s1 + len(nick):s2]
            if not (NICK_OPEN.fullmatch(text[e0:s1]) and NICK_CLOSE.fullmatch(close)):
                continue
            if not (flags[i] or (self._base(first, self.first) and not self.ambiguous(first))
                    or self.world_name(first)) or not CAPITALISED.match(nick) or self.vetoed(nick):
                continue
            # a nickname that is a word ("Lilla") only before a surname the lists know
            named = self.namish(nick) or self._shaped(nick, False) or self._base(nick, self.first)
            if CAPITALISED.match(last) and (flags[i + 2] or self._base(last, self.last) or
                                            (named and (self.namish(last) or self._shaped(last, True)))):
                flags[i] = flags[i + 1] = flags[i + 2] = True
                joins.update((i + 1, i + 2))
        return joins

    def _inner_parts(self, text: str, tokens: list, flags: list[bool]) -> None:
        """A short capitalised part between two name parts belongs to the name ("hans fru Thi Hu
        Lan Vo"), as does a listed name there: one person, one placeholder, not two."""
        for i in range(1, len(tokens) - 1):
            s, e, w = tokens[i]
            if flags[i] or not (flags[i - 1] and flags[i + 1]) or not CAPITALISED.match(w):
                continue
            if text[tokens[i - 1][1]:s] != " " or text[e:tokens[i + 1][0]] != " ":
                continue
            listed = self._base(w, self.first) or self._base(w, self.last) or self.world_name(w)
            if not self.vetoed(w) and w not in self._places and \
                    (listed or (len(w) <= 3 and not self.very_common(w))):
                flags[i] = True

    def unwordy(self, word: str) -> bool:
        """No Swedish or English word in use ("Fardin", "Kouhestani")."""
        low = word.lower()
        return not self.vetoed(word) and self._rare_word(low) and _english_zipf(low) < self.english_max_zipf \
            and not _compound(low, 5, self.first)

    def _camel_name(self, word: str) -> bool:
        """"AlKarmadi" (not "FaceTime", "LinkedIn"): the part after the inner capital is no word."""
        m = CAMEL.match(word)
        if not m:
            return False
        tail = re.split(r"(?=[A-ZÅÄÖ])", word)[-1]
        return self.unwordy(tail) and self.unwordy(word)

    def _credit_name(self, words: list[str], initial_after: bool = False) -> bool:
        """Words of a credit or byline that make a name: first name and surname, any case. Two
        or more words need no name list: a first part shaped like a first name (no Swedish or
        English word in use, no compound) and a last part shaped like a surname (also a
        compound with a surname ending: "Lindstrand", "Åkerholm"). One word: a listed first name
        (one that is also a Swedish word only when an initial follows: "ELIN R")."""
        norm = ["-".join(p.capitalize() for p in w.split("-")) if w.isupper() or w.islower() else w for w in words]
        if any(self.vetoed(w) or (w.isupper() and len(w) <= 3) for w in words) or \
                any(not CAPITALISED.match(w) or w in self._places for w in norm):
            return False
        first, last = norm[0], norm[-1]
        if len(norm) == 1:       # a first name that is also a word ("Elin") only before an initial
            return bool(self._base(first, self.first) or self.world_name(first)) and \
                (initial_after or not self.ambiguous(first))
        return bool(self._base(first, self.first) or self.namish(first) or self._shaped(first, False)) and \
            bool(self._base(last, self.last) or self.namish(last) or self._shaped(last, True))

    def _shaped(self, word: str, surname: bool) -> bool:
        """Shaped like a name where the context already says "a name comes here" (a credit, a
        nickname): no Swedish word in common use, no English word, no inflected form of a Swedish
        word ("Projektet"; a first name may end like a genitive or passive: "Idris", "Anas"). A
        first name is no compound of Swedish words; a surname is no dictionary word in use, and a
        compound only when it ends like listed surnames ("Lindstrand")."""
        low = word.lower()
        if self.vetoed(word) or word in self._places or self.ambiguous(word) or \
                _english_zipf(low) >= self.english_max_zipf:
            return False
        if any(low.endswith(x) and low[:-len(x)] in swedish_words() for x in INFLECTIONS if surname or x != "s"):
            return False
        if not surname:
            return not _compound(low, 4, self.first)
        if low in swedish_words() and _word_zipf(low) >= 2.5:
            return False
        return not _compound(low, 4, self.first) or _surname_ending(low, self.last)

    def _credits(self, text: str, tokens: list, flags: list[bool]) -> None:
        """Photo and text credits, bylines: "Foto: Hedda Lönnqvarn", "FOTO: SIGNE HALLSTRÖM",
        "Text och bilder: ELIN R", "Text: Jannike Ödmarkstrand", "arkivbild: jonas w",
        "- Av Ove Lindtorp": the marker, then one to four words that make a name (`_credit_name`)."""
        starts = {s: i for i, (s, _, _) in enumerate(tokens)}
        marks = [m.end() for m in self._credit_re.finditer(text)] + [m.end() for m in self._byline_re.finditer(text)]
        for pos in marks:
            i = starts.get(pos)
            run = []
            while i is not None and i < len(tokens) and len(run) < 4:
                run.append(i)
                if i + 1 >= len(tokens) or text[tokens[i][1]:tokens[i + 1][0]] != " ":
                    break
                i += 1
            while run and not self._credit_name([tokens[k][2] for k in run]) and len(run) > 1:
                run = run[:-1]
            if run and self._credit_name([tokens[k][2] for k in run], self._initial_after(text, tokens, run[-1])):
                for k in run:
                    flags[k] = True

    @staticmethod
    def _initial_after(text: str, tokens: list, k: int) -> bool:
        """An initial follows token `k` ("ELIN R", "jonas w."): the word before it is a person's."""
        return k + 1 < len(tokens) and len(tokens[k + 1][2]) == 1 and text[tokens[k][1]:tokens[k + 1][0]] == " " \
            and not text[tokens[k + 1][1]:tokens[k + 1][1] + 1].isalnum()

    def _coordinated(self, text: str, tokens: list, flags: list[bool]) -> None:
        """A name-like word listed with a name: "Ilka och Zosia", "Dorota, Agnieszka, Marek"."""
        for _ in range(3):
            changed = False
            for i, (s, e, w) in enumerate(tokens):
                if flags[i] or not CAPITALISED.match(w) or not self.namish(w):
                    continue
                if (s == 0 or SENTENCE_END.search(text[max(0, s - 4):s])) and not \
                        (self._base(w, self.first) or self.world_name(w)):
                    continue                 # "Supervisor, Hedda Lönnqvarn"
                for j in (i - 2, i - 1, i + 1, i + 2):
                    if 0 <= j < len(tokens) and flags[j]:
                        a, b = sorted((i, j))
                        gap = text[tokens[a][1]:tokens[b][0]]
                        if gap in (", ", " och ") or (b - a == 2 and tokens[a + 1][2] == "och" and gap == " och "):
                            flags[i] = changed = True
                            break
            if not changed:
                return

    def _spans(self, text: str, tokens: list, flags: list[bool], joins: set[int] = frozenset()) -> list[Span]:
        spans: list[Span] = []
        for i, (s, e, w) in enumerate(tokens):
            if not flags[i]:
                continue
            if spans and i > 0 and flags[i - 1] and (text[tokens[i - 1][1]:s] == " " or i in joins):
                last = spans[-1]
                spans[-1] = Span(last.start, e, "NAMN", text[last.start:e])
            else:
                spans.append(Span(s, e, "NAMN", w))
        return spans

    def capitalised_kept(self, text: str) -> list[str]:
        """Capitalised words not at a sentence start and not replaced (kept for callers)."""
        return [c[0] for c in self.review_candidates(text) if c[1] >= 0.2 and not c[4]]

    def name_score(self, word: str, initial: bool, beside_placeholder: bool) -> float:
        """How likely a kept word is a name, 0-1 (the review list's order)."""
        norm = "-".join(p.capitalize() for p in word.split("-")) if word.isupper() or word.islower() else word
        if self.vetoed(norm) or norm in self._places:
            return 0.1
        listed = bool(self._base(norm, self.first) or self._base(norm, self.last) or self.world_name(norm))
        if word.islower():
            return 0.5 if listed and word not in swedish_words() and self._rare_word(word) else 0.0
        if word.isupper() and len(word) < 4:
            return 0.0
        score = 0.9 if listed else 0.7 if self.namish(norm) or self._camel_name(norm) else \
            0.45 if self.unwordy(norm) else 0.2
        if beside_placeholder and score >= 0.45:
            score = max(score, 0.8)
        if initial and not listed:
            score = min(score, 0.4) if score >= 0.45 else 0.0
        return score if not word.isupper() else min(score, 0.6)

    def review_candidates(self, text: str) -> list[tuple[str, float, int, int, bool]]:
        """Words a person should look at: (word, score, start, end, vetoed) for every kept word
        that may be a name: capitalised, CAPITALS, a name in lower case; at a sentence start
        only when it looks like a name. Placeholders are skipped."""
        out = []
        for m in TOKEN.finditer(text):
            w, s = m.group(0), m.start()
            if text[max(0, s - 1):s] == "[" or (w.isupper() and text[m.end():m.end() + 1] == " " and
                                                 re.match(r" \d+\]", text[m.end():m.end() + 6])):
                continue                                     # "[NAMN 3]"
            initial = s == 0 or bool(SENTENCE_END.search(text[max(0, s - 4):s]))
            near = "]" in text[max(0, s - 3):s] or text[m.end():m.end() + 2].startswith(" [")
            if not (CAPITALISED.match(w) or CAMEL.match(w) or w.isupper() or w.islower()):
                continue
            score = self.name_score(w, initial, near)
            if (score > 0 and not w.islower()) or score >= 0.5 or (CAPITALISED.match(w) and not initial):
                out.append((w, score, s, m.end(), score == 0.1))
        return out
