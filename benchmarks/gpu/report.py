"""The report: each Kindling GRPO phase's ratio to TRL's defaults, the target verdict, the table."""

from __future__ import annotations

from typing import Any

from benchmarks.gpu.settings import BASELINE, GRPO_PHASES, TARGET_RATIO


def ratios(phases: dict[str, Any]) -> dict[str, Any]:
    """Completion tokens/s of each Kindling GRPO phase over grpo_trl's, with the memory beside.

    Args:
        phases: The report's phases (a phase that failed or was skipped has no tokens_per_s).

    Returns:
        Phase name -> tokens_per_s_ratio, step_s_ratio, meets_target, peak_gib,
        trl_default_peak_gib, extra_gib; only phases measured beside a measured grpo_trl.
    """
    base = phases.get(BASELINE, {})
    out = {}
    for name in GRPO_PHASES:
        cur = phases.get(name, {})
        if "tokens_per_s" not in cur or "tokens_per_s" not in base:
            continue
        ratio = cur["tokens_per_s"] / base["tokens_per_s"]
        peak, base_peak = cur.get("peak_gib"), base.get("peak_gib")
        out[name] = {
            "tokens_per_s_ratio": ratio,
            "meets_target": ratio >= TARGET_RATIO,
            "step_s_ratio": cur["step_s"] / base["step_s"],
            "peak_gib": peak, "trl_default_peak_gib": base_peak,
            "extra_gib": peak - base_peak if peak is not None and base_peak is not None else None,
        }
    return out


def best(ratios_by_phase: dict[str, Any]) -> dict[str, Any] | None:
    """The Kindling GRPO phase with the highest ratio (None when none was measured)."""
    if not ratios_by_phase:
        return None
    name = max(ratios_by_phase, key=lambda n: ratios_by_phase[n]["tokens_per_s_ratio"])
    r = ratios_by_phase[name]
    return {"phase": name, "ratio": r["tokens_per_s_ratio"], "meets_target": r["meets_target"]}


def fmt(v: Any, spec: str) -> str:
    """format(v, spec), or a dash as wide as the spec asks when v is None."""
    if v is None:
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return "-".rjust(int(width) if width else 1)
    return format(v, spec)


def verdict(ratio: float) -> str:
    """'met' or 'not met' against the target ratio."""
    return "met" if ratio >= TARGET_RATIO else "not met"


def table_lines(report: dict[str, Any]) -> list[str]:
    """The printed table: one row per phase, the ratio to grpo_trl and its verdict per GRPO phase.

    Args:
        report: The run's report (phases, ratios).

    Returns:
        The lines, without newlines.
    """
    lines = [f"{'phase':<12} {'step s':>8} {'tokens/s':>10} {'tok/compl':>9} {'peak GiB':>8}  "
             f"vs {BASELINE} (completion tokens/s; target >= {TARGET_RATIO:g}x)"]
    for name, r in report["phases"].items():
        if "skipped" in r:
            lines.append(f"{name:<12} skipped: {r['skipped']}")
            continue
        if "error" in r:
            lines.append(f"{name:<12} ERROR {r['error'].splitlines()[0][:90]}")
            continue
        row = (f"{name:<12} {r['step_s']:>8.3f} {r['tokens_per_s']:>10.1f} "
               f"{fmt(r.get('tokens_per_completion'), '>9.1f')} {fmt(r.get('peak_gib'), '>8.2f')}")
        ratio = report["ratios"].get(name)
        if ratio is not None:
            row += f"  {ratio['tokens_per_s_ratio']:6.2f}x  {verdict(ratio['tokens_per_s_ratio'])}"
            if ratio["extra_gib"] is not None:
                row += f" ({ratio['extra_gib']:+.2f} GiB vs {BASELINE})"
        elif name == BASELINE:
            row += "    1.00x  (TRL's GRPOConfig defaults)"
        lines.append(row)
    lines.append("tokens/s: GRPO completion tokens per second; SFT/RM training tokens per second")
    if report.get("ratio") is not None:
        lines.append(f"ratio (Kindling grpo / TRL defaults): {report['ratio']:.2f}x  target >= "
                     f"{TARGET_RATIO:g}x: {verdict(report['ratio'])}")
    if report.get("best") is not None:
        b = report["best"]
        lines.append(f"best Kindling GRPO phase: {b['phase']} {b['ratio']:.2f}x  target >= "
                     f"{TARGET_RATIO:g}x: {verdict(b['ratio'])}")
    return lines + memory_lines(report["phases"])


def pct(v: float | None) -> str:
    """A relative error as '+5.1%' (a dash when None)."""
    return "-" if v is None else f"{v:+.1%}"


def memory_line(name: str, m: dict[str, Any]) -> str:
    """One phase's or arm's memory: measured peak beside the estimator's figure.

    Args:
        name: The phase or arm, as the table names it.
        m: Its `memory_estimate` entry (benchmarks/gpu/estimate.py: estimate, then compare).

    Returns:
        e.g. "sft full bf16, batch 16×512: measured 9.80 GiB, estimated 10.30 GiB (+5.1%); reserved
        10.40 GiB (-1.0%)"; without a GPU "...: estimated 1.03 GiB; no GPU: not measured".
    """
    head = m.get("label", name)
    if "error" in m:
        return f"{head}: no estimate ({m['error'].splitlines()[0][:90]})"
    est = m.get("estimated_gib")
    est_words = f"estimated {est:.2f} GiB" if est is not None else "no estimate"
    if m.get("other_models_gib"):
        est_words += " (with " + ", ".join(f"{k} {v:.2f}" for k, v in m["other_models_gib"].items()) + ")"
    if m.get("measured_gib") is None:
        return f"{head}: {est_words}; {m['status']}"
    line = f"{head}: measured {m['measured_gib']:.2f} GiB, {est_words}"
    if m["status"] != "compared":
        return f"{line}; {m['status']}"
    line += f" ({pct(m['relative_error'])})"
    if m.get("measured_reserved_gib") is not None:
        line += f"; reserved {m['measured_reserved_gib']:.2f} GiB ({pct(m['relative_error_reserved'])})"
    return line


def memory_lines(parts: dict[str, Any]) -> list[str]:
    """The memory comparison of every part that has one, each note beneath its line."""
    lines = []
    for name, r in parts.items():
        m = (r or {}).get("memory_estimate")
        if m is None:
            continue
        lines.append(memory_line(name, m))
        lines.extend(f"    note: {n}" for n in m.get("notes", []))
    if lines:
        lines.insert(0, "memory per device, measured (torch.cuda.max_memory_allocated; max_memory_reserved "
                        "beside) vs the estimator (kindling.rl.memory_estimate; error = (estimated - "
                        "measured) / measured):")
    return lines


def print_table(report: dict[str, Any]) -> None:
    """Print `table_lines(report)`."""
    print("\n" + "\n".join(table_lines(report)), flush=True)
