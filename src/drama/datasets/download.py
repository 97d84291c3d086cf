"""Download the public ODDS/ADBench benchmark files, checked against a sha256.

A benchmark is only comparable if everybody scores the same bytes, so every catalogued
file carries the sha256 of the copy this project was tested with, and a download that
does not match is refused. Files are written to a temporary name in the destination
folder and renamed into place only after the check, so a failed, interrupted or
corrupted download never leaves a half-written file where ``load`` would find it.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from drama._io import atomic_path

from .folders import cache_dir
from .readers import FORMATS

__all__ = ["CATALOGUE", "RemoteFile", "download"]


@dataclass(frozen=True)
class RemoteFile:
    """Where one public data file lives and what its bytes must hash to.

    Attributes
    ----------
    url
        Download address (``https://``, ``http://`` or ``file://``).
    sha256
        Hex digest of the expected file, or None where nobody has checked it; such a
        file is only accepted with an explicit ``sha256=`` or ``verify=False``.
    filename
        Name under which it is stored, ``<name>.<suffix>``, so ``load(name)`` finds it.
    """

    url: str
    sha256: str | None
    filename: str


# ODDS (Rayana, 2016): the "File: <name>.mat" links of odds.cs.stonybrook.edu point to
# these Dropbox shares (the same addresses appear in several public projects, e.g.
# Deep-SAD-PyTorch and CLAM); ``dl=1`` asks Dropbox for the raw file. They were NOT
# fetched from the machine this catalogue was written on (it has no internet access):
# the sha256 values are those of the ODDS originals kept in ``shared/data/odds``. If
# Dropbox serves different bytes, ``download`` refuses the file rather than trusting it.
_ODDS = "https://www.dropbox.com/s/{key}/{name}.mat?dl=1"
# ADBench (Han et al., NeurIPS 2022), "Classical" collection on GitHub; for these five
# data sets our reference copies are ADBench's own files (checksums of those copies).
_ADBENCH = (
    "https://raw.githubusercontent.com/Minqi824/ADBench/main/adbench/datasets/Classical/{file}"
)


def _odds(name: str, key: str, sha256: str) -> RemoteFile:
    return RemoteFile(_ODDS.format(key=key, name=name), sha256, f"{name}.mat")


def _adbench(name: str, file: str, sha256: str) -> RemoteFile:
    return RemoteFile(_ADBENCH.format(file=file), sha256, f"{name}.npz")


#: The 25 data sets of the DRAMA paper's table (all but ``speech``), by name.
CATALOGUE: dict[str, RemoteFile] = {
    "annthyroid": _adbench(
        "annthyroid",
        "2_annthyroid.npz",
        "e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b",
    ),
    "arrhythmia": _odds(
        "arrhythmia",
        "lmlwuspn1sey48r",
        "e4d47e499591ae31e5d7f0cd983367092353eac240f48e14c9b36457edb3460d",
    ),
    "breastw": _odds(
        "breastw",
        "g3hlnucj71kfvq4",
        "a2e3f7c7f61ddde87c4373f0c0539de996227b9659c70b3c227948ebf0c6062b",
    ),
    "cardio": _odds(
        "cardio",
        "galg3ihvxklf0qi",
        "5e568b6a73711012c481fa6cc984ab9c68e9a4fa44d6aeb3b43efa381c3f695b",
    ),
    "cover": _adbench(
        "cover",
        "10_cover.npz",
        "945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df",
    ),
    "glass": _odds(
        "glass",
        "iq3hjxw77gpbl7u",
        "2c506e6e1e2ca1e82a905d10a90773151ff812c4bd969c71a12db5b2bb6e7921",
    ),
    "http": _adbench(
        "http",
        "16_http.npz",
        "9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c",
    ),
    "ionosphere": _odds(
        "ionosphere",
        "lpn4z73fico4uup",
        "8ac5dfa6f47db4acdfe10615489b7f7dd015d79d5b381ce641e72baca3cfefb0",
    ),
    "letter": _adbench(
        "letter",
        "20_letter.npz",
        "f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039",
    ),
    "lympho": _odds(
        "lympho",
        "ag469ssk0lmctco",
        "031b907ecb50347720b08b38f8139d05635adeca9335a064d89d5569c27a5834",
    ),
    "mammography": _odds(
        "mammography",
        "tq2v4hhwyv17hlk",
        "271ebb568314a856666d3504b4882e21b0ea6e1ba9e648ad256d572a36df597e",
    ),
    "mnist": _odds(
        "mnist",
        "n3wurjt8v9qi6nc",
        "9479e221f236684c09f3e11c7ad124725d34ecd301b9450425e8b113368413a6",
    ),
    "musk": _odds(
        "musk",
        "we6aqhb0m38i60t",
        "50bbf414caceb66cfe6f6b1eb7c1ff7c6eb1e6d87173f7bb597ba55cd3dc5493",
    ),
    "optdigits": _odds(
        "optdigits",
        "w52ndgz5k75s514",
        "30c664cd6f3740a173277a27cd1028d471b06f0835a9902c9712749cec58c1c4",
    ),
    "pendigits": _odds(
        "pendigits",
        "1x8rzb4a0lia6t1",
        "7bc32ac83b3d583443acea8b1342a54aaa59eaedb9996af405322f473f3c22bc",
    ),
    "pima": _odds(
        "pima",
        "mvlwu7p0nyk2a2r",
        "b6a5be8d548b9293d6958beceb1c77055591714d25d40d957eba87808456468f",
    ),
    "satellite": _odds(
        "satellite",
        "dpzxp8jyr9h93k5",
        "6feac3112b9c14e1c3e60afc437f2f3d29dc1000119c9f950c628078778d6aa0",
    ),
    "satimage-2": _odds(
        "satimage-2",
        "hckgvu9m6fs441p",
        "95c37a07cea2cb201f6900d14f521510e10b6b2f0074c06ac46d3157440ec67b",
    ),
    "shuttle": _odds(
        "shuttle",
        "mk8ozgisimfn3dw",
        "b6e396c92354d5dcf5036901e36dc58e2913f2d1a5e138c35a2bedf9c69db899",
    ),
    "smtp": _adbench(
        "smtp",
        "34_smtp.npz",
        "d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd",
    ),
    "thyroid": _odds(
        "thyroid",
        "bih0e15a0fukftb",
        "49155d7861b977e90808faf68343ff67a67f63090c2744d514dbb67ac68e7e33",
    ),
    "vertebral": _odds(
        "vertebral",
        "5kuqb387sgvwmrb",
        "84b50b055f118f54b5c976650ccd284ab7c1adee822f8b3eb517c7e2c890d15e",
    ),
    "vowels": _odds(
        "vowels",
        "pa26odoq6atq9vx",
        "51d5397bad1ceeda22b7cd44fd58125c5d603c9c2edb53aa59933330e259ac7b",
    ),
    "wbc": _odds(
        "wbc",
        "ebz9v9kdnvykzcb",
        "afe6b26953cc196b9a480318c903e0edef22529c2f61bd02082438c6e70630a7",
    ),
    "wine": _odds(
        "wine",
        "uvjaudt2uto7zal",
        "d1b7cc643379e14397ee25bc1125ba08e4c929f2ec44d8782b1340d7045d4cf7",
    ),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 16
_USER_AGENT = "drama-anomaly (python urllib)"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _target_name(name: str, url: str, entry: RemoteFile | None) -> str:
    suffix = Path(urllib.parse.urlparse(url).path).suffix.lower()
    if suffix in FORMATS:
        return f"{name}{suffix}"
    if entry is not None:
        return entry.filename
    raise ValueError(
        f"cannot tell the file format from the URL {url!r}; its path should end in one of "
        f"{', '.join(sorted(FORMATS))}."
    )


def download(
    name: str,
    *,
    dest: str | os.PathLike[str] | None = None,
    url: str | None = None,
    sha256: str | None = None,
    progress: bool = False,
    verify: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download a data set into ``dest`` and check its sha256.

    Parameters
    ----------
    name
        A ``CATALOGUE`` name (e.g. ``"cardio"``), or any simple name when ``url`` is
        given; the file is saved as ``<name>.<suffix>`` so ``load(name)`` finds it.
    dest
        Folder to write to; default: the user cache folder (searched by ``load``).
    url
        Address to fetch instead of the catalogue's (a mirror, or a ``file://`` URL).
    sha256
        Expected hex digest; overrides the catalogue's.
    progress
        Print a progress line on stderr.
    verify
        With ``False``, skip the catalogue's checksum check, e.g. for a file nobody has
        a checksum for (not recommended); an explicit ``sha256`` is always checked.
    timeout
        Seconds to wait for the server before giving up.

    Returns
    -------
    Path
        The verified file. An existing file with the right checksum is reused.

    Raises
    ------
    ValueError
        Unknown name without ``url``; no checksum known while ``verify`` is on; the
        downloaded bytes do not match the checksum (nothing is left behind).
    NotADirectoryError
        ``dest`` names a file.
    OSError
        The server cannot be reached, answers with an error, or the transfer breaks off.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid data set name; use letters, digits, '-', '_' or '.'."
        )
    stem, suffix = os.path.splitext(name)
    if suffix.lower() in FORMATS:
        raise ValueError(
            f"Give the data set's name without its file suffix ({stem!r}, not {name!r}): the "
            "suffix comes from the URL, and load(name) finds the file by its name."
        )
    entry = CATALOGUE.get(name)
    if url is not None:
        source_url, filename = url, _target_name(name, url, entry)
    elif entry is not None:
        source_url, filename = entry.url, entry.filename
    else:
        raise ValueError(
            f"{name!r} is not in the download catalogue; known names: "
            f"{', '.join(sorted(CATALOGUE))}. Pass url=... (and sha256=...) to fetch "
            "another file."
        )
    if sha256 is not None:
        expected: str | None = sha256.strip().lower()
        if not _SHA256.match(expected or ""):
            raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}.")
    elif not verify:
        expected = None
    elif entry is not None and entry.sha256 is not None:
        expected = entry.sha256
    else:
        raise ValueError(
            f"no sha256 is known for {name!r}, so its content cannot be checked. Pass "
            "sha256='<64 hex digits>' if you know it, or verify=False if you trust the source."
        )

    folder = Path(dest).expanduser() if dest is not None else cache_dir()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            f"dest={os.fspath(folder)!r} is a file; download writes into a folder (the file "
            f"is saved there as {filename}). Pass a folder, or leave dest out for the cache."
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    if expected is not None and target.is_file() and _sha256_of(target) == expected:
        return target

    with atomic_path(target, ".part") as temp:
        with open(temp, "wb") as out:
            got = _fetch(source_url, out, name, progress, timeout)
        if expected is not None and got != expected:
            raise ValueError(
                f"the file downloaded from {source_url} has sha256 {got}, but {expected} was "
                "expected, so it was not saved. The download may be corrupted or the remote "
                "file changed: retry, or pass the right sha256= (or verify=False) if you "
                "trust the source."
            )
    return target


def _fetch(url: str, out: BinaryIO, name: str, progress: bool, timeout: float) -> str:
    """Stream ``url`` into the open binary file ``out``; return the sha256 hex digest."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    # A fresh opener per call honours the current proxy environment variables.
    opener = urllib.request.build_opener()
    digest = hashlib.sha256()
    received = 0
    try:
        with opener.open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            expected_size = int(length) if length and length.isdigit() else None
            while True:
                block = response.read(_CHUNK)
                if not block:
                    break
                out.write(block)
                digest.update(block)
                received += len(block)
                if progress:
                    _report(name, received, expected_size)
    except urllib.error.HTTPError as exc:
        raise OSError(
            f"could not download {name!r} from {url}: HTTP {exc.code} {exc.reason}"
        ) from exc
    except urllib.error.URLError as exc:
        raise OSError(f"could not download {name!r} from {url}: {exc.reason}") from exc
    except OSError as exc:  # reset connection, timeout, http.client.IncompleteRead
        raise OSError(f"the download of {name!r} from {url} broke off: {exc}") from exc
    except Exception as exc:  # http.client errors that are not OSError
        raise OSError(f"the download of {name!r} from {url} failed: {exc!r}") from exc
    finally:
        if progress:
            sys.stderr.write("\n")
    if expected_size is not None and received != expected_size:
        raise OSError(
            f"the download of {name!r} from {url} broke off after {received} of "
            f"{expected_size} bytes; nothing was saved. Retry."
        )
    return digest.hexdigest()


def _report(name: str, received: int, total: int | None) -> None:
    if total:
        sys.stderr.write(
            f"\rdownloading {name}: {100 * received // total:3d}% "
            f"({received / 1e6:.1f} of {total / 1e6:.1f} MB)"
        )
    else:
        sys.stderr.write(f"\rdownloading {name}: {received / 1e6:.1f} MB")
    sys.stderr.flush()
