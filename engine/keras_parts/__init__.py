"""Keras objects built from the specs. Importing this package imports Keras.

``losses``, ``metrics``, ``schedules`` and ``models`` depend on Keras alone (no
engine imports) because exported scripts embed them verbatim.
"""
