"""Issue 11's bad inputs, each a regression test: exit 2 with a field-named message,
never a traceback, for config files, sweep files and dashboard imports alike; and a
config that validates is one that can train and fits in memory."""

from __future__ import annotations

import json
import os

import pytest

from engine import json_input, run_cost
from engine.config import validate
from engine.errors import MAX_MESSAGE, ConfigError
from engine.sweep import expand
from tests.proc_helpers import engine_cli
from ui.plan import parse_config_text

ZEROS_400 = "1" + "0" * 400
DIGITS_5000 = "1" + "0" * 5000


def engine(*args, budget: str | None = None):
    return engine_cli(*args, env={"HPLAB_MEMORY_BUDGET": budget})


def _deep(n: int, leaf: str = "true") -> str:
    return "[" * n + leaf + "]" * n


# (file text, the field the message must start with)
BAD_CONFIG_TEXTS = [
    ('{"task":"regression","learning_rate":' + ZEROS_400 + "}", "learning_rate: must be in"),
    ('{"task":"regression","seed":' + DIGITS_5000 + "}", "seed: a 5,001-digit integer"),
    ('{"task":"regression","epochs":-' + DIGITS_5000 + "}", "epochs: a 5,001-digit integer"),
    ('{"task":"regression","run_eagerly":' + _deep(600) + "}", "run_eagerly: nested"),
    ('{"task":"regression","run_eagerly":' + _deep(995) + "}", "run_eagerly: nested"),
    ('{"task":"regression","run_eagerly":' + _deep(1000) + "}", "run_eagerly: nested"),
    ('{"task":"regression","":1}', '"": unknown key'),
    ('{"task":"regression","data":{"":1}}', 'data."": unknown key'),
    ('{"task":"regression","metrics":false}', "metrics: must be a list"),
    ('{"task":"regression","metrics":0}', "metrics: must be a list"),
    (
        '{"task":"sequence","data":{"n_train":64,"n_test":16},"model":{"depth":0},"epochs":1}',
        "model.depth: must be at least 1",
    ),
    (json.dumps({"task": "regression", "optimizer": "x" * 200_000}), "optimizer: unknown"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIG_TEXTS, ids=range(len(BAD_CONFIG_TEXTS)))
def test_bad_config_files_exit_2_naming_the_field(tmp_path, text, message):
    path = tmp_path / "cfg.json"
    path.write_text(text)
    out = engine("schedule", str(path), "--steps", "2")
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.startswith(message), out.stderr[:500]
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert len(out.stderr) < MAX_MESSAGE + 200  # a 200 KB value is not echoed back


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"base":{"task":"regression","learning_rate":' + ZEROS_400 + "}}", "base.learning_rate"),
        ('{"base":{"task":"regression"},"grid":{"seed":[' + DIGITS_5000 + "]}}", "grid.seed[0]"),
        ('{"base":{"task":"regression"},"grid":' + _deep(1000, "1") + "}", "grid: nested"),
        ('{"base":{"task":"regression","run_eagerly":' + _deep(700) + "}}", "base.run_eagerly"),
        ('{"base":{"task":"regression"},"":1}', '"": unknown key'),
        ('{"base":{"task":"regression"},"name":5}', "name: must be text"),
        ('{"base":{"task":"regression"},"tags":["' + "t" * 60 + '"]}', "tags[0]: must be one"),
    ],
)
def test_bad_sweep_files_exit_2_naming_the_field(tmp_path, text, message):
    path = tmp_path / "sweep.json"
    path.write_text(text)
    out = engine("sweep", str(path), "--detach", "--store", str(tmp_path / "s.db"))
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.startswith(message), out.stderr[:500]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "s.db").exists() or "queued" not in out.stdout


def test_validate_refuses_deep_and_huge_python_values_too():
    deep: list = []
    for _ in range(990):
        deep = [deep]
    for raw, field in (
        ({"task": "regression", "run_eagerly": deep}, "run_eagerly"),
        ({"task": "regression", "learning_rate": 10**400}, "learning_rate"),
        ({"task": "regression", "": 1}, '""'),
        ({"task": "regression", "metrics": False}, "metrics"),
        ({"task": "regression", "callbacks": {"": True}}, 'callbacks.""'),
        ({"task": "regression", "clipping": {"": 1}}, 'clipping.""'),
    ):
        with pytest.raises(ConfigError) as e:
            validate(raw)
        assert e.value.fields[0] == field, e.value.problems


def test_long_values_are_echoed_with_an_ellipsis():
    with pytest.raises(ConfigError) as e:
        validate({"task": "regression", "precision": "p" * 200_000})
    ((field, message),) = e.value.problems
    assert field == "precision" and "…" in message and len(message) < 400


def test_metrics_null_still_means_none():
    assert validate({"task": "regression", "metrics": None})["metrics"] == []
    assert validate({"task": "regression", "metrics": []})["metrics"] == []


def test_the_sweep_name_leads_every_run_name():
    runs = expand(
        {
            "base": {"task": "regression", "epochs": 1},
            "grid": {"learning_rate": [0.01, 0.1]},
            "name": "lr study",
        }
    )
    assert [r["name"] for r in runs] == [
        "lr study · learning_rate=0.01",
        "lr study · learning_rate=0.1",
    ]
    (one,) = expand({"base": {"task": "regression"}, "name": "  just one  "})
    assert one["name"] == "just one"
    (unnamed,) = expand({"base": {"task": "regression"}, "name": ""})
    assert unnamed["name"] == "base"


# ---------------------------------------------------------------- dashboard imports

BAD_IMPORTS = [
    ('{"format":"hplab-runs","runs":5}', "runs"),
    ('{"format":"hplab-runs","runs":{"a":1}}', "runs"),
    ('{"format":"hplab-runs","runs":[]}', "runs"),
    ('{"format":"hplab-runs","runs":[7]}', "runs[0]"),
    ('{"format":"hplab-runs","runs":[{"config":3}]}', "runs[0].config"),
    (_deep(1000), "file"),
    ('{"config":' + _deep(1000, "{}") + "}", "config"),
    ('{"task":"regression","seed":' + DIGITS_5000 + "}", "seed"),
    ("42", "config"),
    ("{", "file"),
    (b"\xff\xfe", "file"),
    (b"x" * 1_000_001, "file"),
]


@pytest.mark.parametrize(("text", "field"), BAD_IMPORTS, ids=range(len(BAD_IMPORTS)))
def test_bad_imports_get_one_field_named_message(text, field):
    raw, problems = parse_config_text(text)
    assert raw is None
    assert [f for f, _ in problems] == [field], problems


def test_imports_accept_configs_runs_and_exports():
    cfg = {"task": "regression", "learning_rate": 0.01}
    export = {"format": "hplab-runs", "version": 1, "runs": [{"id": "x", "config": cfg}]}
    for doc in (cfg, {"config": cfg}, export):
        assert parse_config_text(json.dumps(doc)) == (cfg, [])
    assert parse_config_text("\ufeff" + json.dumps(cfg)) == (cfg, [])  # a BOM from Notepad


def test_cli_files_and_imports_share_one_reader():
    text = '{"task":"regression","seed":' + DIGITS_5000 + "}"
    with pytest.raises(ConfigError) as e:
        json_input.loads(text)
    assert parse_config_text(text)[1] == e.value.problems


# ---------------------------------------------------------------- memory budget

ISSUE_EXAMPLE = {
    "task": "sequence",
    "data": {"n_train": 10240, "n_test": 100},
    "batch_size": 8192,
    "model": {"width": 8},
    "epochs": 1,
}


def test_the_issues_4_gb_example_is_refused_naming_batch_size(monkeypatch):
    monkeypatch.setenv("HPLAB_MEMORY_BUDGET", "3GiB")
    with pytest.raises(ConfigError) as e:
        validate(ISSUE_EXAMPLE)
    ((field, message),) = e.value.problems
    assert field == "batch_size"
    assert "GiB of memory" in message and "HPLAB_MEMORY_BUDGET" in message
    smaller = {**ISSUE_EXAMPLE, "batch_size": 64}
    assert validate(smaller)["batch_size"] == 64


def test_big_data_is_blamed_on_n_train(monkeypatch):
    monkeypatch.setenv("HPLAB_MEMORY_BUDGET", "800MiB")
    raw = {"task": "multiclass-10", "data": {"n_train": 200_000, "n_val": 1000, "n_test": 1000}}
    with pytest.raises(ConfigError) as e:
        validate(raw)
    assert e.value.fields == ["data.n_train"]


def test_the_budget_defaults_to_a_share_of_memory_and_can_be_lifted(monkeypatch):
    monkeypatch.delenv("HPLAB_MEMORY_BUDGET", raising=False)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert run_cost.memory_budget() == int(total * run_cost.DEFAULT_BUDGET_SHARE)
    monkeypatch.setenv("HPLAB_MEMORY_BUDGET", "off")
    assert run_cost.memory_budget() is None
    assert validate(ISSUE_EXAMPLE)["batch_size"] == 8192
    monkeypatch.setenv("HPLAB_MEMORY_BUDGET", "lots")
    with pytest.raises(ConfigError) as e:
        validate({"task": "regression"})
    assert e.value.fields == ["HPLAB_MEMORY_BUDGET"]


def test_cli_refuses_the_example_before_training(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(ISSUE_EXAMPLE))
    for command in (["run", str(path)], ["lr-find", str(path), "--updates", "10"]):
        out = engine(*command, budget="3GiB")
        assert out.returncode == 2, out.stderr[-2000:]
        assert out.stderr.startswith("batch_size: this run needs about"), out.stderr[:300]


def test_a_long_run_is_allowed_and_says_how_long_it_will_take():
    cfg = validate({"task": "regression-5", "batch_size": 1, "epochs": 1000})
    cost = run_cost.estimate(cfg)
    assert cost.updates == 400_000
    assert cost.seconds > 60 and run_cost.fmt_seconds(cost.seconds).endswith(("min", "h"))
    short = run_cost.estimate(validate({"task": "regression-5", "epochs": 1}))
    assert short.seconds < cost.seconds / 10
