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

from kindling.agents.judge.metrics import DEFAULT_THRESHOLD
from kindling.agents.language import DEFAULT_UNIT, text_length, unit_name
from kindling.context import console
from kindling.services.grpo_verdict import Verdict
from kindling.services.grpo_verdict_text import cap_clause, reward_lines

if TYPE_CHECKING:
    from kindling.services.evaluation import PolicyComparison
    from kindling.store.db import Store

SAMPLE_PROMPTS = 3
SAMPLE_CHARS = 40  # at most; fewer so that a line fits the terminal (a Chinese character is two columns)
DRIFT_HACKING = 0.30  # longer than SFT by more than this: the length was hacked
DRIFT_HELD = 0.15  # within this of SFT: the length held

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


def rm_findings(rm: Mapping[str, Any] | None) -> list[str]:
    """What the reward model's evaluation says, beside length alone."""
    if rm is None:
        return []
    pw, agree = rm["pairwise"]["overall"], rm["agreement"]
    rule = (f"longer than {agree.get('threshold', DEFAULT_THRESHOLD)} "
            f"{unit_name(agree.get('length_unit', DEFAULT_UNIT))} is good")
    line = (f"The reward model picks the preferred text of a test pair {pw['rm']:.1%} of the time; "
            f"always picking the longer text gets {pw['length']:.1%}. Against human labels it "
            f"agrees {agree['overall']['accuracy']:.1%}; '{rule}' "
            f"agrees {agree['baseline']['accuracy']:.1%}.")
    if pw["rm"] - pw["length"] < 0.05:
        line += " On this data a reward model mostly learns length: the labels track it."
    return [line]


def base_finding(report: Mapping[str, dict[str, Any]],
                 length_unit: str = DEFAULT_UNIT) -> list[str]:
    """Whether the RM rates the untrained model's random text highly."""
    base, sft = report.get("base"), report.get("sft")
    if not base or not sft or "rm" not in base:
        return []
    b, s = base["rm"]["excellence"]["rate"], sft["rm"]["excellence"]["rate"]
    if b >= s:
        return [f"The RM calls the untrained model's random text (base, {base['mean_length']:.0f} "
                f"{unit_name(length_unit)} of gibberish on average) excellent {b:.0%} of the time, as often as "
                f"or more than the SFT model's real greetings ({s:.0%}): a high RM score alone "
                "does not mean good writing."]
    return [f"The RM rates the untrained model's random text (base) below SFT's greetings "
            f"({b:.0%} vs {s:.0%} excellent)."]


def policy_findings(label: str, m: Mapping[str, Any], sft: Mapping[str, Any],
                    length_unit: str = DEFAULT_UNIT, verdict: Verdict | None = None) -> list[str]:
    """How a GRPO policy moved from SFT: length (in `length_unit`; whether the token cap bounded
    it while it trained, from its run's `verdict`), RM score, repetition."""
    if not sft["mean_length"]:
        return []
    drift = m["mean_length"] / sft["mean_length"] - 1
    lengths = f"{m['mean_length']:.0f} vs {sft['mean_length']:.0f} {unit_name(length_unit)}"
    score = (f"{sft['rm']['mean']:.2f} → {m['rm']['mean']:.2f}" if "rm" in m and "rm" in sft
             else None)
    if drift > DRIFT_HACKING:
        line, joint = f"{label} writes {drift:+.0%} longer than SFT ({lengths})", " and its"
        if verdict is not None and verdict.capped:
            assert verdict.cap is not None
            line += (f", and {cap_clause(verdict.cap)} while it trained: the cap, not the "
                     "model, stops it")
            joint = "; its"
        line += (f"{joint} RM score went {score}: GRPO found that the RM pays for length "
                 "(reward hacking)." if score else ".")
    elif abs(drift) <= DRIFT_HELD:
        line = f"{label} kept SFT's length ({drift:+.0%}, {lengths})"
        if score and abs(m["rm"]["mean"] - sft["rm"]["mean"]) < 0.05:
            line += f" and its RM score stayed at {m['rm']['mean']:.2f}."
        else:
            line += f" while its RM score went {score}." if score else "."
    else:
        line = f"{label} changed length by {drift:+.0%} ({lengths})" + (
            f"; its RM score went {score}." if score else ".")
    return [line, *_sameness(label, m, sft)]


def _sameness(label: str, m: Mapping[str, Any], sft: Mapping[str, Any]) -> list[str]:
    """Whether a policy loops within a text, and whether its texts became alike."""
    out = []
    rep, rep0 = m.get("repetition") or 0.0, sft.get("repetition") or 0.0
    if rep >= rep0 + 0.1:
        out.append(f"{label} repeats itself within a text: repetition {rep0:.2f} → {rep:.2f}.")
    bleu, bleu0 = m["self_bleu"], sft["self_bleu"]
    d2, d20 = m["distinct_2"], sft["distinct_2"]
    if d2 <= d20 - 0.1 or (bleu is not None and bleu0 is not None and bleu >= bleu0 + 10):
        both = f", self-BLEU {bleu0:.0f} → {bleu:.0f}" if bleu is not None and bleu0 is not None else ""
        out.append(f"{label}'s texts are more alike than SFT's: distinct-2 {d20:.2f} → {d2:.2f}"
                   f"{both}.")
    return out


def signal_findings(label: str, signals: Mapping[str, Any], verdict: Verdict | None = None,
                    cap_said: bool = False) -> list[str]:
    """What the GRPO run's watch signals showed while it trained; from its `verdict`, a reward
    that gave no signal, and the token cap when it bounded the length (unless `cap_said`)."""
    said = [f"While {label} trained, {line.text[0].lower()}{line.text[1:]}"
            for line in (reward_lines(verdict) if verdict is not None else [])
            if line.bad]
    if not signals.get("steps"):
        return said
    n = signals["steps"]
    line = (f"While {label} trained ({n} logged step{'' if n == 1 else 's'}), its completions went from "
            f"{signals['first_chars']:.0f} to {signals['last_chars']:.0f} "
            f"{unit_name(signals.get('unit', DEFAULT_UNIT))}")
    band = signals.get("band")
    if band:
        line += f" (length_control's band: {band[0]:.0f}–{band[1]:.0f})"
    if signals.get("corr") is not None:
        line += f"; reward and length correlated at r = {signals['corr']:+.2f} on average"
    alerts = signals.get("alerts") or []
    if alerts:
        first = alerts[0]
        line += f"; the watch rule '{first['rule']}' fired at step {first['step']}"
    if verdict is not None and verdict.capped and not cap_said:
        assert verdict.cap is not None
        line += f"; {cap_clause(verdict.cap)}: the cap, not the model, stops the length"
    return [line + ".", *said]


def findings(rm: Mapping[str, Any] | None, report: Mapping[str, dict[str, Any]],
             signals: Mapping[str, Mapping[str, Any]], judge_note: str | None = None,
             length_unit: str = DEFAULT_UNIT,
             verdicts: Mapping[str, Verdict] | None = None) -> list[str]:
    """Every finding, in order: the RM, random text, each GRPO policy, training signals (with
    each GRPO run's `verdicts`: the token cap, a reward that gave no signal)."""
    out = rm_findings(rm) + base_finding(report, length_unit)
    sft = report.get("sft")
    for label, m in report.items():
        if label.startswith("grpo") and sft is not None:
            verdict = (verdicts or {}).get(label)
            policy = policy_findings(label, m, sft, length_unit, verdict)
            out += policy
            out += signal_findings(label, signals.get(label, {}), verdict,
                                   cap_said=any("the cap, not the model" in x for x in policy))
    if judge_note:
        out.append(judge_note)
    return out


def print_findings(lines: Sequence[str]) -> None:
    """The findings as a bulleted list."""
    if not lines:
        return
    console.print("\n[bold]Findings[/]")
    for line in lines:
        console.print(f"• {line}", highlight=False, markup=False)


def judge_note(label: str, metrics: Mapping[str, Any] | None) -> str | None:
    """What the judge arm was: a 135M offline judge standing in for an endpoint, and its calls."""
    if not metrics:
        return None
    stats = metrics.get("judge_stats") or {}
    items = stats.get("items", 0)
    good = f", {stats.get('good', 0) / items:.0%} judged good" if items else ""
    return (f"{label} used the LLM judge as its reward: {items} completions judged "
            f"({stats.get('failed', 0)} failed{good}). The judge here is SmolLM2-135M served "
            "offline by llama.cpp, a stand-in so the arm runs with no key: it shows the "
            "machinery (Path B's principles as the judge's prompt, every call stored), not what a "
            "real judge (DeepSeek, GPT-4o, a vLLM server: configs/paper_grpo_judge.yaml) would "
            "teach.")


def print_report(store: Store, grpo_dirs: Mapping[str, str], rm_figures: dict[str, Any] | None,
                 comparison: PolicyComparison, prompts: int) -> None:
    """The policies' figures with units and direction, sample texts, and the findings in words.

    Args:
        store: where the GRPO runs' watch signals and the SFT data are read.
        grpo_dirs: each GRPO policy's label → its output folder (its finished run is found by it).
        rm_figures: the reward model's evaluation (None when that step was skipped).
        comparison: the policies sampled and scored.
        prompts: how many held-out prompts they were sampled on.
    """
    from kindling.rl.watch import summarize_signals
    from kindling.services.grpo_verdict import grpo_verdict
    from kindling.store.queries import corpus_pairs, finished_run

    unit = comparison.length_rule.get("unit", DEFAULT_UNIT)
    lengths = [text_length(text, unit) for _, text in corpus_pairs(store, "sft")]
    print_policy_figures(comparison.report, prompts,
                         sum(lengths) / len(lengths) if lengths else None, unit)
    rm = comparison.rm_fit
    if rm and "items" in rm:
        console.print(f"RM excellence: score above {rm['threshold']:.2f}, the threshold most "
                      f"accurate on {rm['items']} labelled responses of {rm['fitted_on']}.",
                      highlight=False)
    print_samples(comparison.samples, comparison.rm_scores)
    runs = {label: finished_run(store, "grpo", folder) for label, folder in grpo_dirs.items()}
    signals = {label: summarize_signals(run.metrics if run else {}, unit)
               for label, run in runs.items()}
    verdicts = {label: grpo_verdict(run.metrics or {}, run.config or {})
                for label, run in runs.items() if run is not None}
    judge = runs.get("grpo-judge")
    note = judge_note("grpo-judge", judge.metrics if judge else None)
    print_findings(findings(rm_figures, comparison.report, signals, note, unit, verdicts))
