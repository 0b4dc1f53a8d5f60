"""The quickstart's closing report: what each policy writes, sample texts, and the findings in words.

Everything printed is computed from this run's figures (the policy comparison, the reward
model's evaluation, the GRPO runs' watch signals and verdicts: services/grpo_verdict.py); the
wording only picks which sentence fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.cells import cell_len
from rich.table import Table

from kindling.agents.language import DEFAULT_UNIT, text_length, unit_name
from kindling.context import console
from kindling.quickstart_findings import findings, judge_note

if TYPE_CHECKING:
    from kindling.store.db import Store

SAMPLE_PROMPTS = 3
SAMPLE_CHARS = 40  # at most; fewer so that a line fits the terminal (a Chinese character is two columns)

Row = tuple[str, Callable[[dict[str, Any]], float | None]]

LEGEND = ("chars: characters. ↑: higher is better, ↓: lower is better, by what the figure "
          "measures. RM excellence: share the reward model scores above its threshold (↑ means "
          "only that the RM likes it). distinct-2: share of character pairs not seen before across "
          "a policy's samples (↑ more varied). self-BLEU: 0–100, each sample against the others "
          "(↓ more varied). repetition: share of a text's character 3-grams that it repeats "
          "(↓ less looping).")


def legend(length_unit: str = DEFAULT_UNIT) -> str:
    """LEGEND in the task's unit: characters, or words (whose pairs and 3-grams are counted)."""
    if length_unit == "chars":
        return LEGEND
    return LEGEND.replace("chars: characters.", "words: words.").replace("character ", "word ")


def _rows(report: Mapping[str, dict[str, Any]], length_unit: str = DEFAULT_UNIT) -> list[Row]:
    rows: list[Row] = [(f"mean length, {length_unit}", lambda m: m["mean_length"])]
    if all("rm" in m for m in report.values()):
        rows += [("RM excellence ↑", lambda m: m["rm"]["excellence"]["rate"]),
                 ("RM mean score ↑", lambda m: m["rm"]["mean"])]
    if all("judge" in m for m in report.values()):
        rows.append(("judge excellence ↑", lambda m: m["judge"]["excellence"]["rate"]))
    rows += [("distinct-2 ↑", lambda m: m["distinct_2"]),
             ("self-BLEU ↓", lambda m: m["self_bleu"]),
             ("repetition ↓", lambda m: m.get("repetition"))]
    return rows


def print_policy_figures(report: Mapping[str, dict[str, Any]], prompts: int,
                         data_length: float | None, length_unit: str = DEFAULT_UNIT) -> None:
    """One column per policy; each row says its unit (the task's: chars or words) or which way
    is better, a legend below."""
    per = next(iter(report.values()))["samples"] // max(prompts, 1) if report else 0
    table = Table(title=f"What each policy writes ({prompts} held-out prompts × {per} samples)",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("figure", no_wrap=True)
    for label in report:
        table.add_column(label, justify="right", no_wrap=True)
    for name, cell in _rows(report, length_unit):
        table.add_row(name, *(_cell(cell(m), name) for m in report.values()))
    console.print(table)
    console.print(legend(length_unit), highlight=False, style="dim")
    if data_length is not None:
        console.print(f"For scale: the SFT data's texts average {data_length:.0f} "
                      f"{unit_name(length_unit)}.", highlight=False)


def _cell(value: float | None, name: str) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if name.startswith(("mean length", "self-BLEU")) else f"{value:.3f}"


def _fit(text: str, cells: int) -> str:
    """The text cut to `cells` terminal columns (a Chinese character takes two), "…" if cut."""
    if cell_len(text) <= cells:
        return text
    out = ""
    for char in text:
        if cell_len(out + char) > cells - 1:
            break
        out += char
    return out + "…"


def print_samples(samples: Mapping[str, Sequence[tuple[str, str]]],
                  rm_scores: Mapping[str, Sequence[float]]) -> None:
    """The first sample of each policy on the same few prompts, cut short, with its RM score."""
    if not samples:
        return
    order = list(dict.fromkeys(p for items in samples.values() for p, _ in items))
    console.print(f"\n[bold]Samples[/] (the first {SAMPLE_PROMPTS} held-out prompts; each "
                  "policy's first sample, cut to fit a line; RM score in brackets)")
    width = max(len(label) for label in samples)
    for number, prompt in enumerate(order[:SAMPLE_PROMPTS], 1):
        console.print(f"prompt {number}: {prompt}", highlight=False, markup=False)
        for label, items in samples.items():
            index = next((i for i, (p, _) in enumerate(items) if p == prompt), None)
            if index is None:
                continue
            text = " ".join(items[index][1].split()) or "(empty)"
            scores = rm_scores.get(label)
            score = f" [{scores[index]:5.2f}]" if scores else ""
            head = f"  {label:<{width}}{score}  "
            console.print(head + _fit(text[:SAMPLE_CHARS], console.width - cell_len(head) - 1),
                          highlight=False, markup=False)


def print_findings(lines: Sequence[str]) -> None:
    """The findings as a bulleted list."""
    if not lines:
        return
    console.print("\n[bold]Findings[/]")
    for line in lines:
        console.print(f"• {line}", highlight=False, markup=False)


def print_report(store: Store, grpo_dirs: Mapping[str, str], rm_figures: dict[str, Any] | None,
                 comparison: Mapping[str, Any], prompts: int) -> None:
    """The policies' figures with units and direction, sample texts, and the findings in words.

    Args:
        store: where the GRPO runs' watch signals and the SFT data are read.
        grpo_dirs: each GRPO policy's label → its output folder (its finished run is found by it).
        rm_figures: the reward model's evaluation (None when that step was skipped).
        comparison: the policies sampled and scored (the experiment's compare result:
            policies, rm_fit, samples, rm_scores, length_rule).
        prompts: how many held-out prompts they were sampled on.
    """
    from kindling.rl.watch import summarize_signals
    from kindling.services.grpo_verdict import grpo_verdict
    from kindling.store.queries import corpus_pairs, finished_run

    unit = (comparison.get("length_rule") or {}).get("unit", DEFAULT_UNIT)
    report = comparison["policies"]
    lengths = [text_length(text, unit) for _, text in corpus_pairs(store, "sft")]
    print_policy_figures(report, prompts, sum(lengths) / len(lengths) if lengths else None, unit)
    rm = comparison.get("rm_fit")
    if rm and "items" in rm:
        console.print(f"RM excellence: score above {rm['threshold']:.2f}, the threshold most "
                      f"accurate on {rm['items']} labelled responses of {rm['fitted_on']}.",
                      highlight=False)
    print_samples(comparison.get("samples") or {}, comparison.get("rm_scores") or {})
    runs = {label: finished_run(store, "grpo", folder) for label, folder in grpo_dirs.items()}
    signals = {label: summarize_signals(run.metrics if run else {}, unit)
               for label, run in runs.items()}
    verdicts = {label: grpo_verdict(run.metrics or {}, run.config or {})
                for label, run in runs.items() if run is not None}
    judge = runs.get("grpo-judge")
    note = judge_note("grpo-judge", judge.metrics if judge else None)
    print_findings(findings(rm_figures, report, signals, note, unit, verdicts))
