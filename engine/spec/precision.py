"""Numeric precision policies and what they cost on this kind of machine."""

PRECISIONS = {
    "float32": "Full precision everywhere. The right choice on a CPU.",
    "mixed_float16": "float16 compute, float32 weights, dynamic loss scaling, float32 output "
    "layer. 1.5-3× faster on GPUs with Tensor Cores; on a CPU many times SLOWER "
    "(measured ~18× on a small MLP).",
    "mixed_bfloat16": "bfloat16 compute, float32 weights; no loss scaling needed. "
    "Close to float32 speed on a CPU, faster on recent accelerators.",
}

CPU_WARNING = (
    "mixed_float16 on a CPU runs many times slower than float32 (about 18× measured on a "
    "small MLP here); it pays only on a GPU with Tensor Cores. Use float32 or mixed_bfloat16."
)
