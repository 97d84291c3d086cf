"""Labels of an active-learning session in one SQLite file.

Why SQLite: a label is a scientist's time, so each one is committed in its own
transaction the moment it is given; a crash or a ``kill -9`` during a refit cannot lose
it. The file also records *which* data (a content hash of X and the ids) and *which*
configuration the labels belong to, so labels are never silently applied to other data,
and a lock row with the owner's PID keeps two processes from labelling the same store.

Labels belong to object ids: a new version of the catalogue (changed values, objects added
or gone) opens the store, which then follows the new version; the labels of ids still
present apply, and those of vanished ids stay in the file, set aside (:attr:`ActiveStore.
adoption` counts both). Data that shares no id with the store's is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drama.exceptions import (
    StoreDamagedError,
    StoreError,
    StoreLockedError,
    StoreMismatchError,
)

__all__ = [
    "LABELS",
    "ActiveStore",
    "describe_adoption",
    "export_labels",
    "latest_by_id",
    "StoreDamagedError",
    "StoreError",
    "StoreLockedError",
    "StoreMismatchError",
    "data_fingerprint",
]

FORMAT = "drama-active-store"
VERSION = "1"
#: The values a label may take.
LABELS = ("interesting", "boring")


#: The first 16 bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"
#: The tables every DRAMA store holds.
_TABLES = ("drama_meta", "labels", "drama_lock")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is open. SQLite itself rolls back after some errors (a full disk), and
    a second ROLLBACK would then fail with "no transaction is active", hiding the cause."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def data_fingerprint(X: np.ndarray, ids: Sequence[str]) -> str:
    """sha256 of the data's shape, values (float64, C order) and ids, in hex.

    Hashing the content, not the file name, is what lets a renamed file reopen its
    store and a changed file be refused.
    """
    arr = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    digest = hashlib.sha256()
    digest.update(repr(arr.shape).encode())
    digest.update(arr.tobytes())
    digest.update(json.dumps([str(i) for i in ids]).encode("utf-8"))  # unambiguous
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    """True when a process with this PID exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _release(path: str, token: str) -> None:
    """Delete our lock row; called on close, at garbage collection and at exit."""
    try:
        conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
        try:
            conn.execute("DELETE FROM drama_lock WHERE token = ?", (token,))
        finally:
            conn.close()
    except sqlite3.Error:  # the file is gone or unreadable: nothing left to release
        pass


class ActiveStore:
    """One SQLite file holding the labels of one data set and configuration.

    Parameters
    ----------
    path : str or PathLike
        The store file; created when it does not exist.
    fingerprint : str
        :func:`~drama.active.store.data_fingerprint` of the data the labels refer to.
    ids : sequence of str
        The object ids, to validate labels against.
    config : dict
        The session configuration (JSON-serialisable); a reopened store must match it.
    steal_lock : bool, default False
        Take the lock even if another live process holds it (only when you know that
        process is gone, e.g. on another machine).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fingerprint: str,
        ids: Sequence[str],
        config: dict[str, Any],
        steal_lock: bool = False,
    ) -> None:
        self.path = str(Path(path))
        self._ids = set(ids)
        self._id_list = [str(i) for i in ids]
        self._n = len(ids)
        self._retired: set[str] = set()
        #: What opening a store made on another version of the data did: ``matched``
        #: (labelled ids still present), ``new`` (objects the store had not seen; None for a
        #: store that did not record its ids) and ``vanished`` (labelled ids no longer
        #: present, whose labels are kept but set aside). None when the data are the same.
        self.adoption: dict[str, int | None] | None = None
        self._token = uuid.uuid4().hex
        self._conn: sqlite3.Connection | None = None
        existed = Path(self.path).exists() and Path(self.path).stat().st_size > 0
        try:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the label store {self.path!r}: {exc}.") from None
        try:
            with self._sqlite_errors("open it for labelling"):
                adopt = self._check_or_create(conn, existed, fingerprint, config)
                self._acquire(conn, steal_lock)
                if adopt:
                    self._adopt(conn, fingerprint)
                self._retired = set(json.loads(
                    self._meta(conn).get("retired_ids", "[]")))
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._finalizer = weakref.finalize(self, _release, self.path, self._token)

    # ------------------------------------------------------------------ errors
    def _damaged(self, why: str) -> StoreDamagedError:
        return StoreDamagedError(
            f"The label store {self.path!r} is damaged ({why}); it may have been cut short "
            "by a full disk or an interrupted copy. Keep the file: restore it from a backup, "
            f"or recover the labels that remain with `sqlite3 {self.path} .recover | sqlite3 "
            "recovered.db` and read them from its table `labels`; then start a new store."
        )

    @contextlib.contextmanager
    def _sqlite_errors(self, action: str) -> Iterator[None]:
        """Turn SQLite's errors into a StoreError that says what failed and why."""
        try:
            yield
        except sqlite3.Error as exc:
            reason = str(exc) or type(exc).__name__
            if "readonly" in reason or "read-only" in reason:
                raise StoreError(
                    f"The label store {self.path!r} is read-only ({reason}), so DRAMA could "
                    f"not {action}. Make it writable, or copy it somewhere writable and pass "
                    "the copy."
                ) from None
            if "locked" in reason or "busy" in reason:
                raise StoreLockedError(
                    f"The label store {self.path!r} is busy (another process is writing to "
                    f"it), so DRAMA could not {action}; try again, or close the other session."
                ) from None
            if isinstance(exc, sqlite3.DatabaseError) and (
                "malformed" in reason or "not a database" in reason or "no such" in reason
            ):
                raise self._damaged(reason) from None
            hint = " Free some disk space, then rerun the same command." if "full" in reason else ""
            raise StoreError(
                f"The label store {self.path!r} could not {action}: {reason}.{hint}"
            ) from None

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _meta(conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM drama_meta").fetchall())

    def _check_or_create(
        self, conn: sqlite3.Connection, existed: bool, fingerprint: str, config: dict[str, Any]
    ) -> bool:
        """Create the tables in a new file, or check that an old file is ours and matches.
        True: the store was made on another version of the data, to adopt once locked."""
        not_ours = (
            f"{self.path!r} is not a DRAMA label store. Pass a new file name (e.g. "
            "survey.drama.db) or the store that an earlier `drama active` session created."
        )
        config_json = json.dumps(config, sort_keys=True)
        with open(self.path, "rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
        is_sqlite = bool(head) and _SQLITE_HEADER.startswith(head)  # even cut inside the header
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            if existed and is_sqlite:  # ours or not, a damaged database is not to be replaced
                raise self._damaged(str(exc)) from None
            raise StoreError(not_ours) from None
        if existed:
            if "drama_meta" not in tables:
                raise StoreError(not_ours)
            meta = self._meta(conn)
            if meta.get("format") != FORMAT:
                raise StoreError(not_ours)
            missing = [t for t in _TABLES if t not in tables]
            if missing:
                raise self._damaged(f"its table(s) {', '.join(missing)} are missing")
            if meta.get("version") != VERSION:
                raise StoreError(
                    f"{self.path!r} is a DRAMA label store of version {meta.get('version')}; "
                    f"this DRAMA reads version {VERSION}."
                )
            if meta.get("config") != config_json:
                made_by = _ranking_version(meta.get("config"))
                if made_by != config.get("ranking_version"):
                    raise StoreMismatchError(
                        f"The label store {self.path!r} was made by an earlier DRAMA, which "
                        f"ranked differently (ranking version {made_by}; this DRAMA ranks with "
                        f"version {config.get('ranking_version')}), so no options reproduce "
                        "its ranking. Its labels are still in the file (table `labels`); start "
                        "a new store, or use the DRAMA version that made it."
                    )
                raise StoreMismatchError(
                    f"The label store {self.path!r} was made with other options: "
                    f"{_config_difference(meta.get('config'), config)}. Reopen it with the "
                    "same options, or start a new store (its configuration: "
                    f"{meta.get('config')})."
                )
            if meta.get("data_hash") == fingerprint:
                return False
            if not self._shares_ids(conn, meta):
                raise StoreMismatchError(
                    f"The label store {self.path!r} belongs to other data ({meta.get('n_objects')} "
                    f"objects, content hash {meta.get('data_hash', '?')[:12]}, none of whose "
                    f"ids is among the {self._n} objects given). Open it with the data file its "
                    "labels were made on (or a new version of it with the same ids), or start "
                    "a new store."
                )
            return True
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE drama_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(
                "CREATE TABLE labels (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "object_id TEXT NOT NULL, label TEXT NOT NULL CHECK (label IN "
                f"({', '.join(repr(v) for v in LABELS)})), cls TEXT, created REAL NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE drama_lock (slot INTEGER PRIMARY KEY CHECK (slot = 1), "
                "pid INTEGER NOT NULL, host TEXT NOT NULL, token TEXT NOT NULL, since REAL)"
            )
            conn.executemany(
                "INSERT INTO drama_meta VALUES (?, ?)",
                [
                    ("format", FORMAT),
                    ("version", VERSION),
                    ("data_hash", fingerprint),
                    ("n_objects", str(self._n)),
                    ("config", config_json),
                    ("ids", json.dumps(self._id_list)),
                    ("created", str(time.time())),
                ],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:  # e.g. another process created the same store first
            _rollback(conn)
            raise StoreError(
                f"Could not create the label store {self.path!r} ({exc}); another process may "
                "be creating it at the same time. Try again."
            ) from None
        except BaseException:
            _rollback(conn)
            raise
        return False

    def _shares_ids(self, conn: sqlite3.Connection, meta: dict[str, str]) -> bool:
        """Whether the given ids overlap the store's (its recorded ids, or, in a store that
        did not record them, its labelled ids): a new version of the same catalogue."""
        before = set(json.loads(meta["ids"])) if "ids" in meta else _labelled_ids(conn)
        return not before.isdisjoint(self._ids)

    def _adopt(self, conn: sqlite3.Connection, fingerprint: str) -> None:
        """Make the locked store follow the given version of the data, and count what
        that did to its labels (``adoption``)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            meta = self._meta(conn)
            labelled = _labelled_ids(conn)
            vanished = sorted(labelled - self._ids)
            self.adoption = {
                "matched": len(labelled & self._ids),
                "new": len(self._ids - set(json.loads(meta["ids"]))) if "ids" in meta else None,
                "vanished": len(vanished),
            }
            conn.executemany("INSERT OR REPLACE INTO drama_meta VALUES (?, ?)", [
                ("data_hash", fingerprint), ("n_objects", str(self._n)),
                ("ids", json.dumps(self._id_list)), ("retired_ids", json.dumps(vanished)),
                ("adopted", str(time.time())),
            ])
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _acquire(self, conn: sqlite3.Connection, steal: bool) -> None:
        """Take the lock row, or refuse when a live process (or session) holds it."""
        host = socket.gethostname()
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise  # read-only, damaged: told apart by _sqlite_errors
            raise StoreLockedError(
                f"The label store {self.path!r} is busy (another process is writing to it); "
                "try again, or close the other session."
            ) from None
        try:
            row = conn.execute("SELECT pid, host, since FROM drama_lock").fetchone()
            if row is not None and not steal:
                pid, owner_host, since = row
                held = _pid_alive(pid) if owner_host == host else True
                if held:
                    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since or 0))
                    raise StoreLockedError(
                        f"The label store {self.path!r} is in use by process {pid} on "
                        f"{owner_host} (since {when}). Close that session first; if that process "
                        "is gone, reopen with steal_lock=True (--steal-lock)."
                    )
            conn.execute(
                "INSERT OR REPLACE INTO drama_lock VALUES (1, ?, ?, ?, ?)",
                (os.getpid(), host, self._token, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    # ------------------------------------------------------------------ use
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"The label store {self.path!r} is closed.")
        return self._conn

    def add(self, object_id: str, label: str, cls: str | None = None) -> int:
        """Validate and commit one label in its own transaction; returns its sequence number.

        Nothing is written when the id or the label is invalid.
        """
        if label not in LABELS:
            raise StoreError(
                f"Unknown label {label!r}; use one of {', '.join(LABELS)} "
                "(skip an object by not labelling it)."
            )
        if object_id not in self._ids:
            raise StoreError(
                f"Unknown object id {object_id!r}: it is not among the {self._n} objects of "
                "this session."
            )
        if cls is not None and (not isinstance(cls, str) or not cls.strip()):
            raise StoreError(f"cls must be a non-empty string or None; got {cls!r}.")
        conn = self.conn
        with self._sqlite_errors(f"save the label {label!r} of id {object_id!r} (it was not "
                                 "saved)"):
            return self._insert(conn, object_id, label, cls)

    def _check_holder(self, conn: sqlite3.Connection) -> None:
        """Inside a write transaction: this session still holds the lock."""
        holder = conn.execute("SELECT token FROM drama_lock").fetchone()
        if holder is None or holder[0] != self._token:
            raise StoreLockedError(
                f"The label store {self.path!r} was taken over by another session "
                "(steal_lock); this session can no longer label. Reopen it."
            )

    def _insert(self, conn: sqlite3.Connection, object_id: str, label: str,
                cls: str | None) -> int:
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._check_holder(conn)
            cur = conn.execute(
                "INSERT INTO labels (object_id, label, cls, created) VALUES (?, ?, ?, ?)",
                (object_id, label, cls.strip() if cls else None, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        return int(cur.lastrowid or 0)

    def undo(self) -> tuple[str, str, str | None] | None:
        """Remove the most recent label of an object in the data, as if it had not been
        given; returns its (id, label, cls), or None when there is none. Earlier labels of
        the same object apply again."""
        conn = self.conn
        with self._sqlite_errors("undo the last label"):
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._check_holder(conn)
                rows = conn.execute(
                    "SELECT seq, object_id, label, cls FROM labels ORDER BY seq DESC")
                last = next((r for r in rows if r[1] in self._ids), None)
                if last is not None:
                    conn.execute("DELETE FROM labels WHERE seq = ?", (last[0],))
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        return None if last is None else (last[1], last[2], last[3])

    def history(self) -> list[tuple[int, str, str, str | None, float]]:
        """Every label of an object in the data, oldest first: (seq, id, label, cls, unix
        time). Labels of ids that vanished from a new version of the data are set aside.

        A row for another id outside the data (the file edited by hand) is refused by name:
        it would otherwise break the session far from its cause.
        """
        with self._sqlite_errors("read the labels"):
            rows = [r for r in self.conn.execute(
                "SELECT seq, object_id, label, cls, created FROM labels ORDER BY seq")
                if r[1] not in self._retired]
        for seq, oid, label, _, _ in rows:
            if oid not in self._ids or label not in LABELS:
                what = (f"the id {oid!r}, which is not among the {self._n} objects"
                        if oid not in self._ids else f"the unknown label {label!r}")
                raise StoreError(
                    f"The label store {self.path!r} has a label (row seq={seq}) for {what}; "
                    "the file was edited outside DRAMA. Fix or delete that row (`sqlite3 "
                    f"{self.path} \"DELETE FROM labels WHERE seq={seq}\"`) and reopen."
                )
        return rows

    def current(self) -> dict[str, tuple[str, str | None, int]]:
        """The latest label of each object: id -> (label, cls, seq); relabelling overrides."""
        return latest_by_id((oid, label, cls, seq)
                             for seq, oid, label, cls, _ in self.history())

    def meta(self) -> dict[str, str]:
        with self._sqlite_errors("read the store's description"):
            return self._meta(self.conn)

    def close(self) -> None:
        """Release the lock and close the file; the labels are already committed."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._finalizer()

    def __enter__(self) -> ActiveStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ranking_version(config_json: str | None) -> Any:
    """The ranking version recorded in a store's configuration (None if unreadable)."""
    try:
        return json.loads(config_json or "").get("ranking_version")
    except (ValueError, AttributeError):
        return None


def _labelled_ids(conn: sqlite3.Connection) -> set[str]:
    """Every object id the store holds a label for."""
    return {r[0] for r in conn.execute("SELECT DISTINCT object_id FROM labels")}


def latest_by_id(rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """``(id, *rest)`` rows, oldest first, as id -> the rest of its latest row: relabelling
    overrides, and the order is that of each object's latest label."""
    latest: dict[str, Any] = {}
    for oid, *rest in rows:
        latest.pop(oid, None)  # re-insert so that dict order follows the latest label
        latest[oid] = tuple(rest)
    return latest


def describe_adoption(adoption: dict[str, int | None]) -> str:
    """One sentence on what opening a store with a new version of the data did."""
    new = "" if adoption["new"] is None else f", {adoption['new']} object(s) are new"
    return (f"The label store was made on another version of the data; it now follows this "
            f"one: the labels of {adoption['matched']} object(s) apply{new}, and "
            f"{adoption['vanished']} labelled object(s) are gone (their labels stay in the "
            "store, set aside).")


def _config_difference(stored_json: str | None, given: dict[str, Any]) -> str:
    """The options in which a store's configuration differs from the given one, named."""
    try:
        stored = json.loads(stored_json or "")
    except ValueError:
        return "its configuration is unreadable"
    if not isinstance(stored, dict):
        return "its configuration is unreadable"
    given = json.loads(json.dumps(given))  # tuples as lists, as stored
    keys = sorted(k for k in set(stored) | set(given) if stored.get(k) != given.get(k))
    return "; ".join(f"{k} was {json.dumps(stored.get(k))}, now {json.dumps(given.get(k))}"
                     for k in keys)


def export_labels(path: str | os.PathLike[str]) -> list[tuple[str, str, str | None, float]]:
    """The latest label of every object in a store, in the order they were (re)labelled:
    (id, label, cls, unix time); read-only, so a store in use by a session can be read.
    Labels set aside for vanished ids are included: they are the scientist's answers."""
    path = str(Path(path))
    if not Path(path).is_file():
        raise StoreError(f"There is no label store {path!r}.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    except sqlite3.Error as exc:
        raise StoreError(f"Cannot open the label store {path!r}: {exc}.") from None
    try:
        if ActiveStore._meta(conn).get("format") != FORMAT:
            raise StoreError(f"{path!r} is not a DRAMA label store.")
        latest = latest_by_id(conn.execute(
            "SELECT object_id, label, cls, created FROM labels ORDER BY seq"))
    except sqlite3.Error as exc:
        raise StoreError(f"{path!r} is not a readable DRAMA label store ({exc}).") from None
    finally:
        conn.close()
    return [(oid, *value) for oid, value in latest.items()]
