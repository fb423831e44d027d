"""What a person does to stored runs: cancel, tag, rename, annotate, delete.

Each action is a widget callback that reports in one line and never raises: the
store's refusal (read-only, locked, full, a run started meanwhile) is shown as its
own sentence, as literal text. Deleting is two clicks — ask, then a confirmation
naming what goes — on Watch & compare (the selection) and on Run detail (one run).

Cancel buttons live in the compare page's live fragment, and a toast from a
fragment's callback lands at the top of the page and shifts it, so cancelling
leaves a note (``take_notice``) that the fragment shows on its next draw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from engine.errors import StoreError
from ui import literal, resources
from ui.form import PERSIST

state = st.session_state
_NOTICE = "compare_notice"


# ----------------------------------------------------------------------------- cancel


def cancel_runs(ids: Sequence[str]) -> None:
    try:
        n = sum(resources.cancel(i) for i in ids)
    except StoreError as e:  # read-only, locked, disk full: the store's own sentence
        state[_NOTICE] = f"Not cancelled: {literal.md(e)}"
        return
    state[_NOTICE] = (
        f"Cancel requested for {n} run(s): a running run stops at the end of its epoch and "
        "keeps its curves."
        if n
        else "Nothing left to cancel."
    )


def cancel_sweep(sweep_id: str) -> None:
    try:
        n = resources.cancel(sweep_id=sweep_id)
    except StoreError as e:
        state[_NOTICE] = f"Not cancelled: {literal.md(e)}"
        return
    state[_NOTICE] = f"Cancel requested for {n} run(s) of this comparison."


def take_notice() -> str | None:
    """The last cancel's note, once."""
    return state.pop(_NOTICE, None)


# ----------------------------------------------------------------------------- edits


def add_tag(ids: Sequence[str]) -> None:
    """Add the tag typed in ``compare_new_tag`` to every run in ``ids``."""
    tag = (state.get("compare_new_tag") or "").strip()
    if not tag:
        return
    store = resources.store()
    try:
        for i in ids:
            run = store.get_run(i)
            store.set_tags(i, list(dict.fromkeys([*(run.get("tags") or []), tag])))
    except (ValueError, StoreError) as e:
        st.toast(f"Tag refused: {literal.md(e)}", icon=":material/error:")
        return
    state["compare_new_tag"] = ""
    st.toast(f"Tagged {len(ids)} run(s) “{literal.md(tag)}”.", icon=":material/sell:")


def _edit(
    save: Callable[[str, Any], object], run_id: str, value: Any, said: tuple[str, ...]
) -> None:
    done, refused, icon = said
    try:
        save(run_id, value)
        st.toast(done, icon=icon)
    except (ValueError, StoreError) as e:
        st.toast(f"{refused}: {literal.md(e)}", icon=":material/error:")


def save_name(run_id: str) -> None:
    said = ("Renamed.", "Not renamed", ":material/edit:")
    _edit(resources.store().rename, run_id, state["detail_name"], said)


def save_tags(run_id: str) -> None:
    tags = [t.strip() for t in state["detail_tags"] if str(t).strip()]
    _edit(
        resources.store().set_tags,
        run_id,
        tags,
        ("Tags saved.", "Tags not saved", ":material/sell:"),
    )


def save_notes(run_id: str) -> None:
    said = ("Notes saved.", "Notes not saved", ":material/edit_note:")
    _edit(resources.store().set_notes, run_id, state["detail_notes"], said)


def edit_panel(run: Mapping, all_runs: Sequence[Mapping]) -> None:
    """Run detail's name, tags and notes, each saved by its button, then its delete."""
    # Another run shows that run's values. The fields keep an unsaved edit while
    # another tab is open (persist_state), and one Streamlit dropped anyway is
    # refilled from the store, never left blank for a click to save.
    fresh = state.get("detail_loaded") != run["id"]
    for key, value in (
        ("detail_name", run["name"]),
        ("detail_tags", list(run.get("tags") or [])),
        ("detail_notes", run.get("notes") or ""),
    ):
        if fresh or key not in state:
            state[key] = value
    if fresh:
        state["detail_loaded"] = run["id"]
        state["detail_confirm_delete"] = False
    c1, c2 = st.columns(2)
    with c1:
        st.text_input("Name", key="detail_name", max_chars=200, persist_state=PERSIST)
        st.button("Save name", key="detail_save_name", on_click=save_name, args=(run["id"],))
        all_tags = sorted({t for r in all_runs for t in (r.get("tags") or [])})
        st.multiselect(
            "Tags",
            list(dict.fromkeys([*all_tags, *state["detail_tags"]])),
            key="detail_tags",
            accept_new_options=True,
            persist_state=PERSIST,
            help="Type a new tag and press Enter. Filter by tag on Watch & compare.",
        )
        st.button("Save tags", key="detail_save_tags", on_click=save_tags, args=(run["id"],))
    with c2:
        st.text_area(
            "Notes",
            key="detail_notes",
            height=150,
            persist_state=PERSIST,
            placeholder="What did this run show? What would you try next?",
        )
        st.button("Save notes", key="detail_save_notes", on_click=save_notes, args=(run["id"],))
    st.divider()
    delete_one_flow(run)


# ----------------------------------------------------------------------------- delete


def _delete(ids: Sequence[str], confirm_key: str, done: str) -> bool:
    try:
        n = resources.store().delete_runs(list(ids))
    except Exception as e:  # a run started meanwhile: the store refuses, we say why
        st.toast(f"Not deleted: {literal.md(e)}", icon=":material/error:")
        return False
    state[confirm_key] = None
    st.toast(done.format(n=n), icon=":material/delete:")
    return True


def delete_selected(ids: Sequence[str]) -> None:
    if _delete(ids, "compare_confirm_delete", "Deleted {n} run(s)."):
        state["compare_ids"] = [i for i in state.get("compare_ids", []) if i not in ids]


def delete_one(run_id: str) -> None:
    if _delete([run_id], "detail_confirm_delete", "Run deleted."):
        state["detail_confirm_delete"] = False
        state.pop("detail_run", None)


def ask_delete_selected(runs: Sequence[Mapping]) -> None:
    """The selection's delete button (a running run must be cancelled first)."""
    deletable = [r["id"] for r in runs if r["status"] not in ("running",)]
    if st.button(
        f"Delete {len(deletable)} run(s)…",
        icon=":material/delete:",
        key="compare_delete",
        disabled=not deletable,
        help="Runs that are running must be cancelled first.",
    ):
        state["compare_confirm_delete"] = deletable


def _confirm(question: str, *, key: str, on_yes, args: tuple, keep: str, on_keep) -> None:
    """The delete confirmation both flows ask: the question naming what goes, then
    "Yes, delete" (``{key}_confirm``) and the keep button (``{key}_cancel``)."""
    st.warning(question, icon=":material/delete_forever:")
    with st.container(horizontal=True):
        st.button("Yes, delete", type="primary", on_click=on_yes, args=args, key=f"{key}_confirm")
        st.button(keep, on_click=on_keep, key=f"{key}_cancel")


def confirm_delete_selected(by_id: Mapping[str, Mapping]) -> None:
    """The confirmation the selection's delete asks for, naming every run it removes."""
    pending = state.get("compare_confirm_delete")
    if not pending:
        return
    with st.container(border=True):
        _confirm(
            f"Delete {len(pending)} run(s) and all their curves for good? "
            + ", ".join(literal.md(by_id[i]["name"]) for i in pending if i in by_id),
            key="compare_delete",
            on_yes=delete_selected,
            args=(pending,),
            keep="Keep them",
            on_keep=lambda: state.update(compare_confirm_delete=None),
        )


def delete_one_flow(run: Mapping) -> None:
    """Run detail's delete: a button, then a confirmation naming the run."""
    if run["status"] == "running":
        st.caption("A running run cannot be deleted: cancel it first (Watch & compare).")
    elif not state.get("detail_confirm_delete"):
        st.button(
            "Delete this run…",
            icon=":material/delete:",
            key="detail_delete",
            on_click=lambda: state.update(detail_confirm_delete=True),
        )
    else:
        _confirm(
            f"Delete “{literal.md(run['name'])}” and all its curves for good?",
            key="detail_delete",
            on_yes=delete_one,
            args=(run["id"],),
            keep="Keep it",
            on_keep=lambda: state.update(detail_confirm_delete=False),
        )
