"""Path A's per-item state (a TypedDict with reducers where parallel nodes write the same key)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class CurateState(TypedDict, total=False):
    item_key: str
    query_id: int
    query: str
    response_id: int | None
    candidate: str | None
    sample_index: int
    exemplars: list[str]
    pros: list[str]
    cons: list[str]
    initial_verdict: int | None
    judge_reason: str | None
    final_verdict: int | None
    reflect_reason: str | None
    overturned: bool
    errors: Annotated[list[str], operator.add]
    failed_raw: Annotated[dict[str, Any], merge_dicts]
    verdict_id: int
