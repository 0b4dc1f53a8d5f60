"""What a debug session started from the browser runs with: a project config, and overrides that
cannot move its endpoint, model, key variable or the files it reads.

Overrides are judged by their effect, not their spelling: the config is validated with and
without them, and the two are compared field by field. Every chat-model section (an `LLMConfig`
anywhere in the config, including one the overrides create) keeps its backend, base_url, model,
api_key_env, local_runtime and gguf_file unless the studio was started with
`--allow-endpoint-overrides`, and even then a changed endpoint may only use a key variable that
one of the project's configs names. Path-valued fields (a principle set given as a path, the
embedding model, the policy model, a prices file) never change from the browser. Paths resolve as
the CLI resolves them run in the project folder (agents/paths.py).
"""

from __future__ import annotations

import copy
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kindling.agents.config import ConfigError, error_line, parse_sets, set_dotted
from kindling.agents.llm.config import LLMConfig
from kindling.agents.paths import config_base, resolve_dotted, resolve_paths
from kindling.studio.project_configs import Listing, pick, scan

ENDPOINT_FIELDS = ("backend", "base_url", "model", "api_key_env", "local_runtime", "gguf_file")
"""The fields of a chat-model section that say where calls go, with which key, to which model."""
PRINCIPLE_FIELDS = ("principles", "detector_principles", "generator_strategies")
"""Principle references: a version id or a built-in set's name may change, a path may not."""
PATH_FIELDS = ("retrieval.embedding_model", "policy.model", "budget.prices")
"""Fields naming a model by hub id or path, or a file the run reads: they never change from the
browser."""
DEFAULTS = "the built-in defaults"
_ABSENT = object()


class OverrideRefused(ConfigError):
    """Overrides from the browser that would change what the project's config lets a run reach."""


class ConfigGate:
    """The project's configs and the override rules of one studio.

    Args:
        project: The project folder whose configs the studio runs.
        models: Graph name → its run config model.
        allow_endpoint_overrides: Whether overrides may change chat-model endpoints (then only to
            key variables the project's configs name).
    """

    def __init__(self, project: Path, models: dict[str, type[Any]], *,
                 allow_endpoint_overrides: bool = False) -> None:
        self.project, self.models = project.resolve(), models
        self.allow_endpoint_overrides = allow_endpoint_overrides

    def listing(self) -> Listing:
        """The project's YAML files as they are now, each with the graphs it validates for."""
        return scan(self.project, self.models)

    def key_variables(self, listing: Listing) -> frozenset[str]:
        """Key variables the project's configs use: of every section with backend openai."""
        names: set[str] = set()
        for found in listing.configs:
            for graph in found.graphs:
                cfg = self.models[graph].model_validate(found.data)
                names |= {s.api_key_env for s in llm_sections(cfg).values()
                          if s is not None and s.backend == "openai"}
        return frozenset(names)

    def config_file(self, name: str) -> Path:
        """The file of the project config listed as `name` (a name `pick` accepted)."""
        return self.project / name

    def config_for(self, graph: str, name: str | None, sets: list[str]) -> Any:
        """The validated config of `graph`: the project config `name` (None: the defaults) with
        the overrides `sets` (`key=value`, as `--set`) applied.

        Paths resolve as `kindling graph step GRAPH -c NAME --set ...` run in the project folder
        resolves them: the file's against the file's folder, the overrides' against the project
        folder (never the studio's working folder).

        Raises:
            ConfigError: an unknown graph, a name the project does not list for the graph, a bad
                override, or an override the studio refuses (OverrideRefused).
        """
        if graph not in self.models:
            raise ConfigError(f"unknown graph {graph!r}: {', '.join(self.models)}")
        model = self.models[graph]
        listing = self.listing()
        data: dict[str, Any] = {}
        if name is not None:  # its paths resolve against its own folder, as the CLI reads it
            found = copy.deepcopy(pick(listing, graph, name).data or {})
            data = resolve_paths(model, found, config_base(self.config_file(name)))
        where = DEFAULTS if name is None else name
        base = model.model_validate(copy.deepcopy(data))
        overrides = {k: v for k, v in parse_sets(sets).items() if v is not None}
        if not overrides:
            return base
        check_task_overrides(overrides)
        for key, value in overrides.items():  # as `--set` in the project folder
            set_dotted(data, key, resolve_dotted(model, key, value, self.project))
        try:
            changed = model.model_validate(data)
        except ValidationError as exc:
            lines = [error_line(model, e, where, overrides) for e in exc.errors()]
            raise ConfigError("; ".join(lines)) from exc
        keys = self.key_variables(listing) if self.allow_endpoint_overrides else frozenset()
        check_overrides(base, changed, allow_endpoints=self.allow_endpoint_overrides,
                        key_variables=keys)
        return changed


def check_task_overrides(overrides: dict[str, Any]) -> None:
    """A task may change from the browser only to a built-in task's name: a task folder is read
    from disk (task.yaml, its templates), so it is refused before the config is validated.

    Raises:
        OverrideRefused: naming the field (never its value).
    """
    from kindling.agents.task import builtin_tasks

    moved = [key for key, value in overrides.items() if key.rsplit(".", 1)[-1] == "task"
             and value not in builtin_tasks()]
    if moved:
        raise OverrideRefused(
            f"overrides may set {', '.join(moved)} only to a built-in task "
            f"({', '.join(builtin_tasks())}) from the browser: a task folder of your own goes in "
            "a project config's task: field")


def check_overrides(base: BaseModel, changed: BaseModel, *, allow_endpoints: bool,
                    key_variables: frozenset[str]) -> None:
    """Refuse overrides that moved a path field, or an endpoint (unless allowed, and then only to
    a key variable in `key_variables`).

    Raises:
        OverrideRefused: naming the fields that changed (never their values).
    """
    paths = path_changes(base, changed)
    if paths:
        raise OverrideRefused(
            f"overrides may not change {', '.join(paths)} from the browser (a path or model the "
            "run would read): put it in a project config and pick that config")
    moved = endpoint_changes(base, changed)
    if moved and not allow_endpoints:
        raise OverrideRefused(
            f"overrides may not change {', '.join(moved)}: the endpoint, model and key variable "
            "come from the project config (pick another one, or start the studio with "
            "--allow-endpoint-overrides)")
    unnamed = unnamed_keys(base, changed, key_variables)
    if moved and unnamed:
        known = ", ".join(sorted(key_variables)) or "none"
        raise OverrideRefused(
            f"{', '.join(unnamed)}: a changed endpoint may only use a key variable that a "
            f"project config names ({known})")


def llm_sections(cfg: BaseModel, prefix: str = "") -> dict[str, LLMConfig | None]:
    """Every place in `cfg` that holds a chat-model section (None where it is unset), dotted."""
    out: dict[str, LLMConfig | None] = {}
    for name, info in type(cfg).model_fields.items():
        value = getattr(cfg, name)
        if _holds_llm(info.annotation):
            out[prefix + name] = value
        elif isinstance(value, BaseModel):
            out |= llm_sections(value, f"{prefix}{name}.")
    return out


def _holds_llm(annotation: Any) -> bool:
    return annotation is LLMConfig or LLMConfig in typing.get_args(annotation)


def endpoint_changes(base: BaseModel, changed: BaseModel) -> list[str]:
    """Dotted endpoint fields whose value differs (a section set on one side only counts)."""
    before, after = llm_sections(base), llm_sections(changed)
    return [f"{where}.{f}" for where in {**before, **after} for f in ENDPOINT_FIELDS
            if getattr(before.get(where), f, None) != getattr(after.get(where), f, None)]


def unnamed_keys(base: BaseModel, changed: BaseModel, allowed: frozenset[str]) -> list[str]:
    """`where.api_key_env=NAME` of each changed openai section whose variable is not in `allowed`."""
    moved = {m.rsplit(".", 1)[0] for m in endpoint_changes(base, changed)}
    return [f"{where}.api_key_env={section.api_key_env}"
            for where, section in llm_sections(changed).items()
            if where in moved and section is not None and section.backend == "openai"
            and section.api_key_env not in allowed]


def path_changes(base: BaseModel, changed: BaseModel) -> list[str]:
    """Dotted path-valued fields whose value differs (a principle field may move to a version id
    or a built-in set's name)."""
    out = []
    for dotted in (*PRINCIPLE_FIELDS, *PATH_FIELDS):
        after = _dotted(changed, dotted)
        if _dotted(base, dotted) == after:
            continue
        if dotted in PRINCIPLE_FIELDS and _names_a_stored_or_built_in_set(after):
            continue
        out.append(dotted)
    return out


def _dotted(cfg: Any, dotted: str) -> Any:
    """The value at `a.b` (None under an unset section; _ABSENT where the model has no field)."""
    for key in dotted.split("."):
        if cfg is None:
            return None
        if not isinstance(cfg, BaseModel) or key not in type(cfg).model_fields:
            return _ABSENT
        cfg = getattr(cfg, key)
    return cfg


def _names_a_stored_or_built_in_set(value: Any) -> bool:
    from kindling.store.principle_io import principle_names

    return value is None or (isinstance(value, str) and (value.isdigit()
                                                          or value in principle_names()))
