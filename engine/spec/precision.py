"""Numeric precision policies and what they cost on this kind of machine.

A ``PrecisionEntry`` holds a policy's help and whether its optimizer needs loss
scaling (float16 gradients underflow); ``keras_parts.build`` and ``export_script``
both wrap the optimizer from that flag, and ``keras_parts.models`` sets the policy
per layer (never the global one).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.spec.params import Entry
from engine.spec.registry import Registry

CPU_WARNING = (
    "mixed_float16 on a CPU runs many times slower than float32 (about 18× measured on a "
    "small MLP here); it pays only on a GPU with Tensor Cores. Use float32 or mixed_bfloat16."
)


@dataclass(frozen=True)
class PrecisionEntry(Entry):
    loss_scale: bool = False  # wrap the optimizer in keras.optimizers.LossScaleOptimizer


PRECISION_POLICIES = Registry(
    "precision",
    [
        PrecisionEntry(
            "float32",
            "float32",
            "keras.DTypePolicy",
            help="Full precision everywhere. The right choice on a CPU.",
        ),
        PrecisionEntry(
            "mixed_float16",
            "mixed float16",
            "keras.DTypePolicy",
            help="float16 compute, float32 weights, dynamic loss scaling, float32 output "
            "layer. 1.5-3× faster on GPUs with Tensor Cores; on a CPU many times SLOWER "
            "(measured ~18× on a small MLP).",
            loss_scale=True,
        ),
        PrecisionEntry(
            "mixed_bfloat16",
            "mixed bfloat16",
            "keras.DTypePolicy",
            help="bfloat16 compute, float32 weights; no loss scaling needed. "
            "Close to float32 speed on a CPU, faster on recent accelerators.",
        ),
    ],
)

# name → help, for the forms and plans that list the policies.
PRECISIONS = {e.name: e.help for e in PRECISION_POLICIES}


def loss_scaled(precision: str) -> bool:
    return PRECISION_POLICIES.entry(precision).loss_scale
