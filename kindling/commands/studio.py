"""`kindling studio`: serve the local web app over the store."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import typer

from kindling.context import console, fail
from kindling.store.errors import UserError

MIN_TOKEN_CHARS = 16


def studio(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to bind. Anything but loopback needs a token (given or generated)."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on."),
    token: str = typer.Option(None, "--token", envvar="KINDLING_STUDIO_TOKEN", help="Require this token (Bearer header, or open /?token=T once for a cookie). Default: none on loopback, a generated one otherwise."),
    project: Path = typer.Option(Path("."), "--project", exists=True, file_okay=False, dir_okay=True, help="The project folder: the browser debugger starts runs only from the configs found here (*.yaml in it and in its configs/ folder)."),
    allow_endpoint_overrides: bool = typer.Option(False, "--allow-endpoint-overrides", help="Let the debugger's overrides change a config's endpoint, model or key variable (backend, base_url, model, api_key_env, ...); the key variable must still be one a project config names. Off: those come from the config only."),
) -> None:
    """Serve the studio: runs with metrics and training curves, graph runs with the item's path
    lit and its agent transcripts, principle versions (lineage, side-by-side diffs, an editor
    that saves new versions), evaluation tables beside the length-only baseline, and a debugger
    that steps the project's configs."""
    from kindling.store.db import Store

    if token is not None and len(token) < MIN_TOKEN_CHARS:
        fail(f"--token: {len(token)} characters; a token needs at least {MIN_TOKEN_CHARS} "
             "(leave it out off loopback and one is generated)")
    served, required = access_for(host, token)
    store = Store(ctx.obj.db_url, create=False)  # a studio over a missing store makes none
    sock = listening_socket(host, port)  # bound before the URL is printed
    # the web app (and the debugger's agents, seconds to import) only once the store is open and
    # the port bound: a wrong store or a busy port is named at once
    try:
        import uvicorn

        from kindling.studio.app import create_app

        app = create_app(store, required, allowed_hosts=served, project=project,
                         allow_endpoint_overrides=allow_endpoint_overrides)
    except BaseException:
        sock.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={required}" if required else "")
    console.print(f"kindling studio on {url}  (store: {app.state.store.url}; project: "
                  f"{project.resolve()}; Ctrl+C stops)",
                  highlight=False, soft_wrap=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening.

    Raises:
        UserError: the address cannot be resolved or bound (in use, not this machine's, ...).
    """
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        raise UserError(f"--host {host} --port {port}: cannot listen there: "
                        f"{exc.strerror or exc}") from exc
    return sock


def access_for(host: str, token: str | None) -> tuple[frozenset[str] | None, str | None]:
    """(host names served, token required) for a bind address: on loopback only loopback names
    (and the bound one) and the token if given; elsewhere any name, and a token always (generated
    when none is given)."""
    from kindling.studio.security import LOOPBACK_NAMES, is_loopback

    if is_loopback(host):
        return LOOPBACK_NAMES | {host.strip("[]").lower()}, token
    return None, token or secrets.token_urlsafe(24)
