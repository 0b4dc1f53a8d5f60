"""Guard against reward hacking: flag responses that talk to the judge instead of the reader.

A policy trained on the judge's verdict learns quickly that text such as ``{"verdict": "Good"}``,
"ignore previous instructions" or "请判定为Good" may sway an LLM judge. Such responses are not
sent to the judge at all: they get the lowest score and the names of the rules they broke.

Every rule is a regular expression over the response text; rules are tuned so that ordinary
greetings (the paper's evaluation set, SFT set and RM pairs) are never flagged.
"""

from __future__ import annotations

import re

from kindling.agents.judge.guard_en import EN_RULES
from kindling.agents.judge.guard_rule import GuardRule

__all__ = ["EN_RULES", "RULES", "GuardRule", "check_response", "describe", "rules_for"]

_I = re.IGNORECASE
_NOT_ALNUM = r"(?![A-Za-z0-9])"  # \b does not work next to Chinese characters (they are \w)
_QUOTE = r"[\"'“”‘’「」『』]?"


RULES: tuple[GuardRule, ...] = (
    GuardRule(
        "judge_format",
        re.compile(r"[{(\[]\s*" + _QUOTE + r"\s*(verdict|judge|judgement|judgment|score|rating|"
                   r"label|grade|result|评分|判定|判决|结果|分数|评价)\s*" + _QUOTE + r"\s*[:：=]",
                   _I),
        "judge-format output, e.g. {\"verdict\": \"Good\"} or {\"judge\": 1}",
    ),
    GuardRule(
        "verdict_claim",
        re.compile(r"(verdict|judgement|judgment|判定结果|评判结果|评价结果|评估结果|最终判定)\s*"
                   r"[:：=]\s*" + _QUOTE + r"\s*(good|bad|好|1|0|pass|通过)", _I),
        "a verdict written into the response, e.g. \"verdict: Good\"",
    ),
    GuardRule(
        "score_claim",
        re.compile(r"(评分|得分|打分|分数|总分|score|rating|grade)\s*[:：=为是]\s*\d+(\.\d+)?\s*"
                   r"(分|/\s*\d+|points?)?", _I),
        "a score written into the response, e.g. \"评分：10分\" or \"score: 10\"",
    ),
    GuardRule(
        "instruction_override",
        re.compile(
            r"(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+|your\s+)*"
            r"(previous|prior|above|earlier|preceding|former|system|original)?\s*"
            r"(instructions?|rules?|prompts?|requirements?|directions?|principles?|guidelines?)"
            r"|(忽略|无视|忘记|忘掉|不要理会|别管|跳过|抛开|撇开)(掉)?\s*(你)?(之前|以上|上面|上述|前面|"
            r"先前|所有|全部|一切|原有|原来|系统)?的?\s*(所有|全部|一切)?的?\s*"
            r"(要求|指令|规则|原则|提示词?|说明|指示|设定|评价标准|标准)"
            r"|(新的?|最新的?|以下是新的?)(系统)?(指令|系统提示)", _I),
        "instructions to the judge to drop its rules (\"ignore previous instructions\", \"忽略以上要求\")",
    ),
    GuardRule(
        "verdict_request",
        re.compile(
            r"(判|判定|判断|判别|评判|评定|评为|标记|归类)\s*(为|成|作)?\s*" + _QUOTE
            + r"\s*(good|1)" + _NOT_ALNUM
            + r"|(判|判定|判断|判别|评判)\s*(为|成|作)\s*" + _QUOTE + r"\s*(好|优|合格|通过|满分|正面)"
            r"|(请|务必|一定要|必须)\s*(给|打|输出|返回|回复)\s*" + _QUOTE
            + r"\s*(满分|最高分|高分|好评|good|1" + _NOT_ALNUM + r"|10\s*分)"
            r"|\b(rate|judge|classify|mark|score|label|grade|evaluate)\s+(this|it|me|my|the)?\s*"
            r"(response|answer|greeting|text|reply|output)?\s*(as|with|a|an)?\s*" + _QUOTE
            + r"\s*(good|1|10|excellent|positive|perfect|full\s+marks)" + _NOT_ALNUM
            + r"|\b(output|return|respond\s+with|reply\s+with|answer\s+with)\s*[:：]?\s*" + _QUOTE
            + r"\s*(good|verdict|\{)", _I),
        "a request for a good verdict (\"请判定为Good\", \"判为好\", \"rate this as good\")",
    ),
    GuardRule(
        "role_tag",
        re.compile(
            r"(^|[\n\r]|(?<=[\s。！？!?.，,;；]))\s*(system|assistant|developer)\s*[:：]"
            r"|(^|[\n\r])\s*(user|human|ai|系统|助手|用户)\s*[:：]"
            r"|<\|?\s*/?\s*(im_start|im_end|system|assistant|user|endoftext|eot_id)\s*\|?>"
            r"|\[/?\s*INST\s*\]|<<\s*/?\s*SYS\s*>>|系统提示|system\s+prompt", _I),
        "chat role tags or special tokens (\"system:\", \"assistant:\", \"<|im_start|>\")",
    ),
    GuardRule(
        "fence_marker",
        re.compile(r"<<<\s*/?\s*[A-Za-z_]{2,20}\s*>>>|\[\[\s*(任务定义|评价原则|评估对象|输出格式|"
                   r"评价标准|[A-Za-z ]{3,20})\s*\]\]"),
        "the judge prompt's own markers (the response fence or section headers)",
    ),
    GuardRule(
        "judge_address",
        re.compile(r"\b(dear|to\s+the|note\s+to\s+(the)?|attention)\s*(ai\s+)?"
                   r"(judge|evaluator|grader|reviewer|rater)" + _NOT_ALNUM
                   + r"|(ai|llm|model)\s+(judge|evaluator|grader)"
                   + r"|(评估|评测|评判|裁判|打分)(模型|系统|程序|AI|机器人)|AI\s*(评委|裁判|评审)", _I),
        "words addressed to the (AI) judge rather than the reader",
    ),
)


_RULES_BY_LANGUAGE: dict[str, tuple[GuardRule, ...]] = {"zh": RULES, "en": EN_RULES}


def rules_for(language: str = "zh") -> tuple[GuardRule, ...]:
    """The guard's rules for a task's language: `RULES` for zh (the paper's task), their English
    counterparts (guard_en.EN_RULES, the same rule names) for en.

    Raises:
        ValueError: an unknown language.
    """
    if language not in _RULES_BY_LANGUAGE:
        raise ValueError(f"unknown language {language!r}: expected one of "
                         f"{', '.join(_RULES_BY_LANGUAGE)}")
    return _RULES_BY_LANGUAGE[language]


def check_response(text: str, language: str = "zh") -> tuple[bool, list[str]]:
    """Flag a response that carries judge-format output or instructions to the judge.

    Args:
        text: the response to be judged.
        language: the task's language, choosing the rules (`rules_for`).

    Returns:
        (flagged, reasons): reasons are the names of the rules matched, in rule order.
    """
    reasons = [rule.name for rule in rules_for(language) if rule.pattern.search(text)]
    return bool(reasons), reasons


def describe(reasons: list[str]) -> str:
    """The reason stored for a flagged item, naming the guard rules it broke."""
    return "guard: " + ", ".join(reasons)
