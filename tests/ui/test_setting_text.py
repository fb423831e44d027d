"""ui/setting_text.py: the one spelling of a setting in run names, plans and tables."""

import pytest

from ui.setting_text import summary


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"name": "sgd", "momentum": 0.9}, "sgd"),
        ({"clipnorm": 1.0}, "clipnorm 1"),
        ({"clipnorm": {"name": "x"}}, "clipnorm x"),
        ({"a": 1, "b": 2}, '{"a": 1, "b": 2}'),
        (None, "none"),
        (0.0001, "0.0001"),
        (1e-12, "1e-12"),
        ([16, 32], "[16, 32]"),
        (32, "32"),
        ("mse", "mse"),
    ],
)
def test_a_setting_reads_the_same_everywhere(value, text):
    assert summary(value) == text
