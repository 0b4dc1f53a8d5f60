"""One rule of the reward-hacking guard (guard.py for zh, guard_en.py for en)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GuardRule:
    """One pattern a response must not contain; `name` is what a flagged item reports."""

    name: str
    pattern: re.Pattern[str]
    description: str
