"""What each label says to a person: one summary line and the advice in words (the
config changes that act on it are ``suggestions``)."""

from __future__ import annotations

LABELS = (
    "healthy",
    "underfitting",
    "overfitting",
    "lr_too_high",
    "lr_too_low",
    "diverged",
    "still_improving",
    "too_early",
)

# A label as a sentence names it (the dashboard's badges use the same words).
NAMES = {
    "healthy": "healthy",
    "underfitting": "underfitting",
    "overfitting": "overfitting",
    "lr_too_high": "LR too high",
    "lr_too_low": "LR too low",
    "diverged": "diverged",
    "still_improving": "still improving",
    "too_early": "too early to judge",
}

ADVICE = {
    "diverged": [
        "Lower the learning rate 3–10×: a step that large throws the weights where the loss "
        "overflows.",
        "Add gradient clipping (global_clipnorm=1.0), the standard guard for recurrent nets "
        "and deep stacks.",
        "Check the loss matches the output layer (from_logits) and the labels.",
    ],
    "lr_too_high": [
        "Lower the learning rate 3–10×; the loss bounces instead of settling.",
        "Or keep the peak and add warmup plus a decaying schedule (cosine_decay).",
        "Clip gradients (global_clipnorm=1.0) if the spikes come from occasional huge gradients.",
    ],
    "overfitting": [
        "Stop earlier: early stopping on val_loss with restore_best_weights=True keeps the "
        "best epoch.",
        "Add regularisation: dropout 0.2–0.5, L2, or AdamW's weight decay.",
        "Reduce capacity (model width/depth) or get more training data.",
    ],
    "lr_too_low": [
        "Raise the learning rate 2–3× (the loss is falling steadily but slowly).",
        "Or train for more epochs; reduce-LR-on-plateau will cut it when progress stalls.",
    ],
    "underfitting": [
        "Increase capacity (model width/depth) or reduce regularisation (dropout, L2).",
        "Train longer, or raise the learning rate slightly if the curve is flat.",
        "If the targets are random (learnable: false) there is nothing to learn: that is the "
        "point of the demo.",
    ],
    "still_improving": [
        "Train longer: the loss was still falling fast when the epochs ran out (the tuning "
        "playbook: still improving at the end → train longer).",
        "Or raise the learning rate 2–3× to get there in the same number of epochs.",
    ],
    "healthy": ["Nothing to fix: loss falls steadily, validation follows, and it has settled."],
    "too_early": ["Wait for a few more epochs before judging."],
}

SUMMARY = {
    "diverged": "Diverged: the loss became NaN/inf.",
    "lr_too_high": "Learning rate too high: the loss spikes, bounces or stalls noisily instead "
    "of settling.",
    "overfitting": "Overfitting: training keeps improving while validation gets worse.",
    "lr_too_low": "Learning rate too low: the loss crawls down.",
    "underfitting": "Underfitting: the loss stays at or near what predicting the average gives.",
    "still_improving": "Healthy but unfinished: nothing wrong, and the loss was still falling "
    "fast at the last epoch.",
    "healthy": "Healthy: loss falls and validation follows.",
    "too_early": "Too early to judge.",
}
