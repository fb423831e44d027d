"""The source articles the tasks, presets and lessons come from, cited by title.

Tasks and presets keep a compact reference (``"000 · Optimizers · SGD & Momentum"``:
the article's number, then its section path); ``cite`` turns it into words a newcomer
can look up, so no page shows a bare file number.
"""

from __future__ import annotations

ARTICLES = {
    "000": "The Training Pipeline",
    "001": "From “training loop” intuition to Keras training",
    "002": "How can I implement gradient accumulation within a custom Keras model.fit?",
}


def cite(source: str) -> str:
    """``"000 · Optimizers · SGD & Momentum"`` → ``"“The Training Pipeline”, section
    Optimizers › SGD & Momentum"``; several articles (``"000 / 002 · …"``) are all named."""
    head, _, rest = source.partition(" · ")
    ids = [i.strip() for i in head.split("/")]
    if not ids or any(i not in ARTICLES for i in ids):
        return source
    titles = " and ".join(f"“{ARTICLES[i]}”" for i in ids)
    sections = [s for s in rest.split(" · ") if s and s not in {ARTICLES[i] for i in ids}]
    if not sections:
        return titles
    return f"{titles}, section {' › '.join(sections)}"
