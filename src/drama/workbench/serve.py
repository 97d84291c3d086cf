"""``drama serve [WORKSPACE]``: start the workbench on this machine and print its address.

The lead wires it in with ``from drama.workbench.serve import register; register(app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from drama.workbench.uploads import DEFAULT_MAX_UPLOAD_MB

__all__ = ["register", "serve"]

_EXTRA = "pip install 'drama-anomaly[workbench]'"


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    workspace: Annotated[Path, typer.Argument(
        help="Folder of data files to work on; the labels go to its .drama/ folder.")] = Path("."),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    host: Annotated[str, typer.Option(
        help="Address to bind; anything but 127.0.0.1 / localhost lets other machines in.")]
        = "127.0.0.1",
    refit_every: Annotated[int, typer.Option(
        min=1, help="Re-rank after every N answers (and on demand).")] = 1,
    max_upload: Annotated[float, typer.Option(
        min=0.001, help="Largest file the page may upload into the workspace, in MiB.")]
        = DEFAULT_MAX_UPLOAD_MB,
) -> None:
    """Start the DRAMA workbench: rank, inspect and label in the browser."""
    from drama.cli.common import user_errors  # here: drama.cli imports this module

    console = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    with user_errors():
        try:
            import uvicorn
        except ImportError:
            raise ImportError(f"drama serve needs the workbench extra: {_EXTRA}") from None
        from drama.workbench.app import create_app

        app = create_app(workspace, host=host, refit_every=refit_every,
                         max_upload_mb=max_upload)
    if not _is_loopback(host):
        err.print(f"[yellow]Warning: bound to {escape(host)}, not 127.0.0.1: anyone who can "
                  "reach this machine can read the workspace's data and change its labels."
                  "[/yellow]")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    sock = config.bind_socket()
    sock.listen(128)  # connections wait from now on, so the address printed works at once
    shown = f"[{host}]" if ":" in host else host
    console.print(f"DRAMA workbench on {escape(str(workspace))}: "
                  f"http://{shown}:{sock.getsockname()[1]}/  (Ctrl-C stops it)", highlight=False)
    server.run(sockets=[sock])


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the ``drama`` Typer app."""
    app.command("serve")(serve)
