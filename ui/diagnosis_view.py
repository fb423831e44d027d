"""A run's diagnosis as every page shows it: one colour and one word per label.

The engine stores the diagnosis with the run (``run["diagnosis"]``, refreshed each
epoch while it trains). This module only decides how it reads: the badge colours
(green fine, blue unfinished, orange a fit problem, yellow a learning-rate problem,
red broken, grey not yet), the evidence in plain words with units, each finding's
checks against their thresholds, the clipping verdict, the advice and the suggested
config changes. The text is built by pure functions so it is tested without
Streamlit; ``render_explanation`` draws it, with a **Try this fix** button per
suggestion (``ui.followup_view``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from engine.diagnosis.text import NAMES
from ui.suggestion_text import suggestion_line

LABEL_COLORS = {
    "healthy": "green",
    "underfitting": "orange",
    "overfitting": "orange",
    "lr_too_high": "yellow",
    "lr_too_low": "yellow",
    "diverged": "red",
    "still_improving": "blue",
    "too_early": "gray",
}

# The engine's names for the labels (one home: engine/diagnosis/text.py); a badge is
# short, so "too early to judge" reads "too early" there.
LABEL_TEXT = {**NAMES, "too_early": "too early"}

LABEL_ICONS = {
    "healthy": ":material/check_circle:",
    "underfitting": ":material/trending_flat:",
    "overfitting": ":material/call_split:",
    "lr_too_high": ":material/bolt:",
    "lr_too_low": ":material/hourglass_bottom:",
    "diverged": ":material/error:",
    "still_improving": ":material/trending_down:",
    "too_early": ":material/hourglass_empty:",
}

NOT_YET = "no diagnosis yet"

# Evidence keys the engine writes, as a person reads them. "pct" is a fraction shown
# as a percentage; keys the engine adds later fall back to their own name.
EVIDENCE = {
    "epochs": ("epochs judged", "int"),
    "best_val_epoch": ("best validation epoch", "int"),
    "val_rise_since_best": ("validation loss now vs its best", "rise"),
    "gap_at_best": ("validation − training loss at the best epoch", "num"),
    "gap_last": ("validation − training loss now", "num"),
    "overfitting_from_epoch": ("overfitting from epoch", "int"),
    "diverged_at_update": ("loss became NaN/inf at update", "int"),
    "diverged_in_epoch": ("… in epoch", "int"),
    "loss_spikes": ("per-update loss spikes", "int"),
    "first_spike_update": ("first spike at update", "int"),
    "early_blowup_update": ("loss blew up in the first epoch at update", "int"),
    "epoch_loss_rises": ("epochs whose loss rose", "int"),
    "recent_gain_per_epoch": ("loss improvement per epoch, last third", "pct"),
    "total_gain": ("loss improvement since epoch 1", "pct"),
    "loss_vs_trivial": ("loss vs always predicting the average", "ratio"),
    "steadily_falling": ("loss fell every recent epoch", "bool"),
    "val_noise": ("validation's own epoch-to-epoch noise (σ)", "num"),
    "val_sampling_error": ("validation loss's sampling error (± on this many examples)", "num"),
    "result_gain_per_epoch": ("result's improvement per epoch, last third", "pct"),
    "final_gain_per_epoch": ("loss improvement per epoch at the end", "pct"),
    "clipped_share": ("updates clipped", "pct"),
    "grad_norm_p90": ("gradient norm, 90th percentile (before clipping)", "num"),
}


def diagnosis_of(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored diagnosis, or None for a run that has not been judged (queued, old)."""
    d = run.get("diagnosis")
    return d if isinstance(d, Mapping) and d.get("label") else None


def labels_of(diag: Mapping[str, Any] | None) -> list[str]:
    """Every finding, main first (older diagnoses carry only ``label``)."""
    if not diag:
        return []
    labels = list(diag.get("labels") or [diag["label"]])
    return labels if labels[0] == diag["label"] else [diag["label"], *labels]


def label_text(label: str) -> str:
    return LABEL_TEXT.get(label, label.replace("_", " "))


def badge(label: str | None) -> str:
    """``:orange-badge[:material/call_split: overfitting]``: usable in any markdown."""
    if label is None:
        return f":gray-badge[{NOT_YET}]"
    icon = LABEL_ICONS.get(label)
    text = label_text(label)
    return f":{LABEL_COLORS.get(label, 'gray')}-badge[{f'{icon} ' if icon else ''}{text}]"


def badges(diag: Mapping[str, Any] | None) -> str:
    """All findings as badges, main first; a grey "no diagnosis yet" without one."""
    labels = labels_of(diag)
    return " ".join(badge(lab) for lab in labels) if labels else badge(None)


def label_counts(diags) -> str:
    """``3 healthy · 2 overfitting``: the main findings of several runs, most common first."""
    counts: dict[str, int] = {}
    for d in diags:
        what = label_text(d["label"]) if d else NOT_YET
        counts[what] = counts.get(what, 0) + 1
    return " · ".join(f"{n} {what}" for what, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def table_label(diag: Mapping[str, Any] | None) -> str | None:
    """The run table's cell: ``overfitting + LR too high`` (None shows as a dash)."""
    labels = labels_of(diag)
    return " + ".join(label_text(lab) for lab in labels) if labels else None


def evidence_lines(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(what, value)`` pairs in the engine's order, empty values left out."""
    out = []
    for k, v in evidence.items():
        if v is None:
            continue
        what, kind = EVIDENCE.get(k, (k.replace("_", " "), "num"))
        out.append((what, _fmt(v, kind)))
    return out


_FORMATS = {
    "int": lambda v: f"{v:g}",
    "pct": lambda v: f"{v:.1%}",
    "rise": lambda v: f"{v:+.0%}",
    "ratio": lambda v: f"{v:.2g}×",
    "num": lambda v: f"{v:.4g}",
}


def _fmt(v: Any, kind: str) -> str:
    if isinstance(v, bool) or kind == "bool":
        return "yes" if v else "no"
    if not isinstance(v, int | float):
        return str(v)
    return _FORMATS.get(kind, _FORMATS["num"])(v)


def chart_hints(diag: Mapping[str, Any] | None) -> list[str]:
    """What the findings look like on the charts, so the markers can be found."""
    markers = (diag or {}).get("markers") or {}
    hints = []
    if markers.get("best_epoch"):
        hints.append(f"★ best validation epoch ({markers['best_epoch']}) on the Loss chart")
    if markers.get("overfit_from"):
        hints.append(
            f"▲ where overfitting starts (epoch {markers['overfit_from']}); the shaded band "
            "is the widening train/validation gap"
        )
    if markers.get("diverged_at_update"):
        hints.append(
            f"dotted vertical line at the update the loss became NaN/inf "
            f"({markers['diverged_at_update']})"
        )
    if markers.get("spike_updates"):
        n = len(markers["spike_updates"])
        hints.append(
            f"▼ {n} loss spike{'s' if n != 1 else ''} on the per-update loss chart (Gradients tab)"
        )
    clipping = (diag or {}).get("clipping") or {}
    if clipping.get("mode"):
        hints.append(
            "the Gradients tab marks the clip threshold, the clipped updates and the 90th "
            "percentile of the gradient norm (a threshold to use)"
        )
    return hints


def confidence_text(value: Any) -> str | None:
    """``high (92 %)``: a finding's confidence in words and numbers."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    word = "high" if value >= 0.8 else "medium" if value >= 0.6 else "low"
    return f"{word} ({value:.0%})"


def _num(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | float):
        return f"{v:.3g}"
    return str(v)


def check_lines(finding: Mapping[str, Any]) -> list[str]:
    """``✓ validation rise vs its own noise: 7.2 (needs > 3)``: each check in numbers."""
    out = []
    for c in finding.get("checks") or []:
        mark = "✓" if c.get("passed") else "✗"
        op = ">" if c.get("above", True) else "<"
        out.append(
            f"{mark} {c.get('what', '?')}: {_num(c.get('value'))} "
            f"(needs {op} {_num(c.get('threshold'))})"
        )
    return out


def findings_markdown(diag: Mapping[str, Any]) -> str | None:
    """Per finding: its confidence, the share of the loss it explains, and its checks."""
    blocks = []
    for f in diag.get("findings") or []:
        head = f"*{label_text(f.get('label', '?'))}*"
        conf = confidence_text(f.get("confidence"))
        if conf:
            head += f" · confidence {conf}"
        explains = f.get("explains")
        if isinstance(explains, int | float) and 0 < explains < 1e6:
            head += f" · explains {explains:.0%} of the trivial loss"
        signs = f.get("signs") or []
        if signs:
            head += f" · seen as: {', '.join(signs)}"
        lines = check_lines(f)
        blocks.append(head + ("\n\n" + "\n".join(f"- {x}" for x in lines) if lines else ""))
    return "**Why, in numbers**\n\n" + "\n\n".join(blocks) if blocks else None


def suggestion_lines(diag: Mapping[str, Any]) -> list[str]:
    return [suggestion_line(i, s) for i, s in enumerate(diag.get("suggestions") or [], 1)]


def explanation_markdown(diag: Mapping[str, Any] | None, *, suggestions: bool = True) -> str:
    """The whole explanation (summary, findings, evidence, advice, changes) as markdown;
    ``suggestions=False`` leaves the changes to ``render_explanation``'s buttons."""
    if not diag:
        return (
            "Not judged yet: the diagnosis appears after the first epoch and is refreshed "
            "after every epoch while the run trains."
        )
    head = f"**{diag.get('summary') or label_text(diag['label'])}**"
    conf = confidence_text(diag.get("confidence"))
    if conf:
        head += f" Confidence: {conf}."
    parts = [head]
    labels = labels_of(diag)
    if len(labels) > 1:
        parts.append("All findings, main first: " + badges(diag))
    lines = evidence_lines(diag.get("evidence") or {})
    if lines:
        parts.append("**Evidence**\n\n" + "\n".join(f"- {what}: **{v}**" for what, v in lines))
    why = findings_markdown(diag)
    if why:
        parts.append(why)
    clipping = diag.get("clipping") or {}
    if clipping.get("message") and clipping.get("mode"):
        parts.append(f"**Clipping**\n\n{clipping['message']}")
    advice = diag.get("advice") or []
    if advice:
        parts.append(
            "**What to try**\n\n" + "\n".join(f"{i}. {a}" for i, a in enumerate(advice, 1))
        )
    fixes = suggestion_lines(diag) if suggestions else []
    if fixes:
        parts.append("**Suggested changes** (most promising first)\n\n" + "\n".join(fixes))
    hints = chart_hints(diag)
    if hints:
        parts.append("**On the charts**\n\n" + "\n".join(f"- {h}" for h in hints))
    return "\n\n".join(parts)


def render_explanation(
    diag: Mapping[str, Any] | None, run: Mapping[str, Any] | None = None
) -> None:
    """The explanation; with the ``run`` it explains, a **Try this fix** button per
    suggested change (it queues the follow-up and opens it beside this run)."""
    buttons = run is not None and bool(diag and diag.get("suggestions"))
    st.markdown(explanation_markdown(diag, suggestions=not buttons))
    if buttons and run is not None and diag:
        from ui.followup_view import try_fix_buttons

        st.markdown("**Suggested changes** (most promising first)")
        try_fix_buttons(run, diag)
