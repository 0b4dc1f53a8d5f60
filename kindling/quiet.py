"""Library noise off by default: Hugging Face progress bars, load reports, deprecation warnings.

Loading a model or tokenizing a dataset makes transformers, datasets and huggingface_hub draw
progress bars ("Loading weights", "Writing model shards", "Tokenizing train dataset"), print load
reports (a reward model's freshly initialised `score.weight | MISSING`, expected and harmless)
and TRL/transformers raise FutureWarnings about their own internals. None of it is about the
user's run, and it buries Kindling's own lines. Every command starts quiet; `--verbose` (on any
command) or KINDLING_VERBOSE=1 brings it all back. Errors are never hidden.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

VERBOSE_ENV = "KINDLING_VERBOSE"
_PROGRESS_ENVS = ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS")
_VERBOSITY_ENV = "TRANSFORMERS_VERBOSITY"
_set_by_us: set[str] = set()


def set_library_noise(verbose: bool) -> None:
    """Quiet (False) or restore (True) the libraries' progress bars, logs and FutureWarnings.

    Environment variables cover libraries imported later (commands import them lazily); the
    libraries already imported are switched directly.
    """
    verbose = verbose or os.environ.get(VERBOSE_ENV, "") not in ("", "0")
    for name, value in zip((*_PROGRESS_ENVS, _VERBOSITY_ENV), ("1", "1", "error"), strict=True):
        if verbose:
            if name in _set_by_us:
                os.environ.pop(name, None)
                _set_by_us.discard(name)
        elif name not in os.environ:
            os.environ[name] = value
            _set_by_us.add(name)
    warnings.filterwarnings("default" if verbose else "ignore", category=FutureWarning)
    _switch_loaded_libraries(verbose)


def _switch_loaded_libraries(verbose: bool) -> None:
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(logging.WARNING if verbose else logging.ERROR)
        (hf_logging.enable_progress_bar if verbose else hf_logging.disable_progress_bar)()
    if "datasets" in sys.modules:
        import datasets

        (datasets.enable_progress_bars if verbose else datasets.disable_progress_bars)()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

        (enable_progress_bars if verbose else disable_progress_bars)()
