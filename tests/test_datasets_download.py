"""Tests for drama.datasets.download; they never reach the internet.

Files are served from ``file://`` URLs and from an HTTP server on 127.0.0.1 started in a
thread inside the test.
"""

from __future__ import annotations

import functools
import hashlib
import re
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from drama.datasets import CATALOGUE, RemoteFile, download, load

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY")


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Private cache folder, no data folders, and no proxy between us and 127.0.0.1."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("DRAMA_DATA", raising=False)
    for variable in PROXY_VARIABLES + ("ALL_PROXY",):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, str]:
    """A small ADBench-like .npz file and its sha256."""
    folder = tmp_path / "remote"
    folder.mkdir()
    path = folder / "toy.npz"
    rng = np.random.default_rng(0)
    np.savez(path, X=rng.normal(size=(30, 4)), y=(np.arange(30) % 10 == 0).astype(int))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


class _Handler(SimpleHTTPRequestHandler):
    """Serves a folder; ``/broken.npz`` promises 10 000 bytes and sends 100."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API name
        if self.path.startswith("/broken"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "10000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def server(source: tuple[Path, str]) -> Iterator[str]:
    handler = functools.partial(_Handler, directory=str(source[0].parent))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_file_url_with_good_checksum(tmp_path: Path, source: tuple[Path, str]) -> None:
    path, digest = source
    dest = tmp_path / "dest"
    saved = download("toy", dest=dest, url=path.as_uri(), sha256=digest.upper())
    assert saved == dest / "toy.npz"
    assert _entries(dest) == ["toy.npz"]
    X, y = load("toy", data_dir=dest)
    assert X.shape == (30, 4) and y is not None and y.sum() == 3


def test_default_destination_is_the_cache(tmp_path: Path, source: tuple[Path, str]) -> None:
    path, digest = source
    saved = download("toy", url=path.as_uri(), sha256=digest)
    assert saved == tmp_path / "xdg-cache" / "drama" / "toy.npz"
    X, _ = load("toy")  # the cache is a data folder
    assert X.shape == (30, 4)


def test_bad_checksum_leaves_nothing(tmp_path: Path, source: tuple[Path, str]) -> None:
    path, _ = source
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="sha256"):
        download("toy", dest=dest, url=path.as_uri(), sha256="0" * 64)
    assert _entries(dest) == []


def test_bad_checksum_keeps_an_existing_good_file(tmp_path: Path, source: tuple[Path, str]) -> None:
    path, digest = source
    dest = tmp_path / "dest"
    download("toy", dest=dest, url=path.as_uri(), sha256=digest)
    with pytest.raises(ValueError, match="not saved"):
        download("toy", dest=dest, url=path.as_uri(), sha256="1" * 64)
    assert _entries(dest) == ["toy.npz"]
    assert hashlib.sha256((dest / "toy.npz").read_bytes()).hexdigest() == digest


def test_unknown_checksum_needs_consent(tmp_path: Path, source: tuple[Path, str]) -> None:
    path, _ = source
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="verify=False"):
        download("toy", dest=dest, url=path.as_uri())
    assert _entries(dest) == []
    saved = download("toy", dest=dest, url=path.as_uri(), verify=False)
    assert saved.read_bytes() == path.read_bytes()


def test_argument_errors(tmp_path: Path, source: tuple[Path, str]) -> None:
    path, _ = source
    with pytest.raises(ValueError, match="not in the download catalogue"):
        download("no_such_set", dest=tmp_path)
    with pytest.raises(ValueError, match="64 hexadecimal"):
        download("toy", dest=tmp_path, url=path.as_uri(), sha256="abc")
    with pytest.raises(ValueError, match="not a valid data set name"):
        download("../evil", dest=tmp_path, url=path.as_uri(), verify=False)
    with pytest.raises(ValueError, match="file format"):
        download("toy", dest=tmp_path, url="file:///tmp/toy.bin", verify=False)
    with pytest.raises(ValueError, match="without its file suffix \\('toy'"):
        download("toy.csv", dest=tmp_path, url=path.as_uri(), verify=False)


def test_existing_verified_file_is_reused(tmp_path: Path, source: tuple[Path, str]) -> None:
    path, digest = source
    dest = tmp_path / "dest"
    download("toy", dest=dest, url=path.as_uri(), sha256=digest)
    path.unlink()  # the source is gone: only the existing copy can satisfy the call
    assert download("toy", dest=dest, url=path.as_uri(), sha256=digest) == dest / "toy.npz"


def test_missing_file_url_is_an_os_error(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    url = (tmp_path / "absent.npz").as_uri()
    with pytest.raises(OSError, match="could not download"):
        download("toy", dest=dest, url=url, verify=False)
    assert _entries(dest) == []


def test_http_download(tmp_path: Path, source: tuple[Path, str], server: str) -> None:
    _, digest = source
    dest = tmp_path / "dest"
    saved = download("toy", dest=dest, url=f"{server}/toy.npz", sha256=digest)
    assert _entries(dest) == ["toy.npz"]
    assert load(saved)[0].shape == (30, 4)


def test_http_404_leaves_nothing(tmp_path: Path, server: str) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(OSError, match="404"):
        download("toy", dest=dest, url=f"{server}/missing.npz", sha256="0" * 64)
    assert _entries(dest) == []


def test_http_interrupted_leaves_nothing(tmp_path: Path, server: str) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(OSError, match="broke off"):
        download("toy", dest=dest, url=f"{server}/broken.npz", verify=False)
    assert _entries(dest) == []


def test_unreachable_server(tmp_path: Path) -> None:
    # Take a free port and release it: nothing listens there, the connection is refused.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dest = tmp_path / "dest"
    url = f"http://127.0.0.1:{port}/toy.npz"
    with pytest.raises(OSError, match="could not download"):
        download("toy", dest=dest, url=url, verify=False, timeout=5)
    assert _entries(dest) == []


def test_progress_goes_to_stderr(
    tmp_path: Path, source: tuple[Path, str], server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, digest = source
    download("toy", dest=tmp_path / "d", url=f"{server}/toy.npz", sha256=digest, progress=True)
    captured = capsys.readouterr()
    assert "downloading toy" in captured.err and "100%" in captured.err
    assert captured.out == ""


def test_catalogue_covers_the_paper_table() -> None:
    names = {
        "annthyroid", "arrhythmia", "breastw", "cardio", "cover", "glass", "http",
        "ionosphere", "letter", "lympho", "mammography", "mnist", "musk", "optdigits",
        "pendigits", "pima", "satellite", "satimage-2", "shuttle", "smtp", "thyroid",
        "vertebral", "vowels", "wbc", "wine",
    }  # fmt: skip
    assert set(CATALOGUE) == names
    for name, entry in CATALOGUE.items():
        assert isinstance(entry, RemoteFile)
        assert entry.url.startswith("https://")
        assert entry.sha256 is not None and re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
        assert entry.filename in (f"{name}.mat", f"{name}.npz")
        assert Path(entry.url.split("?")[0]).suffix == Path(entry.filename).suffix


def test_catalogue_name_with_mirror_url_uses_catalogue_checksum(
    tmp_path: Path, source: tuple[Path, str]
) -> None:
    # A mirror of "cardio" serving other bytes must be refused: the catalogue checksum holds.
    path, _ = source
    mirror = tmp_path / "mirror" / "cardio.mat"
    mirror.parent.mkdir()
    mirror.write_bytes(path.read_bytes())
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match=CATALOGUE["cardio"].sha256):
        download("cardio", dest=dest, url=mirror.as_uri())
    assert _entries(dest) == []
