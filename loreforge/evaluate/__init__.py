"""The evaluation stage: what a model is asked (`probes`), how its answers are scored, and the report that
compares a base model with its tuned version. Fed by the review and export stages (the dataset and its
train/validation split) and by training (the tuned model)."""
