"""Files uploaded from the browser into the workspace's ``uploads/`` folder.

An upload is a data file DRAMA reads (its suffix decides, as for the workspace's own
files), at most ``max_bytes`` long. Its name is the browser's, checked rather than
repaired: no folder parts, no hidden or control characters; an existing file is never
replaced: the upload takes the next free name (``name-2.csv``). The bytes go to a hidden
part-file first and are linked into place only when complete and within the limit, so a
refused or broken upload leaves nothing behind.
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import BinaryIO

from drama.datasets.readers import FORMATS, file_format, format_suffix

from .workspace import Workspace, WorkspaceError

__all__ = ["DEFAULT_MAX_UPLOAD_MB", "UPLOAD_FOLDER", "UploadTooLarge", "save_upload"]

#: Where uploads go, below the workspace.
UPLOAD_FOLDER = "uploads"
#: The default limit of one upload, in MiB (``drama serve --max-upload``).
DEFAULT_MAX_UPLOAD_MB = 256
_CHUNK = 1 << 20
_MAX_NAME = 200


class UploadTooLarge(ValueError):
    """An upload longer than the server's limit."""


def _checked_name(name: str | None) -> str:
    """The browser's file name when it is a plain, visible name of a data file."""
    if not name or not name.strip():
        raise WorkspaceError("The upload has no file name.")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise WorkspaceError(f"{name!r} is not a plain file name (no folders in uploads).")
    if name.startswith(".") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise WorkspaceError(f"{name!r} is hidden or holds control characters; rename it.")
    if len(name) > _MAX_NAME:
        raise WorkspaceError(f"The file name is longer than {_MAX_NAME} characters.")
    try:
        file_format(name)
    except ValueError:
        raise WorkspaceError(f"{name!r} is not a data file DRAMA reads "
                             f"({', '.join(sorted(FORMATS))}).") from None
    return name


def save_upload(workspace: Workspace, name: str | None, stream: BinaryIO,
                max_bytes: int) -> str:
    """Copy ``stream`` into ``uploads/`` under ``name`` (or the next free name); returns
    its workspace path. Refused: a name that is not a plain data-file name
    (WorkspaceError) and more than ``max_bytes`` bytes (UploadTooLarge)."""
    name = _checked_name(name)
    folder = workspace.root / UPLOAD_FOLDER
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise WorkspaceError(f"{UPLOAD_FOLDER}/ in the workspace is not a plain folder.")
    folder.mkdir(exist_ok=True)
    part = folder / f".upload-{uuid.uuid4().hex}.part"
    try:
        with open(part, "xb") as out:
            written = 0
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise UploadTooLarge(f"The upload is larger than the server's limit of "
                                         f"{max_bytes / 2**20:.3g} MiB (drama serve "
                                         "--max-upload).")
                out.write(chunk)
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
