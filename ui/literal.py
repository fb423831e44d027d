"""User text (run names, tags, notes) shown exactly as typed, never as markup.

Streamlit renders every ``st.markdown``, label, toast and alert as GitHub markdown
with its own directives (``:red[…]``, ``:material/…:``) and LaTeX, and Plotly renders
a subset of HTML in legends and hover labels. A run named ``![x](http://host/x.png)``
would make the browser fetch that address; ``<a href=…>`` in a name would become a link.

``md`` puts a backslash before each character that can open markup (CommonMark
resolves escapes *before* it decides the structure): ``[`` and ``<`` (every link, image,
autolink and HTML tag needs one), emphasis, code, strike-through, LaTeX's ``$`` and
entity references' ``&``, and at the start of the line what would begin a heading or a
list. The rest stays as typed, so the page source reads (and searches) as the text
does, and no bare ``<`` survives for ``unsafe_allow_html`` snippets. Two things act on
the finished text: Streamlit's ``:directives:`` and emoji codes, and GitHub markdown's
links for bare addresses (``http://…``, ``www.…``, ``a@b.org``). An invisible
zero-width space after every ``:``, before every ``@`` and inside ``www.`` stops them;
what the person sees is unchanged. ``plotly`` does the same for Plotly's HTML subset
(Plotly links nothing by itself). Text shown by widgets that never parse markdown
(dataframe cells, text inputs, select boxes' options) needs neither.
"""

from __future__ import annotations

import html
import re

JOINER = "\u200b"  # ZERO WIDTH SPACE: invisible; breaks ":red[", "http://", "a@b", "www."
_ANYWHERE = re.compile(r"([\\`*_\[<>$~&])")
_LINE_START = re.compile(r"\A(?:([#+=\-])|(\d+)([.)]))")
_ADDRESS = (
    (re.compile(":"), ":" + JOINER),
    (re.compile("@"), JOINER + "@"),
    (re.compile(r"(www)(?=\.)", re.IGNORECASE), r"\1" + JOINER),
)


def md(text: object) -> str:
    """``text`` as markdown that renders to exactly ``text`` (plus zero-width spaces that
    keep directives and addresses inert).

    Line breaks become spaces and the ends are trimmed: a name is one line, and in
    markdown a newline can start a list and leading blanks a code block.
    """
    line = " ".join(str(text).splitlines()).replace("\t", " ").strip()
    line = _ANYWHERE.sub(r"\\\1", line)
    line = _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)
    for pattern, replacement in _ADDRESS:
        line = pattern.sub(replacement, line)
    return line


def plotly(text: object) -> str:
    """``text`` for a Plotly legend, title or hover label: shown, never interpreted."""
    return html.escape(str(text), quote=False)


def plotly_template(text: object) -> str:
    """``plotly`` for a hovertemplate, where ``%{…}`` would also read a data field: the
    brace becomes a character reference, which Plotly decodes only after filling fields."""
    return plotly(text).replace("{", "&#123;")
