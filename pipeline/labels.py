"""Labels for themes no concept fits, and the screen every label passes.

A new theme is named by what its members share: the key term (a noun, by its use after an
article, possessive or preposition) that most of its respondents write, in the form they write
it most — "Om föreläsningarna". Never a cut clause of one answer: such a label speaks for one
respondent and often stops mid-phrase ("Sitt mål med"). The members that use the term *carry*
the label; the drafter counts them. A theme whose respondents share no such term is labelled
as what it is ("Blandade svar"), carried by all its members.
"""
from __future__ import annotations

import re
from collections import Counter

from .represent import TOKEN, LemmaTokenizer, stop_words as all_stop_words

MIXED = "Blandade svar"
# words after which a noun follows ("en kurs", "om föreläsningarna", "mina handledare")
_BEFORE_NOUN = set("""en ett min mitt mina din ditt dina sin sitt sina vår vårt våra er ert era hans hennes deras
    om på med av till från vid under efter inför kring genom mellan utan fler någon något några ingen inget inga
    alla varje hela denna detta dessa i""".split())
# words after which a verb follows ("att arbeta", "jag visste", "kan läsa")
_BEFORE_VERB = set("jag du han hon vi ni man kan ska skulle vill måste kunde".split())
# adjectives and pronouns that stand where nouns do ("min egen", "de andra")
_NOT_NOUNS = set("""egen eget egna annan annat andra hel helt hela samma viss visst vissa liten litet lilla små stor
    stort stora ny nytt nya gammal gammalt gamla bra god gott goda sådan sådant sådana mycket lite mer mest fler flest
    varandra själv själva kommunal kommunala regional regionala social sociala digital digitala central centrala
    ideell ideella nationell nationella individuell individuella""".split())
# nouns of time and manner that every answer uses and no theme is about ("Om veckan", "Om tiden")
_NO_TOPIC = set("""dag dagen dagar dagarna vecka veckan veckor veckorna månad månaden månader år året åren
    gång gången gånger tid tiden tider sätt sättet sak saken saker sakerna del delen delar liv livet""".split())
# articles: after them a noun phrase starts, and a word followed by a noun there is an attribute
_ARTICLES = set("en ett den det de".split())
# endings of adjectives, participles and adverbs: not the noun a label is about
_NOT_NOUN = re.compile(r"(tt|ig|igt|iga|isk|iskt|iska|ande|ende|bar|bart|bara|sam|samt|samma|lig|ligt|liga|nt|ade|erade|vis)$")
# a label never ends on these: prepositions, conjunctions, auxiliaries, articles, pronouns
DANGLING = set("""och eller att som men inte i på med för till av om från en ett de det den man är har kan ska så även
    då när medan eftersom trots kommer vill var blev blir får fick hade skulle kunde måste under vid efter
    genom mot utan hos mellan sin sitt sina min mitt mina vi jag du hen han hon dem oss mig""".split())
# verbs whose particle may end a phrase ("lyssnad på", "att lita på")
_PARTICLE_VERBS = ("lyssna", "lita", "tro", "tänk", "häng", "vänta", "titta", "räkna", "tycka", "tyck", "komm", "ta", "gå")
_DEFINITE = re.compile(r"(en|et|na|erna|arna|orna|rna|n)$")
_INFINITIVE_END = re.compile(r"[aåoeöyiu]$")


def term_label(keywords: list[str], texts: dict[str, str], respondents: dict[str, str],
               extra_stop: list[str], min_share: float = 0.4, taken: set | None = None) -> tuple[str, str, list[str]]:
    """(label, term, carriers) of a theme without a concept: `texts`/`respondents` by segment
    id. The term is a keyword (in keyword order) used as a noun and written by at least
    `min_share` of the theme's respondents — or two such nouns that together are ("Om
    lärarna och handledningen", term "lärarna eller handledningen") — naming no other theme
    (`taken`: the keys in use, updated). Carriers are the segments that use the term."""
    taken = taken if taken is not None else set()
    tok = LemmaTokenizer(all_stop_words(extra_stop))
    keys = {sid: set(tok(t)) for sid, t in texts.items()}
    everyone = len(set(respondents.values()))
    need = max(3, min_share * everyone)           # a topic is what at least three respondents write
    nouns = []                                      # (key, form, carriers) in keyword order
    for word in [w for w in keywords if " " not in w][:8]:
        key = next(iter(tok.keys([word])), None)
        if key is None or key in taken or any(key == k for k, _, _ in nouns):
            continue
        carriers = [sid for sid in texts if key in keys[sid]]
        form = _noun_form(key, [texts[s] for s in carriers], tok) if len(carriers) >= 2 else None
        if form and _base(form) not in taken:
            nouns.append((key, form, carriers))
    reach = lambda ids: len({respondents[s] for s in ids})          # noqa: E731
    for key, form, carriers in nouns:
        if reach(carriers) >= need:
            taken.update((key, _base(form)))
            return f"Om {_phrase(form, [texts[c] for c in carriers]) or form}", form, carriers
    # two nouns together, each written by at least a fifth of the respondents
    common = [n for n in nouns if reach(n[2]) >= max(2, 0.2 * everyone)]
    for a, b in [(a, b) for i, a in enumerate(common) for b in common[i + 1:]]:
        both = sorted(set(a[2]) | set(b[2]))
        if reach(both) >= need:
            taken.update((a[0], b[0], _base(a[1]), _base(b[1])))
            return f"Om {a[1]} och {b[1]}", f"{a[1]} eller {b[1]}", both
    return MIXED, "", list(texts)


_OWN = {"min": "sin", "mitt": "sitt", "mina": "sina", "mig": "sig", "jag": "man"}


def _phrase(form: str, texts: list[str]) -> str | None:
    """The words most of these texts put before the noun when they say one thing with it — "gå
    in i väggen", "berätta min historia" — as an "att" phrase in the third person ("att gå in i
    väggen", "att berätta sin historia"); None when they share no such run, or it is no verb
    phrase (a noun on its own says more than "på väg")."""
    runs: Counter = Counter()
    for text in texts:
        words = [w.lower() for w in (m.group() for m in TOKEN.finditer(text))]
        seen = set()
        for j, w in enumerate(words):
            if w == form:
                for n in range(1, 5):
                    if j - n >= 0:
                        seen.add(tuple(words[j - n:j]))
        runs.update(seen)
    need = max(3, 0.6 * len(texts))
    found = [r for r, k in runs.items() if k >= need]
    for run in sorted(found, key=len, reverse=True):
        verb = run[0]
        if _infinitive(verb, texts):
            return "att " + " ".join(_OWN.get(w, w) for w in run) + " " + form
    return None


def _infinitive(word: str, texts: list[str]) -> bool:
    """A verb in the infinitive: written after "att" or an auxiliary in these texts, ending as
    an infinitive does, and neither a function word nor a noun by the lemma table."""
    from .represent import lemma_table
    if not _INFINITIVE_END.search(word) or word in DANGLING or word in _BEFORE_NOUN or word in _ADVERBS:
        return False
    if lemma_table().get(word, word) != word:
        return False
    before = re.compile(r"(?i)\b(att|kan|ska|skulle|vill|måste|kunde|slippa|slipper|börja|fick|får)\s+" + re.escape(word) + r"\b")
    return sum(bool(before.search(t)) for t in texts) * 2 > len(texts)


def shared_nouns(texts: dict[str, str], respondents: dict[str, str], extra_stop: list[str],
                 need: int, most: int = 8) -> list[tuple[str, float, list[str]]]:
    """The nouns (used as ones, see `_noun_form`) that at least `need` respondents of these
    segments write, most written first: (form, share of the respondents, the segments using it)."""
    tok = LemmaTokenizer(all_stop_words(extra_stop))
    keys = {sid: set(tok(t)) for sid, t in texts.items()}
    writers: dict[str, set] = {}
    for sid, ks in keys.items():
        for k in ks:
            writers.setdefault(k, set()).add(respondents[sid])
    everyone = len(set(respondents.values())) or 1
    out = []
    for key in sorted(writers, key=lambda k: (-len(writers[k]), k)):
        if len(writers[key]) < need or len(out) >= most:
            break
        carriers = [sid for sid in texts if key in keys[sid]]
        form = _noun_form(key, [texts[s] for s in carriers], tok)
        if form:
            out.append((form, len(writers[key]) / everyone, carriers))
    return out


def shared_noun(texts: dict[str, str], respondents: dict[str, str], extra_stop: list[str],
                need: int) -> tuple[str, float, list[str]] | None:
    """The noun most respondents of these segments write, if at least `need` do (see
    `shared_nouns`)."""
    found = shared_nouns(texts, respondents, extra_stop, need, most=1)
    return found[0] if found else None


def _noun_form(key: str, texts: list[str], tok: LemmaTokenizer) -> str | None:
    """The form of the word with this key most written in these texts, if it is used as a
    noun (after an article, possessive or preposition at least once; not an adjective ending;
    not mostly capitalised inside a sentence, as names of places and organisations are)."""
    forms: Counter = Counter()
    after_det = after_verb_word = capitalised = inside = attribute = 0
    for text in texts:
        found = list(TOKEN.finditer(text))
        words = [m.group() for m in found]
        for j, w in enumerate(words):
            if tok.keys([w]) != [key]:
                continue
            forms[w.lower()] += 1
            before = words[j - 1].lower() if j > 0 else ""
            after_det += before in _BEFORE_NOUN
            joined = j + 1 < len(words) and not text[found[j].end():found[j + 1].start()].strip()
            after = words[j + 1] if joined else ""
            # "en säker plats": the word stands before the noun of its phrase
            attribute += before in _ARTICLES and _noun_after(after)
            after_verb_word += before in _BEFORE_VERB or (before == "att" and w.lower().endswith("a"))
            if j > 0:
                inside += 1
                capitalised += w[:1].isupper()
    if not forms or not after_det or after_verb_word >= after_det or attribute * 2 >= after_det:
        return None
    # the form most written, a definite or plural form first ("kursen" rather than "kurs")
    form = min(forms.items(), key=lambda kv: (not _DEFINITE.search(kv[0]), -kv[1], len(kv[0]), kv[0]))[0]
    if _NOT_NOUN.search(form) or form in _BEFORE_NOUN or form in _NOT_NOUNS or form in _NO_TOPIC \
            or _verb_form(form) or _adjective_form(form) \
            or (inside and capitalised * 2 > inside):
        return None
    return form


_ADVERBS = set("där här som inom utanför bland hemma nu också verkligen väldigt mycket lite bara ju".split())


def _noun_after(word: str) -> bool:
    """Could `word` be the noun of a phrase an earlier word stands before (not a function word,
    an adverb or a verb form)?"""
    low = word.lower()
    return word.isalpha() and word.islower() and not (low in DANGLING or low in _BEFORE_NOUN or low in _BEFORE_VERB
                                                        or low in _ADVERBS or _verb_form(low))


def _base(form: str) -> str:
    """A noun's base form, so that "kurs" and "kursen" name one topic."""
    from .represent import lemma_table
    return "=" + lemma_table().get(form, form)


def _adjective_form(word: str) -> bool:
    """A neuter or plural adjective by the lemma table: nytt (ny), stort (stor), nya (ny)."""
    from .represent import lemma_table
    lemma = lemma_table().get(word, word)
    if lemma == word:
        return False
    # "kaffet" is kaffe + t too, but a noun: a lemma ending in a vowel takes -tt as adjective
    return word in (lemma + "tt", lemma + "a") or (word == lemma + "t" and lemma[-1:] not in "aeiouyåäö")


def _verb_form(word: str) -> bool:
    """A verb by spaCy's lemma table: present tense arbetar (arbeta), läser (läsa); past tense
    visste (veta), arbetade (arbeta), passive anställdes (anställa); a participle in -erad (isolerad)."""
    from .represent import lemma_table
    lemma = lemma_table().get(word, word)
    if len(word) > 6 and re.search(r"(erad|erade|erat)$", word):
        return True
    if word.endswith(("des", "tes")) and word == lemma + "es":          # anställdes (anställd)
        return True
    return lemma.endswith("a") and lemma != word and (word in (lemma + "r", lemma[:-1] + "er")
                                                      or word.endswith(("de", "te", "des", "tes", "as")))


def label_problems(label: str) -> list[str]:
    """What is wrong with a theme label as a person would read it (empty list: nothing)."""
    problems = []
    words = label.split()
    if not words:
        return ["tom etikett"]
    last = words[-1].strip(".,;:!?").lower()
    particle = last in ("på", "till", "med", "om", "av") and len(words) > 1 and (words[-2].lower().startswith(_PARTICLE_VERBS) or words[-2].lower() == "sig")
    if last in DANGLING and not particle:
        problems.append(f"slutar på '{last}'")
    if label.rstrip()[-1:] in ",;:-–(":
        problems.append("slutar mitt i en fras")
    if words[0] == "Att" and len(words) > 1 and re.search(r"(er|ar|ir|ur|at|it|ade|de)$", words[1].lower()):
        problems.append(f"'Att {words[1]}' är ingen infinitiv")
    if re.search(r"\[[A-ZÅÄÖ]+ \d+\]", label):
        problems.append("platshållare i etiketten")
    if len(words) > 10:
        problems.append("för lång")
    if "  " in label or label != label.strip():
        problems.append("tomrum")
    return problems
