"""What a slow backend step is doing while it happens ("starting the local llama.cpp server"),
told to whoever waits on it in this context: the studio's debugger shows it on its page.

The listener is a context variable: asyncio tasks and `asyncio.to_thread` carry it into the code
they run, so the code that starts a backend needs no reference to its caller, and code with no
listener (the CLI) tells no one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

Listener = Callable[[str | None], None]
"""Called with the notice when a step begins, and with None when it is over."""

_listener: ContextVar[Listener | None] = ContextVar("kindling_backend_notice", default=None)


def listen(listener: Listener) -> Token[Listener | None]:
    """Send this context's notices to `listener` (until `stop_listening` with the token)."""
    return _listener.set(listener)


def stop_listening(token: Token[Listener | None]) -> None:
    _listener.reset(token)


@contextmanager
def notice(text: str) -> Iterator[None]:
    """Tell this context's listener, if any, `text` while the block runs, and None after."""
    tell = _listener.get()
    if tell is not None:
        tell(text)
    try:
        yield
    finally:
        if tell is not None:
            tell(None)
