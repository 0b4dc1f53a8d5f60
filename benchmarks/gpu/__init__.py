"""benchmarks/gpu_train.py's parts: settings, synthetic model and data, measuring, phases, report.

Standalone on purpose (torch, transformers, accelerate, peft, trl, datasets and the stdlib only),
so the GPU benchmark runs on a machine that has none of Kindling's other dependencies.
"""
