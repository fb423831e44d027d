"""Pure-Python descriptions of everything a run can be made of.

Nothing here imports TensorFlow: the dashboard reads these to draw its forms and
the validator reads them to check configs, both without paying for a TF import.
Keras objects are built from them lazily (``Entry.target`` is an import path).
"""
