"""Key values are replaced by a marker in texts, log records (whatever logger or handler) and the
CLI's error line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import typer
from kindling.agents.llm.redaction import (
    MIN_KEY_CHARS,
    RedactingFilter,
    forget_keys,
    marker,
    redact,
    register_key,
)

KEY = "sk-unit-PLANTED/4d2+c0ffee"


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    forget_keys()
    register_key("UNIT_KEY", KEY)
    yield
    forget_keys()


def test_a_key_is_replaced_by_its_variables_marker_in_every_form() -> None:
    text = f"Incorrect API key provided: {KEY}; json {json.dumps(KEY)}; url ?k={quote(KEY, safe='')}"
    cleaned = redact(text)
    assert KEY not in cleaned and quote(KEY, safe="") not in cleaned
    assert json.dumps(KEY)[1:-1] not in cleaned
    assert cleaned.count(marker("UNIT_KEY")) == 3 and marker("UNIT_KEY") == "[REDACTED $UNIT_KEY]"


def test_short_values_are_not_keys() -> None:
    register_key("LOCAL_KEY", "k" * (MIN_KEY_CHARS - 1))
    register_key("EMPTY_KEY", "")
    assert redact("kkkkkkk local keys") == "kkkkkkk local keys"


def test_the_longest_value_goes_first() -> None:
    register_key("LONG_KEY", KEY + "-and-more")
    assert redact(f"{KEY}-and-more {KEY}") == "[REDACTED $LONG_KEY] [REDACTED $UNIT_KEY]"


def test_log_records_of_any_logger_are_redacted_before_any_handler(tmp_path: Path) -> None:
    log_file = tmp_path / "library.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logger = logging.getLogger("some.library.http")
    logger.addHandler(handler)
    try:
        logger.warning("server said %s", f"bad key {KEY}")
        try:
            raise ValueError(f"echoed {KEY}")
        except ValueError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    written = log_file.read_text(encoding="utf-8")
    assert KEY not in written and written.count("[REDACTED $UNIT_KEY]") == 2
    assert "ValueError" in written  # the traceback is kept, redacted


def test_the_filter_cleans_a_record_made_before_any_key_was_known() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "key %s", (KEY,), None)
    assert RedactingFilter().filter(record) and KEY not in record.getMessage()


def test_the_cli_error_line_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    from kindling.context import fail

    with pytest.raises(typer.Exit):
        fail(f"the endpoint said: Incorrect API key provided: {KEY}")
    err = capsys.readouterr().err
    assert KEY not in err and "[REDACTED $UNIT_KEY]" in err
