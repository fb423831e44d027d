"""The documents' comparisons as data: configs to launch and what to look for.

Each preset is a list of raw configs (validated at launch like any other) plus one
sentence that tells a person where on the charts the lesson shows. They replay
the source documents' experiments with the documents' settings; where a setting
would mislead on this machine (mixed_float16 on a CPU) the preset says so.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    source: str
    look_for: str
    names: tuple[str, ...]
    configs: tuple[dict, ...]
    tab: str = "Loss"  # the chart tab where the lesson shows


def _p(id, title, source, look_for, runs, tab="Loss") -> Preset:
    return Preset(
        id,
        title,
        source,
        look_for,
        tuple(n for n, _ in runs),
        tuple(c for _, c in runs),
        tab,
    )


_REG5 = {"task": "regression-5", "learning_rate": 0.01, "epochs": 20}
_BIN20 = {"task": "binary-20", "learning_rate": 1e-3, "epochs": 15}
_REG10 = {"task": "regression-10", "epochs": 20}
_CLIP = {
    "task": "regression-10",
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "epochs": 5,
    "model": {"width": 2.0},
}
# Learnable targets: with the document's random labels the LSTM's gradient norm never
# reaches the 1.0 threshold, and the two runs are identical update for update.
_SEQ = {
    "task": "sequence",
    "data": {"learnable": True},
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "epochs": 10,
}

PRESETS: dict[str, Preset] = {
    p.id: p
    for p in [
        _p(
            "sgd-momentum-nesterov",
            "SGD vs momentum vs Nesterov",
            "000 · Optimizers · SGD & Momentum (regression-5, lr 0.01)",
            "Momentum carries velocity from step to step, so its loss drops in far fewer "
            "epochs than plain SGD; Nesterov's look-ahead usually tracks momentum with a "
            "little less overshoot. Compare the slopes over the first five epochs.",
            [
                ("SGD", {**_REG5, "optimizer": "sgd"}),
                ("SGD · momentum 0.9", {**_REG5, "optimizer": {"name": "sgd", "momentum": 0.9}}),
                (
                    "SGD · Nesterov 0.9",
                    {**_REG5, "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True}},
                ),
            ],
        ),
        _p(
            "adam-vs-adamw",
            "Adam vs AdamW",
            "000 · Optimizers · Adam & AdamW (binary-20, lr 1e-3, 15 epochs)",
            "With the article's weight decay (1e-4) AdamW's curves match Adam's to three "
            "digits: each update shrinks the weights by only learning rate × 1e-4. At "
            "weight decay 1.0 the decoupled decay shows: the training loss stays higher "
            "while the gap between the solid (train) and dashed (validation) curves narrows.",
            [
                ("Adam", {**_BIN20, "optimizer": "adam"}),
                (
                    "AdamW · wd 1e-4",
                    {**_BIN20, "optimizer": {"name": "adamw", "weight_decay": 1e-4}},
                ),
                (
                    "AdamW · wd 1.0",
                    {**_BIN20, "optimizer": {"name": "adamw", "weight_decay": 1.0}},
                ),
            ],
        ),
        _p(
            "rmsprop-vs-adagrad",
            "RMSprop vs Adagrad",
            "000 · Optimizers · RMSProp & Adagrad (regression-10)",
            "Adagrad divides by the sum of all past squared gradients, so its effective rate "
            "only shrinks: it starts fast at its higher rate (0.01) and then flattens. "
            "RMSprop's moving average forgets old gradients and keeps making progress.",
            [
                ("RMSprop · lr 1e-3", {**_REG10, "optimizer": "rmsprop", "learning_rate": 1e-3}),
                ("Adagrad · lr 0.01", {**_REG10, "optimizer": "adagrad", "learning_rate": 0.01}),
            ],
        ),
        _p(
            "clipping-modes",
            "clipvalue vs clipnorm vs global_clipnorm",
            "000 · Gradient Clipping (regression-10, Dense 64, Adam 1e-3, 5 epochs)",
            "Open the Gradients tab: the dotted line is each run's threshold and open "
            "circles mark clipped updates. clipvalue cuts each element (and so turns the "
            "gradient); clipnorm and global_clipnorm only shorten it, per weight or all "
            "together.",
            [
                ("clipvalue 0.5", {**_CLIP, "clipping": {"clipvalue": 0.5}}),
                ("clipnorm 1.0", {**_CLIP, "clipping": {"clipnorm": 1.0}}),
                ("global_clipnorm 1.0", {**_CLIP, "clipping": {"global_clipnorm": 1.0}}),
            ],
            tab="Gradients",
        ),
        _p(
            "lstm-clipping",
            "LSTM with and without clipping",
            "000 · Gradient Clipping · Clipping for RNNs (sequence, global_clipnorm 1.0)",
            "Recurrent weights are applied at every one of the 50 timesteps, so gradient "
            "norms spike. In the Gradients tab open circles mark the updates the clipped "
            "run scaled down to the dotted 1.0 line; the unclipped run applies its spikes "
            "in full. Targets are learnable here: on the article's random labels the "
            "norm stays below 1.0 (0.78 at most, measured), so clipping never acts.",
            [
                ("LSTM · global_clipnorm 1.0", {**_SEQ, "clipping": {"global_clipnorm": 1.0}}),
                ("LSTM · no clipping", {**_SEQ, "clipping": None}),
            ],
            tab="Gradients",
        ),
        _p(
            "complete-pipeline",
            "The complete pipeline (multiclass-10)",
            "000 · Complete Example · End-to-End Training Pipeline",
            "AdamW with linear warmup then cosine decay (see the Learning rate tab), "
            "clipping, early stopping and reduce-LR-on-plateau on random labels: training "
            "accuracy climbs by memorising while validation stays at chance (10%), and "
            "early stopping ends the run once val_loss stops improving. The article uses "
            "mixed_float16; this preset runs float32 because float16 is many times slower "
            "on a CPU.",
            [("Complete pipeline (float32)", {"task": "multiclass-10", "precision": "float32"})],
        ),
    ]
}
