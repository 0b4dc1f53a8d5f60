"""How text is measured in a task's language: length, the tokens of distinct-n, self-BLEU's tokenizer.

Every text measure (lengths and the length baseline, distinct-n, repetition, self-BLEU, the
reward-hacking guard's patterns) takes a language and, for lengths, a length unit; the defaults
(`zh`, `chars`) are what the paper's Chinese greetings use, so figures on that data do not change.

- Length: `chars` is the Python string length (Unicode code points: a Chinese character is one,
  whitespace and punctuation count too); `words` counts words as `words` splits them.
- Tokens (distinct-n, repetition): `zh` takes characters with whitespace removed; `en` takes
  lower-cased words (punctuation dropped).
- Self-BLEU: sacrebleu's `zh` tokenizer for `zh` (each Chinese character a token), `13a` (the
  WMT standard for space-separated text) for `en`.
- Guard: `zh` keeps the guard's rules as they are (Chinese and English phrasings of the paper
  task's judge); `en` has English counterparts (agents/judge/guard_en.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, get_args

from kindling.agents.judge.guard import rules_for
from kindling.agents.judge.guard_rule import GuardRule

Language = Literal["zh", "en"]
LengthUnit = Literal["chars", "words"]
LANGUAGES: tuple[str, ...] = get_args(Language)
LENGTH_UNITS: tuple[str, ...] = get_args(LengthUnit)
DEFAULT_LANGUAGE: Language = "zh"
DEFAULT_UNIT: LengthUnit = "chars"

_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
"""A word: letters or digits, joined by inner apostrophes or hyphens ("don't", "well-being")."""

_BLEU_TOKENIZER: dict[str, str] = {"zh": "zh", "en": "13a"}


def check_language(language: str) -> Language:
    """`language` if it is one Kindling measures ("zh" or "en").

    Raises:
        ValueError: any other value.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: expected one of {', '.join(LANGUAGES)}")
    return language  # type: ignore[return-value]


def check_unit(unit: str) -> LengthUnit:
    """`unit` if it is a length unit ("chars" or "words").

    Raises:
        ValueError: any other value.
    """
    if unit not in LENGTH_UNITS:
        raise ValueError(f"unknown length unit {unit!r}: expected one of {', '.join(LENGTH_UNITS)}")
    return unit  # type: ignore[return-value]


def words(text: str) -> list[str]:
    """The words of a space-separated text, in order, punctuation dropped.

    A word is a run of letters or digits, with inner apostrophes or hyphens kept ("don't",
    "well-being", "2025"). A run of Chinese characters has no spaces to split on and counts
    as one word: use `chars` for Chinese.
    """
    return _WORD.findall(text)


def text_length(text: str, unit: str = DEFAULT_UNIT) -> int:
    """The length of `text` in `unit`: characters (the string length) or words (`words`).

    Raises:
        ValueError: an unknown unit.
    """
    if check_unit(unit) == "chars":
        return len(text)
    return len(words(text))


def text_lengths(texts: Iterable[str], unit: str = DEFAULT_UNIT) -> list[int]:
    """`text_length` of each text."""
    check_unit(unit)
    return [text_length(t, unit) for t in texts]


def unit_name(unit: str = DEFAULT_UNIT) -> str:
    """The unit in words for reports: "characters" or "words"."""
    return "characters" if check_unit(unit) == "chars" else "words"


def measure_tokens(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The tokens distinct-n and repetition count: characters without whitespace (zh), or
    lower-cased words (en).

    Raises:
        ValueError: an unknown language.
    """
    if check_language(language) == "zh":
        return list("".join(text.split()))
    return [w.lower() for w in words(text)]


def char_ngrams(text: str, n: int, *, short_as_one: bool = False) -> list[str]:
    """Overlapping character n-grams of `text`, whitespace removed (Chinese has no spaces; n-grams
    work without a segmenter).

    Args:
        text: The text.
        n: The n-gram order.
        short_as_one: A text shorter than n is its own one n-gram (retrieval: a one-character
            query still matches), instead of having none (diversity metrics).
    """
    chars = "".join(text.split())
    if short_as_one and 0 < len(chars) < n:
        return [chars]
    return [chars[i:i + n] for i in range(len(chars) - n + 1)]


def token_ngrams(text: str, n: int, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The n-grams of `measure_tokens(text, language)`, each as one string (characters joined
    as they are for zh, words joined by a space for en); none when there are fewer than n."""
    tokens = measure_tokens(text, language)
    sep = "" if language == "zh" else " "
    return [sep.join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def bleu_tokenizer(language: str = DEFAULT_LANGUAGE) -> str:
    """sacrebleu's tokenizer for self-BLEU in `language`: `zh` for zh, `13a` for en.

    Raises:
        ValueError: an unknown language.
    """
    return _BLEU_TOKENIZER[check_language(language)]


def guard_rules(language: str = DEFAULT_LANGUAGE) -> tuple[GuardRule, ...]:
    """The reward-hacking guard's rules for `language` (agents/judge/guard.py `rules_for`):
    the rules as they are for zh, their English counterparts (guard_en.py) for en."""
    return rules_for(check_language(language))
