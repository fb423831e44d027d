"""Model builders: the documents' architectures with capacity overrides.

Precision is set per layer (``dtype=`` policy name), never with the global
policy, so one run's mixed precision cannot leak into the next. Output layers
stay float32, as the documents insist, for numerically stable losses.
Keras is imported where a model is built, so ``hidden_layers`` stays pure Python for
the validator's memory estimate (``engine.run_cost``).
"""


def _blocks(layers):
    """Group a layer list into blocks: one Dense/LSTM plus its BN/Dropout."""
    blocks = []
    for spec in layers:
        if spec["type"] in ("dense", "lstm") or not blocks:
            blocks.append([dict(spec)])
        else:
            blocks[-1].append(dict(spec))
    return blocks


def hidden_layers(layers, width=1.0, depth=None, dropout=None):
    """The task's hidden layers after width/depth/dropout overrides."""
    blocks = _blocks(layers)
    if depth is not None:
        if depth <= len(blocks):
            blocks = blocks[:depth]
        else:
            blocks = blocks + [[dict(s) for s in blocks[-1]] for _ in range(depth - len(blocks))]
    out = []
    for block in blocks:
        main = dict(block[0])
        main["units"] = max(1, round(main["units"] * width))
        rest = [s for s in block[1:] if dropout is None or s["type"] != "dropout"]
        out.append(main)
        out.extend(rest)
        if dropout:
            out.append({"type": "dropout", "rate": dropout})
    lstm_idx = [i for i, s in enumerate(out) if s["type"] == "lstm"]
    for i in lstm_idx:
        out[i]["return_sequences"] = i != lstm_idx[-1]
    return out


def build_model(input_shape, layers, heads, precision="float32", l2=0.0, model_cls=None):
    """Build the functional model. ``heads``: [(name, units, activation)]."""
    import keras

    model_cls = model_cls or keras.Model
    reg = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=tuple(input_shape), name="x")
    h = inputs
    for spec in layers:
        kind = spec["type"]
        if kind == "dense":
            h = keras.layers.Dense(
                spec["units"], activation="relu", kernel_regularizer=reg, dtype=precision
            )(h)
        elif kind == "lstm":
            h = keras.layers.LSTM(
                spec["units"],
                return_sequences=spec.get("return_sequences", False),
                kernel_regularizer=reg,
                dtype=precision,
            )(h)
        elif kind == "batchnorm":
            h = keras.layers.BatchNormalization(dtype=precision)(h)
        elif kind == "dropout":
            h = keras.layers.Dropout(spec["rate"], dtype=precision)(h)
        else:
            raise ValueError(f"unknown layer type {kind!r}")
    outputs = {
        name: keras.layers.Dense(units, activation=act, name=name, dtype="float32")(h)
        for name, units, act in heads
    }
    if len(outputs) == 1:
        outputs = next(iter(outputs.values()))
    return model_cls(inputs=inputs, outputs=outputs)
