"""HP Lab's Streamlit front end: figure builders, the config form, shared resources.

``ui.charts``, ``ui.runs``, ``ui.plan`` and ``ui.presets`` are pure (no Streamlit, no
TensorFlow) so they can be unit-tested and reused by other front ends; the modules
that call ``st.*`` (``ui.form``, ``ui.resources``, ``ui.sidebar``, ``ui.widgets``) are
thin layers on top of them.
"""
