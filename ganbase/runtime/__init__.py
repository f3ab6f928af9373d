"""Where and how work runs: device choice, CPU thread planning, torch.distributed helpers, CUDA-graph steps and FLOP counting (no paper)."""
