import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import StoreError
from engine.store import SCHEMA_VERSION, RunStore, default_store_path

ROOT = Path(__file__).resolve().parents[2]


def test_default_path_is_cwd_then_env(tmp_path, monkeypatch):
    monkeypatch.delenv("HPLAB_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_store_path() == tmp_path / "hplab.db"
    store = RunStore()
    assert store.path == tmp_path / "hplab.db"
    assert (tmp_path / "hplab.db").exists()

    target = tmp_path / "elsewhere" / "mine.db"
    monkeypatch.setenv("HPLAB_STORE", str(target))
    assert default_store_path() == target
    assert RunStore().path == target
    assert target.exists()  # parent folder made


def test_explicit_path_wins_and_is_absolute(tmp_path, monkeypatch):
    monkeypatch.setenv("HPLAB_STORE", str(tmp_path / "env.db"))
    monkeypatch.chdir(tmp_path)
    store = RunStore("deep/er/explicit.db")
    assert store.path == tmp_path / "deep" / "er" / "explicit.db"
    assert store.path.is_absolute()
    assert not (tmp_path / "env.db").exists()


def test_data_persists_across_reopen(tmp_path):
    path = tmp_path / "runs.db"
    ids = RunStore(path).create_runs([{"task": "regression"}], names=["keep me"])
    again = RunStore(path)
    assert again.get_run(ids[0])["name"] == "keep me"
    assert again.integrity_check() == "ok"


def test_file_settings(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    with store._read() as conn:  # the store's own session on its connection
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["app"] == "hplab"
    assert meta["schema_version"] == str(SCHEMA_VERSION)


def _sql(path, *statements) -> None:
    """Run plain SQL on ``path`` as another program would (no store involved), committed."""
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(*(statement if isinstance(statement, tuple) else (statement,)))
    conn.commit()
    conn.close()


def _tables(path) -> set[str]:
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    return tables


def _assert_store_error(path, *words):
    with pytest.raises(StoreError) as info:
        RunStore(path)
    msg = str(info.value)
    assert str(path) in msg
    for w in words:
        assert w in msg
    assert "Traceback" not in msg
    return msg


def test_text_file_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n" * 10)
    _assert_store_error(path, "not an SQLite database")
    assert path.read_text() == "just some notes\n" * 10


def test_other_application_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    _sql(
        path,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)",
        "INSERT INTO users (email) VALUES ('a@example.com')",
    )
    _assert_store_error(path, "another application")
    assert _tables(path) == {"users"}


def test_other_application_with_meta_table_is_refused(tmp_path):
    path = tmp_path / "other.db"
    _sql(
        path,
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
        "INSERT INTO meta VALUES ('app', 'somethingelse')",
    )
    _assert_store_error(path, "another application")


def test_empty_sqlite_file_with_foreign_user_version_is_refused(tmp_path):
    path = tmp_path / "other.db"
    _sql(path, "PRAGMA user_version = 7")
    _assert_store_error(path, "another application")


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "runs.db"
    RunStore(path).create_runs([{"task": "regression"}])
    _sql(
        path,
        f"PRAGMA user_version = {SCHEMA_VERSION + 1}",
        ("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,)),
    )
    _assert_store_error(path, "newer", str(SCHEMA_VERSION + 1))


def test_damaged_version_is_refused(tmp_path):
    path = tmp_path / "runs.db"
    RunStore(path)
    _sql(path, "PRAGMA user_version = 0")
    _assert_store_error(path, "mismatch")


def test_folder_and_memory_paths_are_refused(tmp_path):
    _assert_store_error(tmp_path, "folder")
    with pytest.raises(ValueError, match="in-memory"):
        RunStore(":memory:")


def test_store_error_when_file_is_replaced_after_open(tmp_path):
    path = tmp_path / "runs.db"
    store = RunStore(path)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"garbage " * 1000)
    with pytest.raises(StoreError) as info:
        store.list_runs()
    assert str(path) in str(info.value)


def test_import_pulls_in_no_heavy_libraries():
    code = (
        "import sys, engine.store\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'streamlit') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
