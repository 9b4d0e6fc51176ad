"""The theme record passed between stages (themes -> draft -> export), stored as JSON in the
store and in out/themes.json. One dataclass instead of dicts read by string keys."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass
class ConceptMention:
    """A concept some members of a theme speak about (segment-level), with its evidence."""
    concept: str                     # concept id
    label: str
    narrative: str
    kind: str                        # praise | outcome | wish | critique | nothing
    respondents: int
    segment_ids: list[str]


@dataclass
class Theme:
    id: str
    label: str
    description: str = ""
    source: str = "inductive"        # inductive | codebook (where the theme came from)
    kind: str = "new"                # concept (named by the lexicon) | new (proposed) | codebook (the user's own)
    concept: str | None = None       # concept id when kind == "concept"
    tone: str = "praise"             # praise | outcome | wish | critique | nothing
    narrative: str = ""              # third-person predicate for the drafter
    keywords: list[str] = field(default_factory=list)
    size: int = 0                    # segments
    respondents: int = 0
    share: float = 0.0               # of all respondents in the material
    representative: list[str] = field(default_factory=list)
    groups: dict = field(default_factory=dict)
    segment_ids: list[str] = field(default_factory=list)
    voice_respondents: int = 0       # respondents who are participants (participant voice)
    concepts: list[ConceptMention] = field(default_factory=list)   # what members speak about, most first
    central: str = ""                # the most typical member's text
    carriers: list[str] = field(default_factory=list)   # members whose own words carry the label
    term: str = ""                   # a new theme: the key term its label is built from

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Theme":
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["concepts"] = [c if isinstance(c, ConceptMention) else ConceptMention(**c)
                            for c in data.get("concepts", [])]
        return cls(**data)
