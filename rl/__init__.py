"""Training and evaluation: metrics now; SFT, reward model and GRPO in later issues."""
