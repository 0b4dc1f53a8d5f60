"""What an LLM call costs: the price table (configs/prices.yaml, data not code, a user's file
merged over it) and the pure arithmetic pricing one call from its model and token counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kindling.store import yaml_io
from kindling.store.errors import UserError
from kindling.store.yaml_lines import DuplicateKey, line_of, node_lines
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PRICES_FILE = "prices.yaml"
"""The price table's name in configs/ (shipped) and in a project's configs/ folder."""

PER_TOKENS = 1_000_000
"""Prices are per million tokens."""


class PriceError(UserError):
    """A price file that cannot be used; the message names file, line and field."""


class ModelPrice(BaseModel):
    """One model's prices per million tokens."""

    model_config = ConfigDict(extra="forbid")
    input: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    output: float = Field(ge=0)
    currency: str | None = None  # else the file's
    source: str
    read_on: dt.date
    aliases: list[str] = Field(default_factory=list)


class PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str = "USD"
    models: dict[str, ModelPrice] = Field(default_factory=dict)


@dataclass(frozen=True)
class Price:
    """A model's prices, resolved: currency filled in, per million tokens."""

    model: str
    input: float
    cached_input: float | None
    output: float
    currency: str
    source: str
    read_on: dt.date


@dataclass(frozen=True)
class PriceTable:
    """Prices by model name and alias (`price_of` looks names up)."""

    prices: dict[str, Price]

    def price_of(self, model: str) -> Price | None:
        """The price for `model` (a name or alias, exactly, then case-insensitively); None if the
        table has none (never a guessed 0)."""
        if model in self.prices:
            return self.prices[model]
        lowered = {k.lower(): v for k, v in self.prices.items()}
        return lowered.get(model.lower())


def parse_prices(data: dict[str, Any], where: str, text: str | None = None) -> dict[str, Price]:
    """A price mapping (a prices.yaml's content, or a config's `prices:`) validated and resolved
    by name and alias.

    Raises:
        PriceError: an unknown key, a missing or negative price, a bad date: `where:line: field
            models.X.input: ...` (the line when the YAML `text` is given).
    """
    lines: dict[Any, int] | None = None
    if text is not None:
        try:
            lines = node_lines(text)
        except DuplicateKey as exc:
            raise PriceError(f"{where}:{exc.line}: {exc}") from exc
        except yaml.YAMLError:
            lines = None
    try:
        parsed = PriceFile.model_validate(data)
    except ValidationError as exc:
        messages = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            at = f"{where}:{line_of(lines, loc)}" if lines else where
            message = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
            messages.append(f"{at}: field {'.'.join(map(str, loc))}: {message}")
        raise PriceError("; ".join(messages)) from exc
    out: dict[str, Price] = {}
    for name, m in parsed.models.items():
        price = Price(name, m.input, m.cached_input, m.output, m.currency or parsed.currency,
                      m.source, m.read_on)
        for key in (name, *m.aliases):
            out[key] = price
    return out


def read_prices(path: Path) -> dict[str, Price]:
    """A prices.yaml file, validated (see `parse_prices`).

    Raises:
        PriceError: the file cannot be read, is not a YAML mapping, or a field is invalid.
    """
    data = yaml_io.read_yaml_mapping(path, "price table", PriceError)
    return parse_prices(data, str(path), yaml_io.read_yaml_text(path, "price table", PriceError))


def load_prices(shipped: Path, user: Path | dict[str, Any] | None = None, *,
                local_models: set[str] | frozenset[str] = frozenset()) -> PriceTable:
    """The shipped price table with a user's merged over it, model by model (a user's entry
    replaces the shipped one of that name or alias); `local_models` (models a config runs with
    `backend: local`) cost 0.

    Args:
        shipped: the shipped table, `shipped_configs() / PRICES_FILE` (the store layer does not
            import kindling.configs: the caller passes it).
        user: a prices.yaml path, or a config's `prices:` mapping (same shape), or None.
        local_models: model names served locally.

    Raises:
        PriceError: the shipped or user table is invalid (file, line, field named).
    """
    prices = read_prices(shipped)
    if isinstance(user, Path):
        prices |= read_prices(user)
    elif user is not None:
        prices |= parse_prices(user, "config prices")
    for name in local_models:
        prices[name] = Price(name, 0.0, 0.0, 0.0, "USD", "local", dt.date(2026, 12, 6))
    return PriceTable(prices)


def merged_prices(shipped: Path, files: list[Path | None],
                  local_models: set[str] | frozenset[str] = frozenset()) -> PriceTable:
    """The shipped table with each of `files` (None skipped) merged over it in turn, model by
    model; `local_models` cost 0.

    Raises:
        PriceError: a file is missing or invalid (file, line and field named).
    """
    prices = read_prices(shipped)
    for path in files:
        if path is not None:
            prices |= read_prices(path)
    for name in local_models:
        prices[name] = Price(name, 0.0, 0.0, 0.0, "USD", "local", dt.date(2026, 12, 6))
    return PriceTable(prices)


def prices_for_run(shipped: Path, config: dict[str, Any], project_file: Path | None = None,
                   override: Path | None = None) -> PriceTable:
    """The table a run is priced with, wherever its cost is shown: the shipped table, then the
    project's (`project_file`, e.g. ./configs/prices.yaml, when it is a file), then the run's own
    `budget.prices` (the file its config names, when it is still there), then `override`
    (`--prices FILE`); the models the config serves with `backend: local` cost 0.

    Raises:
        PriceError: one of the files is invalid (file, line and field named).
    """
    budget = config.get("budget") if isinstance(config, dict) else None
    own = budget.get("prices") if isinstance(budget, dict) else None
    files = [project_file if project_file is not None and project_file.is_file() else None,
             Path(own) if isinstance(own, str) and Path(own).is_file() else None, override]
    return merged_prices(shipped, files, local_models_in(config))


def call_cost(price: Price | None, prompt_tokens: int | None, completion_tokens: int | None,
              cached_tokens: int | None = None) -> float | None:
    """What one call (or a sum of calls) cost in `price.currency`; None when it cannot be known
    (no price for the model, or no token counts).

    `prompt_tokens` includes any cached tokens (as DeepSeek and OpenAI report it); cached ones are
    priced at the cached rate when their count is known and the model has one, else as input.
    """
    if price is None or (prompt_tokens is None and completion_tokens is None):
        return None
    prompt, completion = prompt_tokens or 0, completion_tokens or 0
    cached = min(cached_tokens or 0, prompt) if price.cached_input is not None else 0
    return ((prompt - cached) * price.input + cached * (price.cached_input or 0.0)
            + completion * price.output) / PER_TOKENS


def local_models_in(config: Any) -> set[str]:
    """Model names a run's config runs on this machine (anywhere in it): those served with
    `backend: local`, and a policy it samples itself (curate's `policy.model`, a model folder)."""
    found: set[str] = set()
    if isinstance(config, dict):
        if config.get("backend") == "local" and isinstance(config.get("model"), str):
            found.add(config["model"])
        policy = config.get("policy")
        if isinstance(policy, dict) and isinstance(policy.get("model"), str):
            found.add(policy["model"])
        for value in config.values():
            found |= local_models_in(value)
    elif isinstance(config, list):
        for value in config:
            found |= local_models_in(value)
    return found
