"""User text shown as typed: ``ui.literal`` on generated text, and where the pages use it.

The browser test (``tests/browser/test_browser_compare.py``) proves the page side with a
local endpoint that must receive no request; here the escaping itself is held to its
promise on thousands of generated names: decoding gives the text back, and nothing a
markdown, directive, LaTeX or HTML parser acts on survives.
"""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ui import literal

# What a parser would act on: markup punctuation, an address, a directive's colon.
ACTIVE = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>:$~&\"'=/@^%;?,]")
# Names built from what people paste (links, images, tags, directives, formulas) and
# anything else at all, up to the store's 200 characters.
MARKUP = st.sampled_from(
    [
        "![px](http://127.0.0.1:8/x.png)",
        "[link](https://example.org/a_b)",
        "<img src=x onerror=alert(1)>",
        '<a href="http://h/">a</a>',
        ":red[red]",
        ":material/science:",
        ":sunglasses:",
        "$x^2$",
        "**bold**",
        "`code`",
        "# heading",
        "- item",
        "1. item",
        "> quote",
        "www.example.com",
        "a@b.org",
        "%{y}",
        "&amp;",
        "\\",
        "\n",
    ]
)
NAMES = st.lists(MARKUP | st.text(max_size=12), max_size=12).map("".join).map(lambda s: s[:200])


@settings(max_examples=1500, deadline=None)
@given(NAMES)
def test_markdown_text_decodes_to_exactly_the_name(name):
    shown = literal.md(name)
    seen = html.unescape(shown).replace(literal.JOINER, "")
    assert seen == " ".join(name.splitlines()).replace(literal.JOINER, "")
    # no bare address for GitHub markdown to link once the references are decoded
    assert not re.search(r"(?i)(https?:|mailto:|www\.|\w@\w)", html.unescape(shown))
    assert not ACTIVE.search(re.sub(r"&#\d+;", "", shown))  # only references remain
    assert "\n" not in shown and "\r" not in shown


@settings(max_examples=1000, deadline=None)
@given(NAMES)
def test_plotly_text_keeps_no_tag_and_no_template_field(name):
    shown = literal.plotly_template(name)
    assert "<" not in shown and ">" not in shown and "%{" not in shown
    assert html.unescape(shown) == name


def test_examples_read_as_typed():
    j = literal.JOINER
    assert literal.md("![px](http://127.0.0.1:9/x.png)") == (
        f"&#33;&#91;px&#93;&#40;http{j}&#58;&#47;&#47;127&#46;0&#46;0&#46;1{j}&#58;9&#47;x&#46;"
        "png&#41;"
    )
    assert html.unescape(literal.md("see www.a.org or a@b.org")) == (
        f"see www{j}.a.org or a{j}@b.org"
    )
    assert literal.md("adam · lr 0") == "adam · lr 0"  # plain names stay readable
    assert literal.plotly("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
