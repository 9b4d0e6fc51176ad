"""Study settings: pipeline/defaults.toml overlaid with DIR/study.toml (checked against the
defaults' keys and types first: pipeline.settings)."""
from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path

from . import settings
from .errors import StudyError

STUDY_FILE = "study.toml"


def default_text() -> str:
    return resources.files("pipeline").joinpath("defaults.toml").read_text(encoding="utf-8")


def defaults() -> dict:
    return tomllib.loads(default_text())


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load(study_dir: str | Path) -> dict:
    """Settings for a study: defaults, then whatever DIR/study.toml overrides."""
    path = Path(study_dir) / STUDY_FILE
    cfg = defaults()
    if path.exists():
        try:
            user = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise StudyError(f"{path}: kan inte läsa inställningarna ({exc})") from None
        settings.check(user, cfg, path)        # an unknown key or a wrong type stops here
        cfg = _merge(cfg, user)
    cfg["concepts"]["lexicon"] = lexicon_path(cfg["concepts"]["lexicon"], Path(study_dir))
    return cfg


SHIPPED_LEXICONS = ("none", "samverkan")


def lexicon_path(value: str, study_dir: Path) -> str:
    """[concepts] lexicon as the loader takes it: "" / "none" / "samverkan" as they are, a
    path relative to the study folder made absolute (a path that is absolute stays)."""
    if not value or value in SHIPPED_LEXICONS:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (study_dir / path).resolve())


def write_default(study_dir: str | Path) -> Path:
    """Give a new study a full, commented copy of the settings to edit."""
    path = Path(study_dir) / STUDY_FILE
    if not path.exists():
        path.write_text(default_text(), encoding="utf-8")
    return path
