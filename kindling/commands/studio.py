"""`kindling studio`: serve the local web app over the store."""

from __future__ import annotations

import secrets

import typer

from kindling.context import console


def studio(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to bind. Anything but loopback needs a token (given or generated)."),
    port: int = typer.Option(8765, min=1, max=65535, help="Port to listen on."),
    token: str = typer.Option(None, "--token", envvar="KINDLING_STUDIO_TOKEN", help="Require this token (Bearer header, or open /?token=T once for a cookie). Default: none on loopback, a generated one otherwise."),
) -> None:
    """Serve the studio: runs with metrics and training curves, graph runs with the item's path
    lit and its agent transcripts, principle versions (lineage, side-by-side diffs, an editor
    that saves new versions), evaluation tables beside the length-only baseline."""
    import uvicorn

    from kindling.studio.app import create_app

    served, required = access_for(host, token)
    app = create_app(ctx.obj.db_url, required, allowed_hosts=served)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={required}" if required else "")
    console.print(f"kindling studio on {url}  (store: {app.state.store.url}; Ctrl+C stops)",
                  highlight=False, soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def access_for(host: str, token: str | None) -> tuple[frozenset[str] | None, str | None]:
    """(host names served, token required) for a bind address: on loopback only loopback names
    (and the bound one) and the token if given; elsewhere any name, and a token always (generated
    when none is given)."""
    from kindling.studio.security import LOOPBACK_NAMES, is_loopback

    if is_loopback(host):
        return LOOPBACK_NAMES | {host.strip("[]").lower()}, token
    return None, token or secrets.token_urlsafe(24)
