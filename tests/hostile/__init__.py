"""A hostile OpenAI-compatible server for the reliability suite (see `app` for its behaviours).

``with HostileServer() as server:`` starts it in a child process on two loopback ports (two
origins); ``server.base_url("echo400")`` is an endpoint, ``server.requests()`` what every request
carried (its Authorization header included, to prove where a key went).
"""

from tests.hostile.process import HostileServer

__all__ = ["HostileServer"]
