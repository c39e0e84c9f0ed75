"""The evaluation stage: what a model is asked (`probes`), how its answers are scored, and the report that
compares a base model with its tuned version. Fed by the review and export stages (the dataset and its
train/validation split) and by training (the tuned model).

Scoring is pure: `metrics` (key-fact match with the grounding check's normalisers, choice letters and
true/false, BLEU-4 / ROUGE exactly as LLaMA Factory computes them), `stats` (Wilson and bootstrap intervals,
McNemar's exact paired test) and `judge` (an LLM's 0-1 score against the reference, through the runner)."""
