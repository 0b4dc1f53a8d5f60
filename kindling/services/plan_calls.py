"""LLM calls and tokens of each agent step of an experiment, counted before it runs.

Calls per role follow the code paths (agents/curate/nodes.py, agents/adversarial/play.py and
reflect.py, the judge as GRPO's reward and in the agreement and comparison); a count that depends on
the answers (mistakes reflected on, rewrites) is an upper bound, marked `at_most`. Input tokens are
the role's own prompt rendered with a typical item (the task's worked example) and counted; output
tokens are a stated typical answer, capped by the role's max_tokens (the bound is kept too).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from kindling.agents.llm.config import LLMConfig
from kindling.agents.task import Task

PAPER_ROWS = {"sft": 4000, "rm_train": 6310, "rm_test": 1586, "grpo_train": 3200,
              "grpo_test": 800, "evaluation_set": 1606, "random_query": 10000}
"""Rows of the paper's datasets as imported (27,502 in all): the prompts GRPO runs over when the
store does not hold them yet."""

TYPICAL_OUTPUT = {"advocate": 250, "critic": 250, "judge": 120, "reflect": 150, "generate": 120,
                  "generate_flawed": 150, "detect": 120, "reflect_error": 150,
                  "revise_strategies": 300, "revise_principles": 300, "sample": 80}
"""A typical answer's tokens per role (ours: a JSON verdict with a reason, a list of findings, ten
rules, a short text), never more than the role's max_tokens."""

CHARS_PER_TOKEN_RULE = "DeepSeek's rule (0.6 a Chinese character, 0.3 any other character)"


@dataclass(frozen=True)
class RoleCalls:
    """One role's calls in one step."""

    step: str
    role: str
    llm: LLMConfig
    calls: int
    input_tokens: int  # one call's prompt
    output_tokens: int  # one call's typical answer
    max_output: int  # one call's bound (max_tokens)
    at_most: bool = False  # the count depends on the answers: an upper bound

    @property
    def total_input(self) -> int:
        return self.calls * self.input_tokens

    @property
    def total_output(self) -> int:
        return self.calls * self.output_tokens


@functools.cache
def _tiktoken() -> Any | None:
    """o200k_base when its file is already cached (tiktoken would download it otherwise)."""
    import hashlib
    import os
    import tempfile
    from pathlib import Path

    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    folder = (os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
              or str(Path(tempfile.gettempdir()) / "data-gym-cache"))
    if not (Path(folder) / hashlib.sha1(url.encode()).hexdigest()).is_file():
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding("o200k_base")
    except (ImportError, OSError, ValueError):
        return None


def token_counter() -> str:
    """What counts tokens: tiktoken's o200k_base when cached, else DeepSeek's published rule."""
    return "tiktoken o200k_base" if _tiktoken() is not None else CHARS_PER_TOKEN_RULE


def count_tokens(text: str) -> int:
    """Tokens of `text` (see `token_counter`)."""
    encoding = _tiktoken()
    if encoding is not None:
        return len(encoding.encode(text))
    cjk = sum(1 for c in text if 0x3400 <= ord(c) <= 0x9FFF or 0xF900 <= ord(c) <= 0xFAFF)
    return round(0.6 * cjk + 0.3 * (len(text) - cjk))


def typical_item(task: Task) -> dict[str, Any]:
    """The task's worked example as the item every template is rendered with."""
    spec = task.spec
    judge = spec.judge.example
    return {"query": spec.advocate.example.query, "response": spec.advocate.example.response,
            "pros": judge.pros, "cons": judge.cons, "initial_verdict": judge.verdict,
            "initial_reason": judge.reason, "explanation": judge.reason, "suggestion": judge.reason,
            "label": 1, "predicted": 0, "flaws": [c for c in judge.cons], "text": judge.response}


def rules_of(task: Task, kind: str) -> list[str]:
    """A task's starting principle set of `kind` (generator, detector, debate_judge)."""
    from kindling.store.principle_io import load_principles

    return list(load_principles(task.principles_ref(kind)).rules)  # type: ignore[arg-type]


def prompt_tokens(task: Task, template: str, **variables: Any) -> int:
    """Tokens of `template` rendered with the typical item and `variables`."""
    from kindling.agents.task_templates import TEMPLATE_VARIABLES

    item = {**typical_item(task), **variables}
    given = TEMPLATE_VARIABLES[template]
    return count_tokens(task.prompts().render(template, **{k: item[k] for k in given}).text)


def role(step: str, name: str, llm: LLMConfig, calls: int, input_tokens: int, *,
         at_most: bool = False, typical: int | None = None) -> RoleCalls:
    out = min(typical if typical is not None else TYPICAL_OUTPUT[name], llm.max_tokens)
    return RoleCalls(step, name, llm, calls, input_tokens, out, llm.max_tokens, at_most)


def path_a_calls(cfg: Any, task: Task, queries: int, samples: int) -> list[RoleCalls]:
    """Path A: advocate, critic, judge, reflect on every candidate (and the generator's calls
    when candidates come from a chat model, not the policy)."""
    items = queries * samples
    exemplars = [task.spec.advocate.example.response] * cfg.retrieval.k
    rules = rules_of(task, "debate_judge") if cfg.prompt_set == "kindling" else []
    out = []
    if cfg.policy is None and cfg.source == "generate":
        out.append(role("path_a", "generate", cfg.generator or cfg.llm, items,
                        prompt_tokens(task, "curate/generate", exemplars=exemplars)))
    for name in ("advocate", "critic", "judge", "reflect"):
        out.append(role("path_a", name, cfg.llm, items, prompt_tokens(
            task, f"curate/{cfg.prompt_set}/{name}", exemplars=exemplars, principles=rules)))
    return out


def path_b_calls(cfg: Any, task: Task) -> list[RoleCalls]:
    """Path B over `iterations` (its stop rules may end it sooner: every count is a bound)."""
    it, b, lab, val = cfg.iterations, cfg.batch_size, cfg.labelled_batch_size, cfg.validation_size
    gen, opt = cfg.generator or cfg.llm, cfg.optimizer or cfg.llm
    sd, sg = rules_of(task, "detector"), rules_of(task, "generator")
    seq = cfg.rewrites == "sequential"
    fb_sg = [task.spec.judge.example.reason] * (b if not seq else 1)
    fb_sd = [task.spec.judge.example.reason] * ((b + lab) if not seq else 1)
    detect_flawed = prompt_tokens(task, "adversarial/detect_flawed", principles=sd)
    detect = prompt_tokens(task, "judge/detect", principles=sd)
    detect_calls = it * b + it * lab + (it + 1) * val
    detect_in = (it * b * detect_flawed + (it * lab + (it + 1) * val) * detect) // detect_calls
    return [
        role("path_b", "generate_flawed", gen, it * b,
             prompt_tokens(task, "adversarial/generate_flawed", strategies=sg), at_most=True),
        role("path_b", "detect", cfg.llm, detect_calls, detect_in, at_most=True),
        role("path_b", "reflect_error", opt, it * lab,
             prompt_tokens(task, "adversarial/reflect_on_error", principles=sd), at_most=True),
        role("path_b", "revise_strategies", opt, it * (b if seq else 1),
             prompt_tokens(task, "adversarial/revise_strategies", strategies=sg, feedback=fb_sg,
                           max_rules=cfg.max_rules), at_most=True),
        role("path_b", "revise_principles", opt, it * ((b + lab) if seq else 2),
             prompt_tokens(task, "adversarial/revise_principles", principles=sd, feedback=fb_sd,
                           max_rules=cfg.max_rules), at_most=True),
    ]


def judge_calls(step: str, judge: Any, task: Task, items: int) -> RoleCalls:
    """The judge (the Detector prompt with S_D, here the task's starting S_D) on `items` texts,
    `samples` calls each."""
    return role(step, "detect", judge.llm, items * judge.samples,
                prompt_tokens(task, "judge/detect", principles=rules_of(task, "detector")))


def grpo_completions(kcfg: Any, trl: Any, processes: int, prompts: int | None) -> int | None:
    """Completions GRPO generates (each judged once per judge sample): max_steps × the global
    batch, else prompts × generations × epochs; None when the prompts are not known."""
    per_iteration = max(1, int(getattr(trl, "num_iterations", 1) or 1))
    if (trl.max_steps or 0) > 0:
        return (trl.max_steps * trl.per_device_train_batch_size * processes
                * trl.gradient_accumulation_steps) // per_iteration
    if prompts is None:
        return None
    if kcfg.limit:
        prompts = min(prompts, kcfg.limit)
    return int(prompts * trl.num_generations * trl.num_train_epochs)


def completions_words(kcfg: Any, trl: Any, where: str) -> str:
    """How grpo_completions counted, in words."""
    per_iteration = max(1, int(getattr(trl, "num_iterations", 1) or 1))
    if (trl.max_steps or 0) > 0:
        return (f"trl.max_steps {trl.max_steps} × the global batch"
                + (f" ÷ {per_iteration} iterations" if per_iteration > 1 else ""))
    limit = f", at most kindling.limit {kcfg.limit}" if kcfg.limit else ""
    return (f"the prompts ({where}{limit}) × {trl.num_generations} generations × "
            f"{trl.num_train_epochs:g} epochs")


def compare_calls(compare: Any, judge: Any, task: Task, policies: int) -> list[RoleCalls]:
    """The comparison: every policy's samples judged (`judge` None: scored by the RM alone),
    and each endpoint model sampled."""
    samples = compare.prompts * compare.samples_per_prompt
    out = ([] if judge is None else
           [judge_calls("compare", judge, task, samples * (policies + len(compare.endpoints)))])
    query = count_tokens(typical_item(task)["query"])
    response = count_tokens(typical_item(task)["response"])
    for endpoint in compare.endpoints:
        llm = endpoint.llm.model_copy(update={"max_tokens": compare.max_new_tokens})
        out.append(role("compare", f"sample ({endpoint.label})", llm, samples, query,
                        typical=response))
    return out
