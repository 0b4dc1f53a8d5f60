"""The end of `kindling experiment paper`: Path B's outcome, the evaluators' agreement, the
policy table, what makes a figure uninformative, and sample texts, all read from the steps'
results (experiment.json's, on a rerun)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.rule import Rule
from rich.table import Table

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.language import unit_name
from kindling.context import console


def print_report(results: dict[str, Any], labels: dict[str, str]) -> None:
    """Path B's outcome, the evaluators' agreement, the policy table and sample texts."""
    from kindling.views import print_policy_table

    if "path_b" in results:
        print_path_b(results["path_b"])
    if "agreement" in results:
        print_agreement(results["agreement"])
    compared = results["compare"]
    print_policy_table(compared["policies"], compared.get("length_threshold") or DEFAULT_THRESHOLD,
                       compared.get("rm_fit"), compared.get("judge_run"),
                       compared.get("length_unit", "chars"))
    console.print("RM excellence's threshold was fitted on labelled responses"
                  + (" outside the agreement items" if "agreement" in results else "")
                  + "; grpo-rm is GRPO with the RM"
                  + (", grpo-judge with the LLM judge" if "grpo_judge" in results else ""),
                  highlight=False)
    for caution in cautions(results, labels):
        console.print(f"[yellow]caution: {caution}[/]", highlight=False)
    print_examples(compared["examples"])
    console.print(f"eval run {compared['eval_run']} stored; every step's run: kindling runs",
                  highlight=False)


def cautions(results: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """What makes a figure of this study uninformative, in words."""
    out = []
    for step, label in ((s, label) for s, label in labels.items() if s.startswith("grpo")):
        flat, steps = results[step].get("flat_steps", 0), results[step].get("steps", 0)
        if steps and flat == steps:
            out.append(f"{label}: every completion of every step got the same reward ({steps} "
                       "steps), so GRPO had nothing to learn from; the policy is the SFT one")
    policies = results["compare"]["policies"]
    rates = {round(m["judge"]["excellence"]["rate"] or 0.0, 6)
             for m in policies.values() if m.get("judge") and m["samples"]}
    if len(rates) == 1 and rates.pop() in (0.0, 1.0):
        out.append("the judge gave every sample the same verdict: its excellence rate cannot "
                   "tell the policies apart (a weak judge model)")
    for label, figures in policies.items():
        if figures.get("failed_samples"):
            out.append(f"{label}: {figures['failed_samples']} samples failed (the endpoint did "
                       "not answer within its retries); its figures rest on the rest")
    return out


def print_path_b(result: dict[str, Any]) -> None:
    f1 = result.get("f1")
    line = (f"Path B (adversarial run {result['run']}): judge principles = version "
            f"{result['sd_id']}" + (f", validation F1 {f1:.3f}" if f1 is not None else ""))
    console.print(line, highlight=False)
    for doubt in result.get("doubts") or []:
        console.print(f"[yellow]  caution: {doubt}[/]", highlight=False)


def print_agreement(agreement: dict[str, Any]) -> None:
    """Each evaluator's verdicts against labels, beside the length rule on the same items."""
    rule = agreement.get("length_rule") or {"threshold": DEFAULT_THRESHOLD, "unit": "chars"}
    table = Table(title="evaluators vs labels they never saw", box=box.SIMPLE_HEAD,
                  pad_edge=False, caption=f"len: the length-only rule on the same items (longer "
                  f"than {rule['threshold']} {unit_name(rule['unit'])}; the labels track length); "
                  "seen: items whose text the evaluator met in training (a seen figure measures "
                  "memory)")
    for column in ("evaluator", "n", "good", "seen", "acc", "F1", "len acc", "len F1", "failed"):
        table.add_column(column, justify="left" if column == "evaluator" else "right",
                         no_wrap=True)
    for name, label in (("judge", "LLM judge"), ("rm", "reward model")):
        m = agreement[name]
        if not m.get("n"):
            table.add_row(label, "0", "–", "–", "–", "–", "–", "–", str(m.get("failed", 0)))
            continue
        table.add_row(label, str(m["n"]), str(m["positives"]), str(m["seen"]),
                      f"{m['accuracy']:.3f}", f"{m['f1']:.3f}", f"{m['length_accuracy']:.3f}",
                      f"{m['length_f1']:.3f}", str(m["failed"]))
    console.print(table)


def print_examples(examples: dict[str, list[str]]) -> None:
    if not any(examples.values()):  # compare.examples: 0
        return
    console.print(Rule("sample texts"))
    for label, texts in examples.items():
        for text in texts:
            flat = " ⏎ ".join(line for line in text.splitlines() if line.strip())
            console.print(f"[bold]{label}[/]: {flat[:200]}", highlight=False)
