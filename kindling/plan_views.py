"""How `kindling experiment plan` (and the start and end of `experiment paper`) show a study's plan."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from kindling.context import console
from kindling.rl.memory_estimate import GiB
from kindling.services.plan_study import StepPlan, StudyPlan
from kindling.views import money

PARTS = ("weights", "gradients", "optimizer", "activations", "logits", "vllm", "reference",
         "reward model", "overhead")


def gib(value: int) -> str:
    return f"{value / GiB:.1f}"


def memory_cell(step: StepPlan) -> str:
    if step.memory is None:
        return step.memory_note or ""
    fits = {True: "fits", False: "DOES NOT FIT", None: "not checked"}[step.memory.fits]
    return f"{gib(step.memory.total)} GiB ({fits})"


def step_money(step: StepPlan) -> str:
    if not step.money:
        return ""
    if any(m.typical is None for m in step.money):
        return "unknown (no price)"
    currency = next((m.price.currency for m in step.money if m.price is not None), "USD")
    return money(sum(m.typical or 0.0 for m in step.money), currency)


def print_plan(study: StudyPlan) -> None:
    """Every step, the memory breakdown, the LLM calls per role, the totals and any refusal."""
    devices = study.devices.describe() if study.devices else \
        "none seen and no devices: in the file (memory estimated, not checked)"
    console.print(f"devices: {devices}", highlight=False)
    if study.validated_on_cpu:
        console.print("[dim]this machine sees no GPU: the training configs were checked with "
                      "trl.use_cpu (TRL refuses bf16 without one); the commands are as they run[/]")
    table = Table(title="the plan, step by step", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("step", "processes", "devices", "GPU memory per device", "LLM calls", "money",
                   "wall time"):
        table.add_column(column, overflow="fold")
    for step in study.steps:
        calls = sum(m.calls.calls for m in step.money)
        bound = "≤ " if any(m.calls.at_most for m in step.money) else ""
        table.add_row(step.name, str(step.processes), step.devices, memory_cell(step),
                      f"{bound}{calls:,}" if step.money else "", step_money(step), step.wall)
    console.print(table)
    print_commands(study)
    print_memory(study)
    print_calls(study)
    print_totals(study)
    print_refusal(study)


def print_commands(study: StudyPlan) -> None:
    console.print("[bold]commands[/] (links to earlier steps show as <placeholders>):")
    for step in study.steps:
        console.print(f"  {step.name}: {step.command}", highlight=False, markup=False,
                      soft_wrap=True)


def print_memory(study: StudyPlan) -> None:
    table = Table(title="GPU memory per device (GiB), training steps", box=box.SIMPLE_HEAD,
                  pad_edge=False, caption="rl/memory_estimate.py; reference: GRPO's reference "
                  "policy (beta > 0, not LoRA); reward model: GRPO's RM, a whole copy")
    table.add_column("step")
    table.add_column("setup", overflow="fold")
    for part in (*PARTS, "total", "device"):
        table.add_column(part, justify="right")
    for step in study.steps:
        if step.memory is None:
            continue
        parts = step.memory.breakdown()
        device = gib(step.memory.devices.memory) if step.memory.devices else "–"
        table.add_row(step.name, step.memory.estimate.setup.describe(),
                      *[gib(parts[p]) if p in parts else "–" for p in PARTS],
                      gib(step.memory.total), device)
    console.print(table)
    for step in study.steps:
        if step.memory_note:
            console.print(f"  {step.name}: {step.memory_note}", highlight=False, markup=False)


def print_calls(study: StudyPlan) -> None:
    table = Table(title="LLM calls per role", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption=f"tokens counted with {study.token_counter} on the role's prompt with "
                  "the task's worked example; output: a typical answer (at most: every answer at "
                  "max_tokens); ≤: depends on the answers (an upper bound)")
    for column in ("step", "role", "model", "calls", "input tokens", "output tokens", "money",
                   "at most"):
        table.add_column(column, justify="left" if column in ("step", "role", "model")
                         else "right", overflow="fold")
    for step in study.steps:
        for m in step.money:
            c = m.calls
            currency = m.price.currency if m.price else None
            table.add_row(step.name, c.role, c.llm.model,
                          ("≤ " if c.at_most else "") + f"{c.calls:,}", f"{c.total_input:,}",
                          f"{c.total_output:,}",
                          money(m.typical, currency) if m.price else f"no price for {c.llm.model}",
                          money(m.at_most, currency) if m.price else "–")
    console.print(table)
    for step in study.steps:
        for note in step.notes:
            console.print(f"  {step.name}: {note}", highlight=False, markup=False)


def print_totals(study: StudyPlan) -> None:
    t = study.totals
    if t.unpriced:
        line = "money: unknown: " + "; ".join(f"no price for {m} (add it to prices.yaml or "
                                              "--prices FILE)" for m in t.unpriced)
    elif t.typical is None:
        line = "money: no total (prices in more than one currency)"
    else:
        line = f"money: {money(t.typical, t.currency)} typical, at most {money(t.at_most, t.currency)}"
    console.print(f"[bold]total[/] {line}; GPU-hours: unknown (no training throughput per GPU "
                  "is measured yet)", highlight=False)


def refusal_lines(study: StudyPlan) -> list[str]:
    """Each step that cannot fit: the estimate against the device and what would fit."""
    lines = []
    for step in study.refused:
        assert step.memory is not None and step.memory.devices is not None
        lines.append(f"step {step.name}: {gib(step.memory.total)} GiB per device estimated "
                     f"({step.memory.estimate.setup.describe()}), over the "
                     f"{gib(step.memory.devices.memory)} GiB of each of "
                     f"{step.memory.devices.describe()}")
        if step.suggestions:
            lines.append("  what would fit (add to the command):")
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
    cost = (money(t.typical, t.currency) + f" (at most {money(t.at_most, t.currency)})"
            if t.typical is not None else "unknown (" + ", ".join(
                f"no price for {m}" for m in t.unpriced) + ")")
    devices = study.devices.describe() if study.devices else "no GPU seen, none configured"
    console.print(f"plan: devices {devices}; GPU memory per device: " + "; ".join(parts)
                  + f"; LLM money: {cost}  (kindling experiment plan shows it all)",
                  highlight=False, markup=False, soft_wrap=True)


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
