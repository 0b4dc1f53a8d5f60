"""API keys out of everything Kindling prints or stores.

The value of each key variable in use is registered when it is read (`build_chat_model`,
`kindling endpoint check`); `redact(text)` replaces it with `[REDACTED $VARNAME]` (in capitals:
rich reads a lower-case `[word ...]` as markup and would print nothing). It is applied
where endpoint text enters Kindling (the caller, free-text sampling, the endpoint check), in the
CLI's `fail()`, and to every log record once a key is registered.

Why one registry for the whole process: a key belongs to the process's environment, not to a run
or a model object, and the places that must remove it (an error line the CLI prints, a library's
log record, a text a node keeps many layers below the chat model) have no path back to the model
that read it; threading the key through every layer would leave some path forgotten. A value
stays registered for the life of the process: removing a value no longer in use costs nothing.
Values shorter than `MIN_KEY_CHARS` are not registered: servers without auth take any value
("k", "local"), and replacing such a string everywhere would garble text and protect nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import quote

MIN_KEY_CHARS = 8
_lock = threading.Lock()
_keys: tuple[tuple[str, str], ...] = ()  # (value as it may appear, variable name), longest first
_factory_installed = False


def marker(variable: str) -> str:
    """What stands in for the value of `variable`."""
    return f"[REDACTED ${variable}]"


def register_key(variable: str, value: str | None) -> None:
    """Remove `value` (the key read from `variable`) from every text redacted from now on.

    The value is also matched as it appears JSON-escaped or URL-encoded in an echo.
    """
    global _keys
    if not value or len(value) < MIN_KEY_CHARS:
        return
    forms = {value, json.dumps(value)[1:-1], quote(value, safe="")}
    with _lock:
        known = dict(_keys)
        known.update({form: variable for form in forms})
        _keys = tuple(sorted(known.items(), key=lambda kv: -len(kv[0])))
    install_log_redaction()


def redact(text: str) -> str:
    """`text` with every registered key value replaced by its marker."""
    for value, variable in _keys:
        if value in text:
            text = text.replace(value, marker(variable))
    return text


def forget_keys() -> None:
    """Drop every registered value (for tests)."""
    global _keys
    with _lock:
        _keys = ()


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """A log record whose message and traceback text carry no registered key."""
    if not _keys:
        return record
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record: logging reports it when emitted
        return record
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


class RedactingFilter(logging.Filter):
    """A logging filter (for a handler of one's own) that removes registered keys."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_log_redaction() -> None:
    """Redact every log record the process makes, whichever logger or handler it goes to (the
    record factory sees each record once, before any handler formats it)."""
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _factory_installed = True
