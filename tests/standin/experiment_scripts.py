"""Script set "experiment": Path B's scripted roles ("adversarial") plus a Path A judge whose
verdict is a stable hash of the candidate, so a query's samples get both verdicts (pairs form)
whatever lengths a barely trained policy writes."""

from __future__ import annotations

from typing import Any

import tests.standin.adversarial_scripts  # noqa: F401 - registers "adversarial"
from tests.standin.scripts import _digest, candidate_text, register_script


def judge(body: dict[str, Any]) -> dict[str, Any]:
    verdict = _digest(candidate_text(body)) % 2
    return {"verdict": verdict, "reason": f"scripted verdict {verdict}"}


register_script("experiment", {"judge": judge}, inherit="adversarial")
