"""User text shown as typed: ``ui.literal`` on generated text, and where the pages use it.

The browser test (``tests/browser/test_browser_compare.py``) proves the page side with a
local endpoint that must receive no request; here the escaping itself is held to its
promise on thousands of generated names, rendered by a CommonMark parser (markdown-it,
which Keras's ``rich`` brings): the result is one paragraph of plain text that reads
as the name, with no address left for GitHub markdown to link and nothing for
Streamlit's directives or LaTeX to act on.
"""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from ui import literal

PARSER = MarkdownIt("commonmark").enable(["strikethrough", "table"])
PARAGRAPH = re.compile(r"\A(?:<p>(.*)</p>\n)?\Z", re.DOTALL)
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
# The store refuses control characters in names and tags; tabs and newlines come in notes.
TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n "), max_size=12
)
NAMES = st.lists(MARKUP | TEXT, max_size=12).map("".join).map(lambda s: s[:200])


def _words(text: str) -> str:
    return " ".join(text.replace(literal.JOINER, "").split())


@settings(max_examples=1500, deadline=None)
@given(NAMES)
def test_markdown_renders_to_exactly_the_name_as_plain_text(name):
    shown = literal.md(name)
    assert "\n" not in shown and "\r" not in shown
    page = PARSER.render(shown)
    body = PARAGRAPH.match(page)
    assert body, page  # one paragraph or nothing: no heading, list, quote, table, code block
    text = body.group(1) or ""
    assert "<" not in text, page  # no element at all: link, image, emphasis, code, HTML
    assert _words(html.unescape(text)) == _words(name)
    # after decoding: no bare address for GitHub's autolinks, no directive, no formula
    seen = html.unescape(text)
    assert not re.search(r"(?i)(://|www\.|\w@\w|:\w)", seen)  # ":red[", ":smile:", "mailto:x"
    assert "$" not in shown.replace("\\$", "")


@settings(max_examples=1000, deadline=None)
@given(NAMES)
def test_plotly_text_keeps_no_tag_and_no_template_field(name):
    shown = literal.plotly_template(name)
    assert "<" not in shown and ">" not in shown and "%{" not in shown
    assert html.unescape(shown) == name


def test_examples_read_as_typed():
    j = literal.JOINER
    assert (
        literal.md("![px](http://127.0.0.1:9/x.png)") == f"!\\[px](http:{j}//127.0.0.1:{j}9/x.png)"
    )
    assert literal.md("see www.a.org or a@b.org") == f"see www{j}.a.org or a{j}@b.org"
    assert literal.md("- 1. # x") == "\\- 1. # x"  # only a line's start makes a list
    # the validator's words stay readable in the page source (and in AppTests)
    assert literal.md("must be in (0, 1], got 0.0") == "must be in (0, 1], got 0.0"
    assert literal.plotly("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
