"""The workspace folder the workbench serves, and the one rule for reaching into it.

Every path that comes from a request is relative to the workspace and must stay inside it:
no absolute paths, no ``..``, no symbolic link that leads out (checked on the resolved
path), no NUL or backslash. The server decodes a URL once; a name still percent-encoded
after that is taken literally, as a file name inside the workspace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from drama.datasets.readers import FORMATS, file_format

from .context import CONTEXT_SUFFIX
from .inputs import PICTURE_SUFFIXES, is_image_folder

__all__ = ["STATE_FOLDER", "Workspace", "WorkspaceError"]

#: Hidden folder of the workspace that holds the label stores; never listed as data.
STATE_FOLDER = ".drama"
#: The format the file list gives a folder of images.
IMAGE_FOLDER = "image folder"


class WorkspaceError(ValueError):
    """A path from a request that is not a readable data file inside the workspace."""


def _data_format(path: Path) -> str | None:
    """The format DRAMA reads ``path`` as (compound suffixes such as ``.csv.gz`` included,
    where the reader knows them), or None."""
    try:
        return file_format(path)
    except ValueError:
        return None


@dataclass(frozen=True)
class DataFile:
    """One data file of the workspace, as the file list shows it."""

    path: str  # relative, with forward slashes
    size: int
    format: str
    has_labels: bool


class Workspace:
    """A folder of data files; the stores live in its ``.drama`` subfolder (a plain
    folder: a link there, which would put the labels and fits elsewhere, is refused)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise WorkspaceError(f"The workspace {str(path)!r} is not a folder.")
        self.root = path.resolve()
        self.plain_folder(STATE_FOLDER)  # a link there is refused at the start already

    def plain_folder(self, name: str) -> Path:
        """The workspace's own folder ``name`` (it may not exist yet), refused when it is a
        link or not a folder: what the workbench writes there stays in the workspace."""
        folder = self.root / name
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise WorkspaceError(f"{name}/ in the workspace is not a plain folder (a link or a "
                                 "file); the workbench writes there only into a real folder.")
        return folder

    def resolve(self, relative: str) -> Path:
        """The existing data file (or folder of images) ``relative`` names inside the
        workspace, or a WorkspaceError."""
        if not isinstance(relative, str) or not relative.strip():
            raise WorkspaceError("No file named; give a path relative to the workspace.")
        if "\x00" in relative or "\\" in relative:
            raise WorkspaceError(f"{relative!r} is not a valid workspace path.")
        pure = PurePosixPath(relative)
        if pure.is_absolute() or ".." in pure.parts:
            raise WorkspaceError(f"{relative!r} leaves the workspace; give a path inside it.")
        if pure.parts and pure.parts[0] == STATE_FOLDER:
            raise WorkspaceError(f"{relative!r} is the workbench's own state, not data.")
        target = (self.root / pure).resolve()
        if not target.is_relative_to(self.root):
            raise WorkspaceError(f"{relative!r} leads out of the workspace (a link?).")
        if is_image_folder(target) and target != self.root:
            return target
        if not target.is_file():
            raise WorkspaceError(f"There is no file {relative!r} in the workspace (nor a "
                                 f"folder of {', '.join(PICTURE_SUFFIXES)} images).")
        if _data_format(target) is None:
            raise WorkspaceError(f"{relative!r} is not a data file DRAMA reads "
                                 f"({', '.join(sorted(FORMATS))}).")
        return target

    def relative(self, path: Path) -> str:
        """The request name of a resolved file of the workspace."""
        return path.relative_to(self.root).as_posix()

    def shown(self, message: str) -> str:
        """A message for the browser, its files of the workspace named relative to it (as
        requests name them), never by the server's absolute path."""
        return message.replace(f"{self.root}{os.sep}", "")

    def store_path(self, data: Path) -> Path:
        """The label store of a data file: ``.drama/<path with / as __>.drama.db``, the file
        ``drama active DATA --store`` takes to share the labels with the terminal."""
        return self.plain_folder(STATE_FOLDER) / (self.relative(data).replace("/", "__")
                                                  + ".drama.db")

    def data_files(self) -> list[DataFile]:
        """Every file DRAMA reads and every folder of images below the workspace, hidden
        folders and links that leave the workspace left out; sorted by path."""
        found = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            here = Path(folder)
            if here != self.root and is_image_folder(here):
                size = sum(p.stat().st_size for p in here.iterdir() if p.is_file())
                found.append(DataFile(self.relative(here), size, IMAGE_FOLDER,
                                      self.store_path(here).exists()))
            for name in files:
                path = Path(folder) / name
                fmt = _data_format(path)
                if name.startswith(".") or fmt is None or name.endswith(CONTEXT_SUFFIX):
                    continue  # a context file belongs to its images (.context)
                target = path.resolve()
                if not target.is_relative_to(self.root) or not target.is_file():
                    continue
                rel = path.relative_to(self.root).as_posix()
                found.append(DataFile(rel, target.stat().st_size, fmt,
                                      self.store_path(path).exists()))
        return sorted(found, key=lambda f: f.path)
