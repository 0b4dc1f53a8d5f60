"""Principle versions: lineage with metrics, side-by-side diffs, the editor's two writes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, field_validator
from starlette.responses import JSONResponse, Response

from kindling.store import principles as pv
from kindling.store.principle_io import validate_rules
from kindling.studio import principles_data as pd
from kindling.studio.deps import MAX_ID, QueryId, RowId, page, store_of

router = APIRouter()


class EditIn(BaseModel):
    """A new version from the editor: the edited version's id and the new rules."""

    model_config = {"extra": "forbid"}
    parent_id: int = Field(ge=1, le=MAX_ID, description="The version that was edited.")
    text: str = Field(min_length=1, max_length=pd.MAX_TEXT, description="The rules, one a line.")
    name: str | None = Field(None, max_length=200, description="A name; default: parent's + (edited).")
    feedback: str | None = Field(None, max_length=5000, description="Why it was edited.")

    @field_validator("text")
    @classmethod
    def _has_rules(cls, text: str) -> str:
        """One rule a line, checked as the CLI checks a principle file (blank lines dropped)."""
        lines = [line for line in text.splitlines() if line.strip()]
        return "\n".join(validate_rules(lines, "editor"))


@router.get("/api/principles")
def api_versions(request: Request, kind: str | None = Query(None, max_length=32)) -> dict[str, Any]:
    """Versions as lineage trees (by parent), each with its validation metrics."""
    return {"kind": kind, "trees": pd.lineage_forest(store_of(request), kind)}


@router.get("/api/principles/diff")
def api_diff(request: Request, a: QueryId, b: QueryId) -> dict[str, Any]:
    """Two versions side by side, rule by rule, and the unified diff."""
    store = store_of(request)
    va, vb = pv.get_version(store, a), pv.get_version(store, b)
    return {"a": pd.version_row(va), "b": pd.version_row(vb), "rows": pd.side_by_side(va, vb),
            "unified": pv.versions_diff(va, vb)}


@router.get("/api/principles/{version_id}")
def api_version(request: Request, version_id: RowId) -> dict[str, Any]:
    """One version with its rules and its ancestors' ids (newest first)."""
    store = store_of(request)
    version = pv.get_version(store, version_id)
    return {**pd.version_row(version, text=True),
            "lineage": [v.id for v in pv.lineage(store, version_id)]}


@router.post("/api/principles", status_code=201)
def api_save(request: Request, edit: EditIn) -> Response:
    """Save edited rules as a new immutable version (origin manual, parent = the edited one).

    201 with the new version; 200 with `created: false` when a version of that kind already
    holds exactly these rules (nothing is written).
    """
    version, created = pd.save_edit(store_of(request), edit.parent_id, edit.text, edit.name,
                                    edit.feedback)
    return JSONResponse({**pd.version_row(version, text=True), "created": created},
                        status_code=201 if created else 200)


@router.post("/api/principles/{version_id}/activate")
def api_activate(request: Request, version_id: RowId) -> dict[str, Any]:
    """Make this version the active one of its kind (one transaction)."""
    return pd.version_row(pv.activate(store_of(request), version_id))


@router.get("/principles")
def principles_page(request: Request, kind: str | None = Query(None, max_length=32)) -> Response:
    """Every version as a lineage tree with metrics; pick two to compare."""
    rows = pd.flatten(pd.lineage_forest(store_of(request), kind or None))
    return page(request, "principles.html", rows=rows, kind=kind or "", title="principles")


@router.get("/principles/diff")
def diff_page(request: Request, a: QueryId, b: QueryId) -> Response:
    """Two versions side by side."""
    store = store_of(request)
    va, vb = pv.get_version(store, a), pv.get_version(store, b)
    return page(request, "diff.html", a=pd.version_row(va), b=pd.version_row(vb),
                rows=pd.side_by_side(va, vb), title=f"principles {a} ↔ {b}")


@router.get("/principles/{version_id}")
def version_page(request: Request, version_id: RowId) -> Response:
    """One version: its rules, lineage and metrics, and the editor."""
    store = store_of(request)
    version = pv.get_version(store, version_id)
    chain = [pd.version_row(v) for v in pv.lineage(store, version_id)]
    return page(request, "version.html", v=pd.version_row(version, text=True), chain=chain,
                title=f"principles {version_id}")
