"""The engine tests' environment (helpers live in ``engine_helpers``)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
