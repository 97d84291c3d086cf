"""Writing files so that a crash never leaves half of one behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; when the block succeeds, give it the usual
    permissions (0666 less the umask, as ``open`` would) and rename it onto ``target``.
    On any failure, or Ctrl-C, the temporary file is removed and ``target`` is untouched."""
    target = Path(target)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except OSError as exc:  # name the user's file, not the temporary one
        raise OSError(exc.errno, f"{exc.strerror or exc} while writing {target}") from None
    finally:
        tmp.unlink(missing_ok=True)
