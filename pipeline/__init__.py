"""narrativ: Swedish free-text answers and interviews -> themes with evidence -> a drafted
narrative. Stages (one module each): ingest -> segment -> (pseudonymise, embed, themes, draft,
export to come). The store is SQLite (pipeline.store); settings live in study.toml."""
from .study import Study

__all__ = ["Study"]
__version__ = "0.1.0"
