"""A structural check of MATLAB v5 files, run before scipy parses them.

scipy's compiled v5 reader trusts the tags and the sparse structure it finds: a damaged or
crafted sparse variable (a row index past the end, a column pointer out of order, a tag of
an unknown type) ends the interpreter with a segmentation fault inside ``loadmat``, before
any check of ours could see the result. So the file's elements are walked here first (tags,
sizes, and every sparse matrix's index arrays, also inside cells and structs) and anything
inconsistent is refused with a reason. The layout follows MathWorks' published "MAT-File
Format" (version 5): a 128-byte header, then tagged data elements, 8-byte aligned.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from .sparse_check import check_sparse

__all__ = ["check_v5"]

_HEADER = 128
_MATRIX, _COMPRESSED = 14, 15
_SPARSE_CLASS = 5
# numeric element types -> numpy dtype (byte order added per file)
_NUMERIC = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8",
            12: "i8", 13: "u8"}
_KNOWN_TYPES = set(_NUMERIC) | {_MATRIX, _COMPRESSED, 16, 17, 18}  # 16-18: UTF-8/16/32


def check_v5(content: bytes, refuse: Callable[[str], Exception]) -> None:
    """Raise ``refuse(reason)`` unless every element of the v5 file ``content`` is sound."""
    if len(content) < _HEADER:
        raise refuse("the file is shorter than a MATLAB header")
    order = {b"IM": "<", b"MI": ">"}.get(content[126:128])
    if order is None:
        raise refuse("its header has no byte-order mark (IM or MI)")
    position = _HEADER
    while position < len(content):
        kind, body, position = _element(content, position, order, refuse)
        if kind == _COMPRESSED:
            try:
                body = zlib.decompress(body)
            except zlib.error as exc:
                raise refuse(f"a compressed variable cannot be unpacked ({exc})") from None
            kind, body, _ = _element(body, 0, order, refuse)
        if kind == _MATRIX:
            _check_matrix(body, order, refuse)


def _element(data: bytes, position: int, order: str, refuse: Callable[[str], Exception]
             ) -> tuple[int, bytes, int]:
    """The type, the bytes and the next position of the element starting at ``position``."""
    if position + 8 > len(data):
        if not data[position:].strip(b"\x00"):  # trailing padding
            return 0, b"", len(data)
        raise refuse(f"an element tag at byte {position} is cut short")
    first, second = np.frombuffer(data, f"{order}u4", 2, position).tolist()
    small = first >> 16
    if small:  # "small data element": size and type packed in 4 bytes, data in the next 4
        kind, size, start, end = first & 0xFFFF, small, position + 4, position + 8
        if size > 4:
            raise refuse(f"a small element at byte {position} declares {size} bytes (at most 4)")
    else:
        kind, size, start = first, second, position + 8
        end = start + size + (0 if kind == _COMPRESSED else (-size) % 8)  # not padded
    if kind not in _KNOWN_TYPES:
        raise refuse(f"an element at byte {position} has the unknown type {kind}")
    if start + size > len(data):
        raise refuse(f"an element at byte {position} declares {size} bytes, but only "
                     f"{len(data) - start} remain")
    return kind, data[start:start + size], min(end, len(data))


def _check_matrix(body: bytes, order: str, refuse: Callable[[str], Exception]) -> None:
    """Walk one array's sub-elements; check a sparse array's indices, recurse into cells."""
    if not body:
        return  # an empty matrix element: how MATLAB stores [] inside a cell
    parts: list[tuple[int, bytes]] = []
    position = 0
    while position < len(body):
        kind, data, position = _element(body, position, order, refuse)
        if kind == _MATRIX:
            _check_matrix(data, order, refuse)  # a cell's or a struct's member
        elif kind:
            parts.append((kind, data))
    if len(parts) < 2 or parts[0][0] not in (5, 6) or len(parts[0][1]) < 8:
        raise refuse("an array lacks its flags or dimensions")
    flags = int(np.frombuffer(parts[0][1], f"{order}u4", 1)[0])
    if flags & 0xFF != _SPARSE_CLASS:
        return
    dims = _numbers(parts[1], order, refuse)
    numbers = [_numbers(p, order, refuse) for p in parts[3:6]]  # after flags, dims, name
    if len(dims) != 2 or len(numbers) < 3:
        raise refuse("a sparse array lacks its dimensions, row indices, column pointers or "
                     "values")
    name = parts[2][1].decode("latin-1") if parts[2][0] == 1 else ""
    where = f"sparse variable {name}" if name else "a sparse array inside a cell or struct"
    rows, col_starts, values = numbers
    nnz = int(col_starts[-1]) if len(col_starts) else 0
    if not 0 <= nnz <= min(len(rows), len(values)):
        raise refuse(f"{where} has column pointers that end at {nnz}, past its "
                     f"{min(len(rows), len(values))} stored values")
    check_sparse(int(dims[0]), int(dims[1]), values[:nnz], rows[:nnz], col_starts, where,
                 refuse)


def _numbers(part: tuple[int, bytes], order: str, refuse: Callable[[str], Exception]
             ) -> np.ndarray:
    kind, data = part
    code = _NUMERIC.get(kind)
    if code is None or len(data) % np.dtype(code).itemsize:
        raise refuse(f"a numeric element has the type {kind} or a size that does not fit it")
    return np.frombuffer(data, f"{order}{code}")
