"""Presentation shared by several commands: rich tables and reports (no work, no store writes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from kindling.agents.language import unit_name
from kindling.context import console
from kindling.ingest.readers import LAYOUT

if TYPE_CHECKING:
    from kindling.agents.judge.metrics import Metrics
    from kindling.services.judge import JudgeOutcome
    from kindling.store.costs import RunCost
    from kindling.store.importers import ImportReport


def call_table(stats: list[dict[str, Any]], cost: RunCost | None = None) -> Table:
    """Per-role agent-call statistics as a rich table (with each role's cost when given)."""
    roles = Table(title="agent calls (all sessions)")
    cols = ["role", "attempts", "errors", "mean latency ms", "prompt tok", "completion tok"]
    if cost is not None:
        cols.insert(5, "cached tok")
    for col in cols:
        roles.add_column(col, justify="right" if col != "role" else "left")
    if cost is not None:  # one currency: named in the header, the cells stay narrow
        roles.add_column(f"cost {cost.currency or ''}".rstrip(), justify="right", no_wrap=True)
    by_role = {r.role: r for r in cost.roles} if cost is not None else {}
    shown = "" if cost is not None and cost.currency else None  # "": no currency in cells
    for r in stats:
        extra = [] if cost is None else [
            money(by_role[r["role"]].cost, shown if shown is not None else by_role[r["role"]].currency)
            if r["role"] in by_role else "unknown"]
        cached = [] if cost is None else [cached_cell(by_role.get(r["role"]))]
        roles.add_row(r["role"], str(r["attempts"]), str(r["errors"]),
                      f"{r['mean_latency_ms']:.0f}", str(r["prompt_tokens"]), *cached,
                      str(r["completion_tokens"]), *extra)
    return roles


def cached_cell(role: Any) -> str:
    """A role's cached input tokens for a table cell ('-': the endpoint reported none)."""
    return "-" if role is None or role.cached_tokens is None else str(role.cached_tokens)


def total_cached(roles: list[Any]) -> str:
    """The cached input tokens of all roles ('-': no role's endpoint reported any)."""
    known = [r.cached_tokens for r in roles if r.cached_tokens is not None]
    return str(sum(known)) if known else "-"


def money(value: float | None, currency: str | None) -> str:
    """A cost for a table cell: `0.1234 USD`, or `unknown` (a model with no price)."""
    return "unknown" if value is None else f"{value:.4f} {currency or ''}".rstrip()


def cost_table(cost: RunCost, run_id: int) -> Table:
    """A run's cost per role: calls, input / cached / output tokens, cost (unknown when a model
    has no price; cached tokens shown as '-' where not recorded)."""
    table = Table(title=f"cost of run {run_id} (prices: the shipped table and your price "
                        "files; check them)")
    for col in ("role", "calls", "input tok", "cached tok", "output tok", "cost"):
        table.add_column(col, justify="right" if col != "role" else "left")
    for r in cost.roles:
        table.add_row(r.role, str(r.calls), str(r.prompt_tokens),
                      cached_cell(r),
                      str(r.completion_tokens), money(r.cost, r.currency))
    table.add_section()
    table.add_row("total", str(sum(r.calls for r in cost.roles)),
                  str(sum(r.prompt_tokens for r in cost.roles)),
                  total_cached(cost.roles),
                  str(sum(r.completion_tokens for r in cost.roles)),
                  money(cost.total, cost.currency))
    return table


def add_metric_rows(table: Table, subset: str, rows: list[tuple[str, Metrics]]) -> None:
    for k, (predictor, m) in enumerate(rows):
        c = m["confusion"]
        table.add_row(subset if k == 0 else "", predictor, str(m["n"]), str(c["tp"] + c["fn"]),
                      *(f"{m[key]:.3f}" for key in ("accuracy", "precision", "recall", "f1")),
                      *(str(c[key]) for key in ("tp", "fp", "tn", "fn")),
                      end_section=k == len(rows) - 1)


def print_import_report(report: ImportReport, file: str | None = None) -> None:
    files = {name: file or rel for name, rel, _ in LAYOUT}
    table = Table(title="Imported datasets")
    for column in ("dataset", "file", "rows in file", "added"):
        table.add_column(column, justify="right" if column in ("rows in file", "added") else "left")
    for name, rows in report.rows.items():
        table.add_row(name, files.get(name, file or ""), str(rows), str(report.added.get(name, 0)))
    console.print(table)
    added = ", ".join(f"{n} {t}" for t, n in report.tables.items())
    if report.run_id is None:
        console.print("Nothing new: the store already holds every row.")
    else:
        console.print(f"Import run {report.run_id}: added {added} in {report.seconds:.1f} s.")
    for name, n in report.identical_pairs.items():
        console.print(f"[yellow]note:[/] {name}: {n} pair(s) have chosen == rejected text.",
                      highlight=False)


def print_rm_report(model: str, metrics: dict[str, Any]) -> None:
    """A pairwise table (RM vs longer-is-chosen) and an agreement table (RM vs length rule)."""
    pw, agree, cov = metrics["pairwise"], metrics["agreement"], metrics["coverage"]
    table = Table(title=f"reward model {model}: pairwise accuracy", box=box.SIMPLE_HEAD,
                  collapse_padding=True, pad_edge=False,
                  caption="longer: the longer response is predicted chosen; bands by the chosen "
                          "response's length; unseen: neither response in RM training pairs")
    for col in ("subset", "n", "rm", "longer", "rm ties", "len ties"):
        table.add_column(col, justify="left" if col == "subset" else "right", no_wrap=True)
    rows = [("all", pw["overall"]), *pw["bands"].items(), ("unseen", pw["unseen"])]
    for subset, m in rows:
        table.add_row(subset, str(m["n"]), f"{m['rm']:.3f}", f"{m['length']:.3f}",
                      str(m["rm_ties"]), str(m["length_ties"]))
    console.print(table)
    st, base = agree["score_threshold"], f"len>{agree['threshold']}"
    console.print(f"agreement: score threshold {st['threshold']:.4f} fitted on {st['fit_items']} "
                  f"items (accuracy there {st['fit_accuracy']:.3f}, length rule "
                  f"{st['fit_length_accuracy']:.3f}); evaluated on {st['evaluated_items']} items "
                  f"of other queries ({cov['labelled']} labelled in all)", highlight=False)
    table = Table(title="reward model vs labels", box=box.SIMPLE_HEAD, collapse_padding=True,
                  pad_edge=False, caption=f"{base}: length-only baseline (good iff longer than "
                  f"{agree['threshold']} {unit_name(agree.get('length_unit', 'chars'))}); unseen: "
                  "not in RM training pairs")
    for col in ("subset", "predictor", "n", "pos", "acc", "prec", "rec", "F1",
                "tp", "fp", "tn", "fn"):
        table.add_column(col, justify="left" if col in ("subset", "predictor") else "right",
                         no_wrap=True)
    add_metric_rows(table, "all", [("rm", agree["overall"]), (base, agree["baseline"])])
    for band, pair in agree["bands"].items():
        add_metric_rows(table, band, [("rm", pair["judge"]), (base, pair["baseline"])])
    add_metric_rows(table, "unseen", [("rm", agree["unseen"]["judge"]),
                                (base, agree["unseen"]["baseline"])])
    console.print(table)


def print_policy_table(report: dict[str, dict[str, Any]], length_threshold: int,
                       rm_fit: dict[str, Any] | None, judge_run: int | None,
                       length_unit: str = "chars") -> None:
    """One column per policy, one row per figure: excellence rates beside the length rule
    (lengths in `length_unit`)."""
    unit = unit_name(length_unit)
    table = Table(title="policies on held-out prompts", box=box.SIMPLE_HEAD, collapse_padding=True,
                  pad_edge=False, caption=f"len>{length_threshold}: share longer than "
                  f"{length_threshold} {unit} (the length-only rule the labels track); lengths "
                  f"in {unit}")
    table.add_column("figure", no_wrap=True)
    for label in report:
        table.add_column(label, justify="right", no_wrap=True)
    rows: list[tuple[str, Any]] = [
        ("samples", lambda m: str(m["samples"])),
        ("mean length", lambda m: f"{m['mean_length']:.1f}"),
        ("median length", lambda m: f"{m['median_length']:.0f}"),
        (f"len>{length_threshold}", lambda m: f"{m['length_rule']:.3f}"),
    ]
    if rm_fit:
        rows += [("RM excellence", lambda m: f"{m['rm']['excellence']['rate']:.3f}"),
                 ("RM mean score", lambda m: f"{m['rm']['mean']:.3f}")]
    if judge_run is not None:
        rows += [("judge excellence", lambda m: f"{m['judge']['excellence']['rate']:.3f}"),
                 ("judge failed", lambda m: str(m["judge"]["excellence"]["failed"]))]
    rows += [("distinct-1", lambda m: f"{m['distinct_1']:.3f}"),
             ("distinct-2", lambda m: f"{m['distinct_2']:.3f}"),
             ("self-BLEU", lambda m: "–" if m["self_bleu"] is None else f"{m['self_bleu']:.1f}")]
    for name, cell in rows:
        table.add_row(name, *(cell(m) for m in report.values()))
    console.print(table)
    if rm_fit:
        console.print(f"RM excellence: score > {rm_fit['threshold']:.4f}, the threshold most "
                      f"accurate on {rm_fit['fitted_on']} ({rm_fit['accuracy']:.3f} on "
                      f"{rm_fit['items']} labelled responses)" if "items" in rm_fit else
                      f"RM excellence: score > {rm_fit['threshold']:.4f} (given)", highlight=False)
    if judge_run is not None:
        console.print(f"judge run {judge_run}", highlight=False)


def print_length_rule(task: str, rule: dict[str, Any]) -> None:
    """Where the length rule's threshold came from (a fitted one with its accuracy)."""
    unit = unit_name(rule.get("unit", "chars"))
    if rule.get("source") == "fitted":
        console.print(f"length rule for task {task}: longer than {rule['threshold']} {unit}, "
                      f"fitted on {rule['items']} labelled responses of {rule['fitted_on']} "
                      f"(accuracy there {rule['accuracy']:.3f})", highlight=False)
    else:
        how = "given" if rule.get("source") == "given" else "the paper's rule"
        console.print(f"length rule for task {task}: longer than {rule['threshold']} {unit} "
                      f"({how})", highlight=False)


def print_eval_stored(run_id: int) -> None:
    console.print(f"eval run {run_id} stored")


def print_judge_summary(outcome: JudgeOutcome) -> None:
    """The run's counts as a rich table."""
    metrics = outcome.metrics
    table = Table(title=f"judge run {outcome.run_id}", show_header=False)
    for label, value in [
        ("principle version", outcome.version), ("samples per item", outcome.samples),
        ("items", metrics["items"]), ("judged now (LLM)", metrics["judged"]),
        ("cached", metrics["cached"]), ("flagged by guard", metrics["flagged"]),
        ("failed", metrics["failed"]), ("Good (1)", metrics["good"]), ("Bad (0)", metrics["bad"]),
        ("LLM attempts", metrics["calls"]), ("elapsed", f"{metrics['elapsed_s']:.1f} s"),
    ]:
        table.add_row(label, str(value))
    console.print(table)
