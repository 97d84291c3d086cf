"""The workbench's web application: the JSON API and the page, on one workspace.

FastAPI is imported when the app is made, so that ``drama`` imports without the
``[workbench]`` extra. Besides confining file access to the workspace (:mod:`.workspace`),
the app answers only requests addressed to the host it serves (a web page elsewhere cannot
reach it through a rebound DNS name), takes a body only as JSON from the same origin (a
page elsewhere cannot post a form to it), and tells the browser to run only its own
scripts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drama.exceptions import StoreError

from .inputs import column_roles
from .map import BINS, MAX_POINTS, parse_polygon
from .runs import RunOptions, RunRegistry
from .saved_runs import earlier_runs
from .uploads import (
    DEFAULT_MAX_UPLOAD_MB,
    UploadTooLarge,
    save_image_upload,
    save_upload,
    too_large,
)
from .workspace import Workspace, WorkspaceError

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI, Request, Response

__all__ = ["IMAGE_UPLOAD_PATH", "LOCAL_HOSTS", "UPLOAD_PATH", "create_app"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
#: The two endpoints that take a multipart/form-data body (files); every other takes JSON.
UPLOAD_PATH = "/api/upload"
IMAGE_UPLOAD_PATH = "/api/upload/images"
# What a multipart body may add to the file it carries (boundaries and part headers).
_MULTIPART_SLACK = 64 << 10
_MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet",
                "fits": "application/fits"}
_PAGE_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
_SECURITY_HEADERS = {
    # plotly sets inline styles on the elements it draws; scripts only from this server
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                               "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                               "connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _plotly_js() -> bytes | None:
    """plotly.js as the plotly Python package ships it, or None without that package."""
    try:
        return (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def _body_refusal(request: Request, max_upload: int) -> tuple[str, int] | None:
    """Why a request's body is refused (message, status), or None: JSON everywhere but on
    the upload endpoints, which take one multipart form no longer than the upload limit
    allows (when the length is declared; else :class:`_CountedUploads` counts the body as
    it arrives, and the copy counts the file's bytes in any case)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.url.path not in (UPLOAD_PATH, IMAGE_UPLOAD_PATH):
        return None if kind == "application/json" else ("Send the body as application/json.",
                                                         415)
    if kind != "multipart/form-data":
        return "Send the upload as multipart/form-data.", 415
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_upload + _MULTIPART_SLACK:
        return str(too_large(max_upload)), 413
    return None


class _CountedUploads:
    """ASGI middleware: the upload endpoints' body is counted as it arrives, and refused
    (413) as soon as it passes the limit, so a body without a declared length (chunked)
    is not read, nor spooled to disk, far beyond the limit."""

    def __init__(self, app: Any, limit: int, max_upload: int) -> None:
        self.app, self.limit, self.max_upload = app, limit, max_upload

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope["path"] not in (UPLOAD_PATH, IMAGE_UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        from fastapi import HTTPException

        received = 0

        async def counted() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:  # FastAPI answers it as it answers its own
                    raise HTTPException(413, str(too_large(self.max_upload)))
            return message

        await self.app(scope, counted, send)


def create_app(workspace: str | Path, *, host: str = "127.0.0.1",
               refit_every: int = 1, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB) -> FastAPI:
    """The app serving ``workspace``; ``host`` is where it is bound (its name is accepted in
    the Host header besides the loopback names; on 0.0.0.0 or :: any name is); an upload
    may be at most ``max_upload_mb`` MiB."""
    from fastapi import Body, FastAPI, File, Form, HTTPException, Query, UploadFile
    from fastapi.responses import JSONResponse, Response
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    registry = RunRegistry(Workspace(workspace), refit_every=refit_every)
    if not max_upload_mb > 0:
        raise ValueError(f"max_upload_mb must be positive; got {max_upload_mb!r}.")
    max_upload = int(max_upload_mb * 2**20)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        registry.close()  # release the stores' locks; every label is already committed

    app = FastAPI(title="DRAMA workbench", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.registry = registry
    wildcard = host in ("0.0.0.0", "::")
    app.add_middleware(_CountedUploads, limit=max_upload + _MULTIPART_SLACK,
                       max_upload=max_upload)
    app.add_middleware(TrustedHostMiddleware,
                       allowed_hosts=["*"] if wildcard else [*LOCAL_HOSTS, host])

    @app.middleware("http")
    async def guard(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method not in ("GET", "HEAD"):
            refusal = _body_refusal(request, max_upload)
            if refusal is not None:
                return JSONResponse({"detail": refusal[0]}, refusal[1])
            origin = request.headers.get("origin")
            if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
                return JSONResponse({"detail": "Requests from another origin are refused."},
                                    403)
        response = await call_next(request)
        response.headers.update(_SECURITY_HEADERS)
        return response

    shown = registry.workspace.shown

    def run_of(name: str) -> Any:
        try:
            return registry.get(name)
        except LookupError as exc:
            raise HTTPException(409, shown(str(exc))) from None

    def answer_errors(call: Callable[[], Any]) -> Any:
        """Bad input becomes one message (files named relative to the workspace): 400, or
        404 for an unknown object id."""
        try:
            return call()
        except KeyError as exc:
            raise HTTPException(404, shown(str(exc.args[0]))) from None
        except UploadTooLarge as exc:
            raise HTTPException(413, str(exc)) from None
        except (WorkspaceError, StoreError, ValueError) as exc:
            raise HTTPException(400, shown(str(exc))) from None

    # ------------------------------------------------------------------ the page
    page = resources.files("drama.workbench") / "static"

    @app.get("/")
    def index() -> Response:
        return Response((page / "index.html").read_bytes(), media_type="text/html")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name == "plotly.min.js":
            body = _plotly_js()
            if body is None:
                raise HTTPException(404, "plotly is not installed: pip install "
                                         "'drama-anomaly[workbench]'")
            return Response(body, media_type="text/javascript",
                            headers={"Cache-Control": "max-age=86400"})
        if name not in _PAGE_FILES:
            raise HTTPException(404, "No such file.")
        return Response((page / name).read_bytes(), media_type=_PAGE_FILES[name])

    # ------------------------------------------------------------------ the API
    @app.get("/api/files")
    def files() -> dict[str, Any]:
        return answer_errors(lambda: {
            "files": [asdict(f) for f in registry.workspace.data_files()],
            "open": registry.names()})

    @app.post("/api/runs")
    def open_run(path: str = Body(...), options: Any = Body(None),  # noqa: B008 - checked
                 wait: bool = Body(True)) -> dict[str, Any]:
        def _open() -> dict[str, Any]:
            chosen = None if options is None else RunOptions.from_request(options)
            run = registry.open(path, chosen, wait=wait)
            return run.summary() if wait else registry.status(run.name)
        return answer_errors(_open)

    @app.get("/api/runs")
    def saved_runs() -> dict[str, Any]:
        open_now = set(registry.names())
        return answer_errors(lambda: {"runs": [{**r, "open": r["path"] in open_now}
                                               for r in earlier_runs(registry.workspace)]})

    @app.get("/api/runs/status")
    def run_status(run: str) -> dict[str, Any]:
        try:
            return answer_errors(lambda: registry.status(run))
        except LookupError as exc:
            raise HTTPException(409, shown(str(exc))) from None

    @app.get("/api/columns")
    def columns(path: str) -> dict[str, Any]:
        roles = answer_errors(lambda: column_roles(registry.workspace.resolve(path)))
        if roles.get("error"):
            roles["error"] = shown(roles["error"])
        if "notes" in roles:
            roles["notes"] = [shown(n) for n in roles["notes"]]
        return {"path": path, **roles}

    def upload(file: UploadFile = File(...)) -> dict[str, Any]:  # noqa: B008 - FastAPI's way
        saved = answer_errors(lambda: save_upload(registry.workspace, file.filename,
                                                  file.file, max_upload))
        return {"path": saved, "size": (registry.workspace.root / saved).stat().st_size}

    def upload_images(files: list = File(...),  # noqa: B008 - FastAPI's way
                      folder: str | None = Form(None)) -> dict[str, Any]:  # noqa: B008
        saved = answer_errors(lambda: save_image_upload(
            registry.workspace, [(f.filename, f.file) for f in files], max_upload, folder))
        pictures = sorted(p.name for p in (registry.workspace.root / saved).iterdir())
        return {"path": saved, "pictures": len(pictures), "names": pictures[:50]}

    # FastAPI reads the parameter's type from its annotation, a string under this module's
    # postponed annotations that names a class imported here, not at the module's top
    upload.__annotations__["file"] = UploadFile
    upload_images.__annotations__.update(files=list[UploadFile], folder=str | None)
    app.post(UPLOAD_PATH)(upload)
    app.post(IMAGE_UPLOAD_PATH)(upload_images)

    @app.post("/api/close")
    def close_run(run: str = Body(..., embed=True)) -> dict[str, Any]:
        return answer_errors(lambda: {"closed": registry.close_run(run)})

    @app.get("/api/run")
    def run_summary(run: str) -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).summary())

    @app.get("/api/candidates")
    def candidates(run: str, sort: str = "score", unlabelled_first: bool = True,
                   q: str = "", limit: int = Query(50, ge=1, le=1000),
                   offset: int = Query(0, ge=0), seed: int = 0,
                   lasso: str = "") -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).candidates(
            sort=sort, unlabelled_first=unlabelled_first, query=q, limit=limit,
            offset=offset, seed=seed, lasso=parse_polygon(lasso) if lasso else None))

    @app.get("/api/object")
    def detail(run: str, id: str,  # noqa: A002 - the object's id
               configuration: str | None = None) -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).detail(id, configuration or None))

    @app.get("/api/results")
    def results(run: str) -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).results())

    @app.get("/api/map")
    def map_of(run: str, max_points: int = Query(MAX_POINTS, ge=1, le=200_000),
               bins: int = Query(BINS, ge=2, le=500), x0: float | None = None,
               x1: float | None = None, y0: float | None = None,
               y1: float | None = None) -> dict[str, Any]:
        bounds = (x0, x1, y0, y1)
        if any(b is None for b in bounds) and any(b is not None for b in bounds):
            raise HTTPException(400, "A map window needs all four of x0, x1, y0 and y1.")
        window = None if x0 is None else bounds
        return answer_errors(lambda: run_of(run).map(max_points=max_points, bins=bins,
                                                     window=window))

    @app.get("/api/map/lasso")
    def lasso(run: str, polygon: str) -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).lasso(parse_polygon(polygon)))

    @app.post("/api/label")
    def label(run: str = Body(...), id: str = Body(...),  # noqa: A002
              answer: str | None = Body(None), cls: str | None = Body(None),
              rating: int | None = Body(None)) -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).answer(id, answer, cls, rating))

    @app.post("/api/undo")
    def undo(run: str = Body(..., embed=True)) -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).undo())

    @app.post("/api/refit")
    def refit(run: str = Body(..., embed=True)) -> dict[str, Any]:
        return answer_errors(lambda: run_of(run).refit())

    @app.get("/api/export")
    def export(run: str, what: str = "labels", format: str = "csv") -> Response:  # noqa: A002
        body = answer_errors(lambda: run_of(run).export(what, format))
        stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_"
                       for c in Path(run).name)
        return Response(body, media_type=_MEDIA_TYPES[format], headers={
            "Content-Disposition": f'attachment; filename="{stem}-{what}.{format}"'})

    return app
