"""Training: one config in, records out through a RunSink. Imports TensorFlow."""
