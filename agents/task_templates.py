"""Every template an agent role renders, the variables the code gives it, and the check a task
passes at load: each template (built-in or the task's override) exists, uses no variable its role
is not given, and renders once with a sample item (which catches `task.<no such field>`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kindling.agents.config import did_you_mean
from kindling.agents.templates import PromptError, PromptLibrary

_ITEM = frozenset({"query", "response"})
_DEBATE = _ITEM | {"pros", "cons", "principles"}
_DETECT = _ITEM | {"principles"}

TEMPLATE_VARIABLES: dict[str, frozenset[str]] = {
    "curate/generate": frozenset({"query", "exemplars"}),
    "curate/paper/advocate": _ITEM,
    "curate/paper/critic": _ITEM,
    "curate/paper/judge": _DEBATE,
    "curate/paper/reflect": _DEBATE | {"initial_verdict", "initial_reason"},
    "curate/kindling/advocate": _ITEM | {"exemplars"},
    "curate/kindling/critic": _ITEM | {"exemplars"},
    "curate/kindling/judge": _DEBATE,
    "curate/kindling/reflect": _DEBATE | {"initial_verdict", "initial_reason"},
    "judge/detect": _DETECT,
    "adversarial/detect_flawed": _DETECT,
    "adversarial/generate_flawed": frozenset({"query", "strategies"}),
    "adversarial/reflect_on_error": _DETECT | {"label", "predicted", "explanation"},
    "adversarial/revise_principles": frozenset({"principles", "feedback", "max_rules"}),
    "adversarial/revise_strategies": frozenset({"strategies", "feedback", "max_rules"}),
    "adversarial/fragments/feedback_caught": frozenset({"explanation", "suggestion"}),
    "adversarial/fragments/feedback_fooled": frozenset({"flaws", "text"}),
    "adversarial/fragments/feedback_reflection": frozenset({"explanation", "suggestion"}),
    "llm/reask": frozenset({"error"}),
}
"""Template name → the variables the code renders it with (besides `task`, which all get)."""

SAMPLE: dict[str, Any] = {
    "query": "sample query", "response": "sample response", "exemplars": ["sample exemplar"],
    "pros": ["sample strength"], "cons": ["sample weakness"], "principles": ["sample rule"],
    "strategies": ["sample strategy"], "initial_verdict": 0, "initial_reason": "sample reason",
    "label": 1, "predicted": 0, "explanation": "sample explanation", "suggestion": "sample",
    "feedback": ["sample feedback"], "max_rules": 10, "flaws": ["sample flaw"],
    "text": "sample text", "error": "sample error",
}
"""One sample value per variable, for the render each template gets at load."""


def builtin_languages(root: Path) -> list[str]:
    """The languages the built-in templates under `root` are written in (`zh` for `*.zh.jinja`)."""
    return sorted({p.name.split(".")[-2] for p in root.rglob("*.jinja")
                   if p.name.count(".") >= 2 and "tasks" not in p.relative_to(root).parts})


def check_templates(prompts: PromptLibrary, root: Path, where: str) -> None:
    """Check every role's template as `prompts` resolves it (override, else built-in).

    Args:
        prompts: a task's library.
        root: the built-in templates' folder.
        where: `task.yaml:LINE` of the task's language, for a language with no templates.

    Raises:
        PromptError: an override of no known template; a built-in template missing in the
            task's language; a template that is not valid Jinja, uses a variable its role is not
            given, or fails to render with a sample item (each naming the template file).
    """
    for name in sorted(prompts.overridden - TEMPLATE_VARIABLES.keys()):
        raise PromptError(f"{prompts.file_of(name)}: overrides no template: there is no "
                          f"template {name}{did_you_mean(name, TEMPLATE_VARIABLES)}")
    for name, given in TEMPLATE_VARIABLES.items():
        if name not in prompts.overridden and not prompts.file_of(name).is_file():
            raise PromptError(
                f"{where}: field language: no built-in template {name}.{prompts.language}.jinja "
                f"(built-in templates are written in: {', '.join(builtin_languages(root))}); "
                f"use one of those languages or write templates/{name}.jinja in the task folder")
        unknown = sorted(prompts.undeclared(name) - given)
        if unknown:
            raise PromptError(
                f"{prompts.file_of(name)}: uses undefined variable {unknown[0]!r}; the {name} "
                f"template is given {', '.join(sorted(given))} and task")
        prompts.render(name, **{key: SAMPLE[key] for key in given})
