"""Files uploaded from the browser into the workspace's ``uploads/`` folder.

An upload is a data file DRAMA reads (its suffix decides, as for the workspace's own
files), at most ``max_bytes`` long. Its name is the browser's, checked rather than
repaired: no folder parts, no hidden or control characters; an existing file is never
replaced: the upload takes the next free name (``name-2.csv``). The bytes go to a hidden
part-file first and are linked into place only when complete and within the limit, so a
refused or broken upload leaves nothing behind.

Pictures are uploaded as an *image folder* (:func:`save_image_upload`): several PNG or JPEG
files, or one ``.zip`` of them, become a new folder ``uploads/<name>/``. The same limits
hold (the total at most ``max_bytes``, counted as the bytes arrive, a zip's members as they
are unpacked); each picture's type is checked by its first bytes, not only its suffix; its
name must be plain (a zip member with folder parts, ``..`` or an absolute path is refused:
nothing is ever written outside the new folder); the folder never replaces another
(``name-2``), and it is built hidden and renamed into place only when complete.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, BinaryIO

from drama.datasets.readers import FORMATS, file_format, format_suffix

from .workspace import Workspace, WorkspaceError

__all__ = ["DEFAULT_MAX_UPLOAD_MB", "UPLOAD_FOLDER", "UploadTooLarge", "save_image_upload",
           "save_upload", "too_large"]

#: Where uploads go, below the workspace.
UPLOAD_FOLDER = "uploads"
#: The default limit of one upload, in MiB (``drama serve --max-upload``).
DEFAULT_MAX_UPLOAD_MB = 256
_CHUNK = 1 << 20
_MAX_NAME = 200
#: The first bytes of the pictures an image folder takes, by suffix.
_SIGNATURES = {".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff"}
_MAX_PICTURES = 100_000


class UploadTooLarge(ValueError):
    """An upload longer than the server's limit."""


def _plain_name(name: str | None) -> str:
    """The browser's (or a zip member's) name when it is a plain, visible file name."""
    if not name or not name.strip():
        raise WorkspaceError("The upload has no file name.")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise WorkspaceError(f"{name!r} is not a plain file name (no folders in uploads).")
    if name.startswith(".") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise WorkspaceError(f"{name!r} is hidden or holds control characters; rename it.")
    if len(name) > _MAX_NAME:
        raise WorkspaceError(f"The file name is longer than {_MAX_NAME} characters.")
    return name


def _checked_name(name: str | None) -> str:
    """The browser's file name when it is a plain, visible name of a data file."""
    name = _plain_name(name)
    try:
        file_format(name)
    except ValueError:
        raise WorkspaceError(f"{name!r} is not a data file DRAMA reads "
                             f"({', '.join(sorted(FORMATS))}).") from None
    return name


def too_large(max_bytes: int) -> UploadTooLarge:
    """The refusal of an upload over ``max_bytes``, the same wherever it is counted."""
    return UploadTooLarge(f"The upload is larger than the server's limit of "
                          f"{max_bytes / 2**20:.3g} MiB (drama serve --max-upload).")


def _uploads_folder(workspace: Workspace) -> Path:
    folder = workspace.plain_folder(UPLOAD_FOLDER)
    folder.mkdir(exist_ok=True)
    return folder


class _Budget:
    """The bytes an upload may still write, across all its files."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.left = max_bytes, max_bytes

    def copy(self, stream: IO[bytes], out: BinaryIO) -> None:
        while chunk := stream.read(_CHUNK):
            self.left -= len(chunk)
            if self.left < 0:
                raise too_large(self.max_bytes)
            out.write(chunk)


def save_upload(workspace: Workspace, name: str | None, stream: BinaryIO,
                max_bytes: int) -> str:
    """Copy ``stream`` into ``uploads/`` under ``name`` (or the next free name); returns
    its workspace path. Refused: a name that is not a plain data-file name
    (WorkspaceError) and more than ``max_bytes`` bytes (UploadTooLarge)."""
    name = _checked_name(name)
    folder = _uploads_folder(workspace)
    part = folder / f".upload-{uuid.uuid4().hex}.part"
    try:
        with open(part, "xb") as out:
            _Budget(max_bytes).copy(stream, out)
        suffix = format_suffix(name)
        for n in itertools.count(1):
            candidate = folder / (name if n == 1 else f"{name[:-len(suffix)]}-{n}{suffix}")
            try:
                os.link(part, candidate)  # refused if the name is taken: never an overwrite
            except FileExistsError:
                continue
            return workspace.relative(candidate)
    finally:
        part.unlink(missing_ok=True)
    raise AssertionError("itertools.count never ends")  # pragma: no cover


def _picture_name(name: str | None) -> str:
    name = _plain_name(name)
    if Path(name).suffix.lower() not in _SIGNATURES:
        raise WorkspaceError(f"{name!r} is not a picture an image folder takes "
                             f"({', '.join(_SIGNATURES)}).")
    return name


def _write_picture(folder: Path, name: str, stream: IO[bytes], budget: _Budget) -> None:
    """One picture into ``folder`` (never over another of the same upload), its first
    bytes checked against its suffix."""
    name = _picture_name(name)
    target = folder / name
    if any(p.name.casefold() == name.casefold() for p in folder.iterdir()):
        raise WorkspaceError(f"{name!r} is in the upload twice.")
    with open(target, "xb") as out:
        budget.copy(stream, out)
    signature = _SIGNATURES[target.suffix.lower()]
    with open(target, "rb") as written:
        if written.read(len(signature)) != signature:
            raise WorkspaceError(f"{name!r} is not a {target.suffix.lower()[1:].upper()} "
                                 "picture (its content says otherwise).")


def _unzip(archive: BinaryIO, folder: Path, budget: _Budget) -> None:
    """The pictures of a zip into ``folder``: every member a plain picture name (no
    folders, so no path can lead out), unpacked within the budget."""
    if archive.seek(0, os.SEEK_END) > budget.max_bytes:  # the zip itself within the limit
        raise too_large(budget.max_bytes)
    archive.seek(0)
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if len(members) > _MAX_PICTURES:
                raise WorkspaceError(f"The zip holds more than {_MAX_PICTURES} files.")
            for member in members:
                if "/" in member.filename.rstrip("/") or member.is_dir() or \
                        "\\" in member.filename or member.filename.startswith("/"):
                    raise WorkspaceError(f"{member.filename!r} in the zip has folder parts; "
                                         "put the pictures at the top of the zip.")
                if member.file_size > budget.left:  # as declared; the copy counts anyway
                    raise too_large(budget.max_bytes)
                with zipped.open(member) as stream:
                    _write_picture(folder, member.filename, stream, budget)
    except zipfile.BadZipFile as exc:
        raise WorkspaceError(f"The zip does not read: {exc}.") from None


def save_image_upload(workspace: Workspace, files: Iterable[tuple[str | None, BinaryIO]],
                      max_bytes: int, folder_name: str | None = None) -> str:
    """Several PNG / JPEG files, or one ``.zip`` of them, as a new image folder in
    ``uploads/``, named ``folder_name`` (default: the zip's stem, or ``images``; the next
    free name if taken); returns its workspace path. Refused (WorkspaceError): a name that
    is not plain, a file that is not a picture by suffix and content, a zip member with
    folder parts; more than ``max_bytes`` in all (UploadTooLarge)."""
    files = list(files)
    if not files:
        raise WorkspaceError("The upload holds no file.")
    zipped = len(files) == 1 and (files[0][0] or "").lower().endswith(".zip")
    default = _plain_name(files[0][0])[:-4] if zipped else "images"
    name = _plain_name(folder_name if folder_name and folder_name.strip() else default)
    uploads = _uploads_folder(workspace)
    part = uploads / f".upload-{uuid.uuid4().hex}.part"
    part.mkdir()
    budget = _Budget(max_bytes)
    try:
        if zipped:
            _unzip(files[0][1], part, budget)
        else:
            for filename, stream in files:
                _write_picture(part, filename or "", stream, budget)
        if not any(part.iterdir()):
            raise WorkspaceError("The upload holds no picture.")
        for n in itertools.count(1):
            candidate = uploads / (name if n == 1 else f"{name}-{n}")
            if candidate.exists() or candidate.is_symlink():
                continue  # never into, nor over, another folder or file
            os.rename(part, candidate)
            return workspace.relative(candidate)
    finally:
        shutil.rmtree(part, ignore_errors=True)
    raise AssertionError("itertools.count never ends")  # pragma: no cover
