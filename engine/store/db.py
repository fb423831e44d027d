"""Opening the store file safely, and the one transaction helper every query uses.

Connections are per thread and per process (``Connections``): the dashboard reads
from many threads and several worker processes write at once, and a connection that
is never shared cannot be used from the wrong thread or survive into a forked child.
WAL lets readers proceed while one writer commits; ``busy_timeout`` turns lock
contention between writers into waiting instead of errors; writes start with
``BEGIN IMMEDIATE`` so two writers never both read-then-upgrade and deadlock.

Any ``sqlite3`` or file-system failure surfaces as ``StoreError`` naming the file,
because the person seeing it needs to know *which* file to move aside, not SQLite's
internals; the kinds a caller acts on have their own class (``StoreLocked``: try
again; ``StoreReadOnly``: reads still work; ``StoreFull``: free some space).

A store that cannot be written (an immutable file, a read-only folder or file
system) is opened read-only rather than refused: every read works, every write
raises ``StoreReadOnly`` before touching the file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from engine.errors import StoreError, StoreFull, StoreLocked, StoreReadOnly
from engine.store import migrations
from engine.store.schema import APP_ID, DDL, SCHEMA_VERSION

ENV_VAR = "HPLAB_STORE"
BUSY_ENV_VAR = "HPLAB_BUSY_TIMEOUT"
DEFAULT_FILENAME = "hplab.db"
BUSY_TIMEOUT_MS = 30_000
_SQLITE_MAGIC = b"SQLite format 3\x00"


def default_store_path() -> Path:
    """``$HPLAB_STORE`` if set, else ``./hplab.db`` in the working folder."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else Path.cwd() / DEFAULT_FILENAME


class InMemoryStoreError(StoreError, ValueError):
    """``:memory:`` or a URI: a store no other process could open."""


def resolve_path(path: str | os.PathLike | None) -> Path:
    """Absolute, so worker processes started elsewhere write to the same file."""
    if path is None:
        path = default_store_path()
    if str(path) == ":memory:" or str(path).startswith("file:"):
        raise InMemoryStoreError(
            f"run store {str(path)!r}: an in-memory or URI database cannot be shared between "
            "the dashboard and worker processes; give a file path"
        )
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError) as e:  # a symlink loop, an unreadable folder
        raise StoreError(f"run store {str(path)!r}: {_os_problem(e)}") from None


def busy_timeout_ms() -> int:
    """How long a write waits for another process's write lock before ``StoreLocked``:
    ``$HPLAB_BUSY_TIMEOUT`` seconds, default 30."""
    raw = os.environ.get(BUSY_ENV_VAR, "").strip()
    if not raw:
        return BUSY_TIMEOUT_MS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise StoreError(f"{BUSY_ENV_VAR}: must be a number of seconds in [0, 3600], got {raw!r}")
    return int(seconds * 1000)


def _os_problem(e: BaseException) -> str:
    """``OSError`` as a person reads it, without the path twice."""
    if isinstance(e, OSError) and e.strerror:
        where = f" ({e.filename})" if e.filename else ""
        return f"{e.strerror.lower()}{where}"
    return str(e)


def _dir_writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def writable(path: Path) -> bool:
    """True if this process can write the store: the file (or, for a new file, its
    folder), and the folder SQLite keeps the -wal and -shm files in unless they exist
    and are writable already. ``os.access`` sees what the kernel enforces for this
    user: immutable files and read-only mounts even for root, mode bits otherwise."""
    if path.exists() and not os.access(path, os.W_OK):
        return False
    if _dir_writable(path.parent):
        return True
    side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    return all(p.exists() and os.access(p, os.W_OK) for p in side)


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    timeout = busy_timeout_ms()
    try:
        if read_only:
            # mode=ro never writes; immutable=1 also skips the -shm file SQLite could
            # not create in a read-only folder (no -wal there means nothing to miss).
            immutable = not _dir_writable(path.parent) and not Path(f"{path}-shm").exists()
            uri = f"file:{urllib.parse.quote(str(path))}?mode=ro" + (
                "&immutable=1" if immutable else ""
            )
            conn = sqlite3.connect(
                uri, uri=True, timeout=timeout / 1000, isolation_level=None, check_same_thread=True
            )
        else:
            conn = sqlite3.connect(
                path, timeout=timeout / 1000, isolation_level=None, check_same_thread=True
            )
    except sqlite3.Error as e:
        raise _store_error(path, e, opening=True) from e
    try:
        conn.execute(f"PRAGMA busy_timeout = {timeout}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as e:
        conn.close()
        raise _store_error(path, e) from e
    return conn


def _disk_full(path: Path) -> bool:
    with contextlib.suppress(OSError):
        st = os.statvfs(path.parent)
        return st.f_bavail * st.f_frsize < 64 * 1024
    return False


def _store_error(path: Path, e: sqlite3.Error, *, opening: bool = False) -> StoreError:
    """The one place an ``sqlite3`` error becomes the person's sentence."""
    msg = str(e)
    code = getattr(e, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary == sqlite3.SQLITE_NOTADB or "not a database" in msg:
        return StoreError(f"run store {path}: the file is not an SQLite database")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in msg:
        return StoreLocked(
            f"run store {path}: the database stayed locked for "
            f"{busy_timeout_ms() / 1000:g} s (another process holds a long write); try again"
        )
    if primary == sqlite3.SQLITE_READONLY or "readonly" in msg:
        return StoreReadOnly(path)
    if primary == sqlite3.SQLITE_FULL or "disk is full" in msg:
        return StoreFull(path)
    if primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        if _disk_full(path):
            return StoreFull(path)
        if not writable(path):
            return StoreReadOnly(path)
    if opening:
        return StoreError(f"run store {path}: cannot open ({msg})")
    return StoreError(f"run store {path}: {msg}")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, path: Path, write: bool) -> Iterator[sqlite3.Connection]:
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error as e:
        raise _store_error(path, e) from e
    try:
        yield conn
    except BaseException as e:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        if isinstance(e, sqlite3.Error):
            raise _store_error(path, e) from e
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as e:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise _store_error(path, e) from e


class Connections:
    """One connection per thread and process for one store file.

    Reusing a connection saves the open and, more, the WAL checkpoint SQLite runs
    when the last connection to a file closes (measured: 4x faster small writes).
    A connection is never shared between threads (``check_same_thread``) and never
    reused in a forked child; pickling keeps only the path and the mode.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._local = threading.local()

    def __getstate__(self) -> dict:
        return {"path": self.path, "read_only": self.read_only}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], read_only=state.get("read_only", False))

    def _get(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "conn", None) is None or local.pid != os.getpid():
            local.conn = _connect(self.path, read_only=self.read_only)
            local.pid = os.getpid()
        return local.conn

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they end)."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._local.pid == os.getpid():
            conn.close()

    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection: committed on success, rolled
        back on error. Reads run in one too, so several SELECTs see one snapshot (a live
        panel never shows epoch 7 of one key and epoch 6 of another). A connection that
        failed is dropped, so one bad moment never poisons the later calls."""
        if write and self.read_only:
            raise StoreReadOnly(self.path)
        conn = self._get()
        conn.row_factory = None
        try:
            with _transaction(conn, self.path, write) as c:
                yield c
        except StoreError:
            self.close()
            raise
        finally:
            # A failed ROLLBACK: never reuse a half-open transaction. (A connection
            # dropped above is closed: asking it anything would raise and mask the
            # StoreError the caller must see.)
            if self._local.conn is conn and conn.in_transaction:
                self.close()


# Store files this process has opened (path -> pid). Their header is read only the
# first time: opening and closing a second descriptor on a database SQLite holds open
# drops every POSIX lock this process has on it, so another process's closing
# connection believes it is the last one and resets the WAL under ours -- our reads go
# stale and our writes can be lost (sqlite.org/howtocorrupt.html, section 2.2).
_OPENED: dict[Path, int] = {}


def _check_header(path: Path) -> bool:
    """True if the file exists with content; raises if that content is not SQLite."""
    if path.is_dir():
        raise StoreError(f"run store {path}: is a folder, not a database file")
    try:
        if not path.exists() or path.stat().st_size == 0:
            return False
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as e:
        raise StoreError(f"run store {path}: cannot read the file ({_os_problem(e)})") from None
    if head != _SQLITE_MAGIC:
        raise StoreError(f"run store {path}: the file is not an SQLite database")
    return True


def _make_folder(path: Path) -> None:
    """The store's folder, created if missing; a file in the way is named."""
    for folder in [path.parent, *path.parent.parents]:
        if folder.is_dir():
            break
        if folder.exists() or folder.is_symlink():
            raise StoreError(f"run store {path}: {folder} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(
            f"run store {path}: cannot create its folder {path.parent} ({_os_problem(e)})"
        ) from None


def _set_wal(conn: sqlite3.Connection, path: Path) -> None:
    # Switching to WAL needs a brief exclusive lock; SQLite may report "locked"
    # without consulting the busy handler, so retry against a deadline.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"run store {path}: cannot switch to WAL mode (got {mode})")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _verify(conn: sqlite3.Connection, path: Path) -> bool:
    """True if the schema is present and ours; False if the file has no tables yet."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables.discard("sqlite_sequence")
    if not tables:
        if version:
            raise StoreError(
                f"run store {path}: the file is an SQLite database of another application "
                f"(user_version {version}, no HP Lab tables)"
            )
        return False
    app = None
    stored_version = None
    if "meta" in tables:
        with contextlib.suppress(sqlite3.Error):
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            app = meta.get("app")
            stored_version = meta.get("schema_version")
    if app != APP_ID:
        raise StoreError(
            f"run store {path}: the file is an SQLite database of another application "
            f"(tables: {', '.join(sorted(tables)[:8])}); choose another path or set "
            "HPLAB_STORE"
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"run store {path}: written by a newer HP Lab (schema version {version}; this "
            f"version reads up to {SCHEMA_VERSION}); upgrade HP Lab or use another file"
        )
    if str(stored_version) != str(version) or not (
        version == SCHEMA_VERSION or version in migrations.STEPS
    ):
        raise StoreError(
            f"run store {path}: schema version mismatch (user_version {version}, "
            f"meta {stored_version}, expected {SCHEMA_VERSION}); the file is damaged"
        )
    return True


def _upgrade_if_old(conn: sqlite3.Connection, path: Path) -> None:
    """An older HP Lab's file (checked by ``_verify``) is upgraded in place."""
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        migrations.upgrade(conn, path)


def _open_read_only(path: Path) -> None:
    conn = _connect(path, read_only=True)
    try:
        if not _verify(conn, path):
            raise StoreError(
                f"run store {path}: the file has no HP Lab tables yet and cannot be written"
            )
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            raise StoreReadOnly(
                f"run store {path}: the file is from an older HP Lab and read-only, so it"
                " cannot be upgraded; make it writable once"
            )
    except sqlite3.Error as e:
        raise _store_error(path, e) from e
    finally:
        conn.close()


def open_store(path: Path) -> bool:
    """Create the schema in a new file, or check that an existing file is ours; True
    if the store can only be read (``writable``), then nothing is written to it.

    Safe against two processes creating the same fresh file at once: the check is
    repeated inside the write transaction, so only one of them runs the DDL.
    """
    _make_folder(path)
    has_content = True if _OPENED.get(path) == os.getpid() else _check_header(path)
    if not writable(path):
        if not path.exists():
            raise StoreError(f"run store {path}: cannot create the file, its folder is read-only")
        if not has_content:
            raise StoreError(f"run store {path}: the file is empty and read-only")
        _open_read_only(path)
        _OPENED[path] = os.getpid()  # never reread its header: see _OPENED
        return True
    _open_writable(path)
    return False


def _open_writable(path: Path) -> None:
    conn = _connect(path)
    try:
        try:
            if _verify(conn, path):
                _set_wal(conn, path)
                _upgrade_if_old(conn, path)
                _OPENED[path] = os.getpid()
                return
            _set_wal(conn, path)
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not _verify(conn, path):
                    for stmt in DDL.split(";"):
                        if stmt.strip():
                            conn.execute(stmt)
                    conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?)",
                        [
                            ("app", APP_ID),
                            ("schema_version", str(SCHEMA_VERSION)),
                            ("created", repr(time.time())),
                        ],
                    )
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
                _OPENED[path] = os.getpid()
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise _store_error(path, e) from e
    finally:
        conn.close()
