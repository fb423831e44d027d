"""User text (run names, tags, notes) shown exactly as typed, never as markup.

Streamlit renders every ``st.markdown``, label, toast and alert as GitHub markdown
with its own directives (``:red[…]``, ``:material/…:``) and LaTeX, and Plotly renders
a subset of HTML in legends and hover labels. A run named ``![x](http://host/x.png)``
would make the browser fetch that address; ``<a href=…>`` in a name would become a link.

``md`` turns every character markdown, a directive or LaTeX could act on into a
numeric character reference: the markdown parser decodes a reference to the plain
character *after* deciding the structure, so the text shows literally and nothing in
it can open an image, a link, a directive or a formula — and since no ``<`` survives,
it is safe inside ``unsafe_allow_html`` snippets too. One thing happens after that
decoding: GitHub markdown turns bare addresses (``http://…``, ``www.…``, ``a@b.org``) in
the finished text into links. An invisible word joiner (U+2060) before ``:`` and ``@``
and inside ``www.`` keeps them text; what the person sees is unchanged. ``plotly`` does
the same for Plotly's HTML subset (Plotly links nothing by itself). Text shown by
widgets that never parse markdown (dataframe cells, text inputs, select boxes'
options) needs neither.
"""

from __future__ import annotations

import html
import re

# ASCII punctuation that starts or ends markdown syntax (CommonMark's escapable set),
# Streamlit's directives (':'), LaTeX ('$') and autolinked addresses ('.', '/', '@').
_MARKDOWN = frozenset("\\`*_{}[]()#+-.!|<>:$~&\"'=/@^%;?,")
_TABLE = {ord(c): f"&#{ord(c)};" for c in _MARKDOWN}


def md(text: object) -> str:
    """``text`` as markdown that renders to exactly ``text`` (plus word joiners that
    keep addresses from becoming links).

    Line breaks become spaces: a name is one line, and a newline in markdown can
    start a list or a heading.
    """
    line = " ".join(str(text).splitlines())
    line = _AUTOLINK.sub(lambda m: JOINER + m.group(0), line)
    return _WWW.sub(lambda m: m.group(1) + JOINER + ".", line).translate(_TABLE)


JOINER = "\u2060"  # WORD JOINER: no width, no break
_AUTOLINK = re.compile(r"[:@]")
_WWW = re.compile(r"(www)\.", re.IGNORECASE)


def plotly(text: object) -> str:
    """``text`` for a Plotly legend, title or hover label: shown, never interpreted."""
    return html.escape(str(text), quote=False)


def plotly_template(text: object) -> str:
    """``plotly`` for a hovertemplate, where ``%{…}`` would also read a data field: the
    brace becomes a character reference, which Plotly decodes only after filling fields."""
    return plotly(text).replace("{", "&#123;")
