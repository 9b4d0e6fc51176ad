"""narrativ: Swedish free-text answers and interviews -> themes with evidence -> a drafted
narrative. Stages (one module each): ingest -> pseudonymise -> segment -> embed -> themes ->
draft -> export. The store is SQLite (pipeline.store); settings live in study.toml."""
import os

# Nothing in narrativ may reach the network: put the Hugging Face libraries in offline mode
# before any of them is imported (they read these once, at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from .study import Study  # noqa: E402

__all__ = ["Study"]
__version__ = "0.1.0"
