"""How `kindling experiment plan` (and the start and end of `experiment paper`) show a study's plan."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from kindling.context import console
from kindling.rl.memory_estimate import GiB
from kindling.services.plan_study import StepPlan, StudyPlan
from kindling.views import money

PARTS = {"weights": "weights", "gradients": "gradients", "optimizer": "optimizer state",
         "activations": "activations", "logits": "logits", "vllm": "vLLM's share",
         "reference": "reference policy", "reward model": "reward model",
         "overhead": "runtime overhead"}


def gib(value: int) -> str:
    return f"{value / GiB:.1f}"


def plan_money(value: float | None) -> str:
    """A planned amount: cents, or three decimals below one unit (0.002)."""
    if value is None:
        return "unknown"
    if value == 0:
        return "0"
    return f"{value:,.2f}" if value >= 1 else f"{value:.3f}"


def memory_cell(step: StepPlan) -> str:
    if step.memory is None:
        return "" if step.memory_note is None or not step.name.startswith(("sft", "rm", "grpo")) \
            else "no estimate"
    fits = {True: "fits", False: "TOO BIG", None: "unchecked"}[step.memory.fits]
    return f"{gib(step.memory.total)} GiB {fits}"


def step_money(step: StepPlan) -> str:
    if not step.money:
        return ""
    if any(m.typical is None for m in step.money):
        return "no price"
    return plan_money(sum(m.typical or 0.0 for m in step.money))


def currency_of(study: StudyPlan) -> str:
    return study.totals.currency or "USD"


def print_plan(study: StudyPlan) -> None:
    """Every step, the memory breakdown, the LLM calls per role, the totals and any refusal."""
    devices = study.devices.describe() if study.devices else \
        "none seen, none in the file (memory estimated, not checked)"
    console.print(f"devices: {devices}", highlight=False, markup=False)
    if study.validated_on_cpu:
        console.print("[dim]no GPU here: training configs asking for bf16 were checked as on the "
                      "CPU (TRL refuses bf16 without a GPU); the commands are as they will run[/]",
                      highlight=False)
    table = Table(title="the plan, step by step", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for column in ("step", "runs in", "memory/device", "LLM calls",
                   f"money ({currency_of(study)})"):
        table.add_column(column, justify="left" if column in ("step", "runs in") else "right",
                         overflow="fold")
    for step in study.steps:
        calls = sum(m.calls.calls for m in step.money)
        bound = "≤ " if any(m.calls.at_most for m in step.money) else ""
        table.add_row(step.name, step.devices, memory_cell(step),
                      f"{bound}{calls:,}" if step.money else "", step_money(step))
    console.print(table)
    print_wall(study)
    print_memory(study)
    print_calls(study)
    print_commands(study)
    print_totals(study)
    print_keys(study)
    print_refusal(study)


def print_keys(study: StudyPlan) -> None:
    """The API keys' variables the study reads, and whether each is set (never its value)."""
    import os

    names = sorted({m.calls.llm.api_key_env for s in study.steps for m in s.money
                    if m.calls.llm.backend != "local" and m.calls.llm.api_key_env})
    if names:
        said = ", ".join(f"{n} ({'set' if os.environ.get(n) else 'NOT SET'})" for n in names)
        console.print(f"API keys the agent steps read: {said}", highlight=False, markup=False)


def print_wall(study: StudyPlan) -> None:
    """Wall time, one line per distinct estimate (the steps it covers first)."""
    groups: dict[str, list[str]] = {}
    for step in study.steps:
        if step.wall:
            groups.setdefault(step.wall, []).append(step.name)
    if groups:
        console.print("[bold]wall time[/]")
    for wall, names in groups.items():
        console.print(f"  {', '.join(names)}: {wall}", highlight=False, markup=False,
                      soft_wrap=False)


def print_commands(study: StudyPlan) -> None:
    console.print("[bold]commands[/] (links to earlier steps show as <placeholders>):")
    for step in study.steps:
        console.print(f"  {step.name}: {step.command}", highlight=False, markup=False,
                      soft_wrap=True)


def print_memory(study: StudyPlan) -> None:
    """GPU memory per device, a column per training step (rl/memory_estimate.py)."""
    steps = [s for s in study.steps if s.memory is not None]
    if not steps:
        return
    table = Table(title="memory per device (GiB)", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    table.add_column("")
    for step in steps:
        table.add_column(step.name, justify="right")
    breakdowns = [s.memory.breakdown() for s in steps if s.memory is not None]
    for part, label in PARTS.items():
        if any(part in b and b[part] for b in breakdowns):
            table.add_row(label, *[gib(b[part]) if part in b else "–" for b in breakdowns])
    table.add_section()
    table.add_row("total", *[gib(s.memory.total) for s in steps if s.memory is not None])
    table.add_row("each device has", *[gib(s.memory.devices.memory)
                                       if s.memory is not None and s.memory.devices else "–"
                                       for s in steps])
    console.print(table)
    for step in steps:
        assert step.memory is not None
        console.print(f"  {step.name}: {step.memory.estimate.setup.describe()}; "
                      f"{step.memory_note}", highlight=False, markup=False)


def print_calls(study: StudyPlan) -> None:
    table = Table(title="LLM calls per role", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True)
    for column in ("step", "role", "calls", "tokens in/out", f"money ({currency_of(study)})",
                   "at most"):
        table.add_column(column, justify="left" if column in ("step", "role") else "right",
                         overflow="fold")
    models = [m.calls.llm.model for step in study.steps for m in step.money]
    main = max(set(models), key=models.count) if models else ""
    for step in study.steps:
        for m in step.money:
            c = m.calls
            role = c.role.split(" (")[0]
            table.add_row(step.name, role if c.llm.model == main else f"{role} ({c.llm.model})",
                          ("≤ " if c.at_most else "") + f"{c.calls:,}",
                          f"{tokens(c.total_input)}/{tokens(c.total_output)}",
                          plan_money(m.typical) if m.price else "no price",
                          plan_money(m.at_most) if m.price else "–")
    console.print(table)
    console.print(f"  model: {main} unless named; tokens: {study.token_counter}, on each role's "
                  "prompt with the task's worked example; output: a typical answer (at most: "
                  "every answer at max_tokens); ≤: depends on the answers (an upper bound)",
                  highlight=False, markup=False)
    for step in study.steps:
        for note in step.notes:
            console.print(f"  {step.name}: {note}", highlight=False, markup=False)


def tokens(n: int) -> str:
    """3,736,000 as 3.7M; 7,168 as 7.2k."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 100_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def print_totals(study: StudyPlan) -> None:
    t = study.totals
    if t.unpriced:
        line = "money: unknown: " + "; ".join(f"no price for {m} (add it to prices.yaml or "
                                              "--prices FILE)" for m in t.unpriced)
    elif t.typical is None:
        line = "money: no total (prices in more than one currency)"
    else:
        line = (f"money: {plan_money(t.typical)} {t.currency} typical, at most "
                f"{plan_money(t.at_most)} {t.currency} (prices: the shipped table, "
                "./configs/prices.yaml, budget.prices, --prices; check them)")
    console.print(f"[bold]total[/] {line}; GPU-hours: unknown (no training throughput per GPU "
                  "is measured yet)", highlight=False)
    budget = budget_line(study)
    if budget:
        console.print(budget, highlight=False, markup=False)


def budget_line(study: StudyPlan) -> str:
    """The study's budget.max_cost against the plan's money within it ("" without a budget):
    the comparison's endpoint samples are not agent calls, so outside the budget."""
    if study.max_cost is None:
        return ""
    currency = study.totals.currency or "USD"
    inside = [m for s in study.steps for m in s.money if not m.calls.role.startswith("sample")]
    typical = None if any(m.typical is None for m in inside) else sum(m.typical or 0 for m in inside)
    most = None if any(m.at_most is None for m in inside) else sum(m.at_most or 0 for m in inside)
    line = (f"budget: {study.max_cost:g} {currency} (budget.max_cost), shared by every agent step "
            "(the comparison's endpoint samples are outside it)")
    if typical is not None and typical > study.max_cost:
        return line + (f"; the plan's agent calls cost {plan_money(typical)} {currency}: the study "
                       "will stop when the budget is spent, resumable with a raised one")
    if most is not None and most > study.max_cost:
        return line + (f"; enough for the typical {plan_money(typical)} {currency}, not for the "
                       f"most ({plan_money(most)} {currency})")
    return line


def refusal_lines(study: StudyPlan) -> list[str]:
    """Each step that cannot fit: the estimate against the device and what would fit."""
    lines = []
    for step in study.refused:
        assert step.memory is not None and step.memory.devices is not None
        lines.append(f"step {step.name}: {gib(step.memory.total)} GiB per device estimated "
                     f"({step.memory.estimate.setup.describe()}), more than a card's "
                     f"{gib(step.memory.devices.memory)} GiB ({step.memory.devices.describe()})")
        if step.suggestions:
            lines.append("  what would fit (any one of these, added to the command; devices.count "
                         "is the cards you will run on):")
            lines += [f"    {s}" for s in step.suggestions]
        else:
            lines.append("  nothing tried fits (sharding over up to 8 cards, LoRA, checkpointing, "
                         "a smaller model)")
    return lines


def print_refusal(study: StudyPlan) -> None:
    for line in refusal_lines(study):
        console.print(line, style="red" if line.startswith("step ") else None, highlight=False,
                      markup=False, soft_wrap=True)


def print_summary(study: StudyPlan) -> None:
    """The short plan `experiment paper` prints before its first step."""
    parts = [f"{s.name} {memory_cell(s)}" for s in study.steps if s.memory is not None]
    t = study.totals
    if t.typical is not None:
        cost = (f"{plan_money(t.typical)} {t.currency} (at most {plan_money(t.at_most)} "
                f"{t.currency})")
    elif t.unpriced:
        cost = "unknown (" + ", ".join(f"no price for {m}" for m in t.unpriced) + ")"
    else:
        cost = "no total (prices in more than one currency)"
    devices = study.devices.describe() if study.devices else "no GPU seen, none configured"
    console.print(f"plan: devices {devices}; GPU memory per device: " + "; ".join(parts)
                  + f"; LLM money: {cost}  (kindling experiment plan shows it all)",
                  highlight=False, markup=False, soft_wrap=True)
    if study.max_cost is not None:
        console.print(budget_line(study), highlight=False, markup=False, soft_wrap=True)


def spent_table(study: StudyPlan, spent: dict[str, tuple[float | None, str | None]]) -> Table:
    """The plan's money beside what each LLM step spent (its runs' agent calls)."""
    table = Table(title="LLM money: planned and spent", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="spent: the step's stored agent calls priced now; the comparison's "
                  "endpoint samples are not agent calls (planned only)")
    for column in ("step", "planned", "at most", "spent"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step in study.steps:
        if not step.money:
            continue
        priced = all(m.typical is not None for m in step.money)
        currency = next((m.price.currency for m in step.money if m.price), None)
        value, spent_currency = spent.get(step.name, (None, None))
        table.add_row(step.name, step_money(step),
                      money(sum(m.at_most or 0 for m in step.money), currency) if priced else "–",
                      money(value, spent_currency) if step.name in spent else "–")
    return table


def print_spent(study: StudyPlan, spent: dict[str, Any]) -> None:
    console.print(spent_table(study, spent))
