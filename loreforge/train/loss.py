"""The SFT loss computed on answer tokens only — the logits of prompt tokens are never made.

A causal LM's forward pass ends with the output projection (`lm_head`: hidden → vocabulary) at every position,
and transformers' loss then ignores the positions labelled -100 (the prompt). That projection is a large share
of the work: for a 151,936-token vocabulary (Qwen) its fp32 logits take 0.6 MB per position, and for small
models it is a third of the FLOPs. `AnswerOnlyLoss` hooks `lm_head` so it projects only the positions whose next
token is trained, and computes the same cross-entropy from those logits: the same loss value and gradients as
transformers' `ForCausalLMLoss` (sum over trained tokens divided by `num_items_in_batch` when the Trainer passes
it, else their mean), with less compute and memory (`tests/test_train_loss.py` checks loss and gradients).

Used by `trainer.py` through the Trainer's `compute_loss_func` hook; the lm_head pre-hook only changes its input
while a loss is being computed, so generation with the trained model is untouched. torch is imported inside.
"""

from __future__ import annotations

from typing import Any

from loreforge.train.data import IGNORE_INDEX


class AnswerOnlyLoss:
    """Register with `attach(model)`; set `labels` before each forward, then call as `compute_loss_func`."""

    def __init__(self) -> None:
        self.keep: Any = None  # bool mask over positions 0..T-2: the next token is trained
        self.handle: Any = None

    def attach(self, model: Any) -> None:
        head = model.get_output_embeddings()
        if head is None:
            raise ValueError("the model has no output embeddings (lm_head)")
        self.handle = head.register_forward_pre_hook(self._select)

    def detach(self) -> None:
        if self.handle is not None:
            self.handle.remove()
            self.handle = None

    def expect(self, labels: Any) -> None:
        """The next forward pass is for these labels (None: leave lm_head as it is)."""
        self.keep = None if labels is None else labels[:, 1:] != IGNORE_INDEX

    def _select(self, module: Any, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self.keep is None or not args:
            return None
        hidden = args[0]
        if hidden.dim() != 3 or hidden.shape[1] != self.keep.shape[1] + 1:
            return None  # not the training forward this mask was made for
        return (hidden[:, :-1][self.keep.to(hidden.device)], *args[1:])

    def __call__(self, outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        import torch.nn.functional as F

        logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
        target = labels[:, 1:]
        picked = target[target != IGNORE_INDEX].to(logits.device)
        if logits.dim() != 2:  # the hook did not apply: the plain causal-LM loss
            logits = logits[:, :-1][(target != IGNORE_INDEX).to(logits.device)]
        loss = F.cross_entropy(logits.float(), picked, reduction="sum")
        if num_items_in_batch is None:
            return loss / max(int(picked.numel()), 1)
        if hasattr(num_items_in_batch, "to"):
            num_items_in_batch = num_items_in_batch.to(loss.device)
        return loss / num_items_in_batch


def make_trainer_class(base: Any) -> Any:
    """A `Trainer` subclass computing the loss with `AnswerOnlyLoss`."""

    class AnswerOnlyTrainer(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.answer_loss = AnswerOnlyLoss()
            super().__init__(*args, compute_loss_func=self.answer_loss, **kwargs)
            self.answer_loss.attach(self.model)

        def compute_loss(self, model: Any, inputs: Any, return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            self.answer_loss.expect(inputs.get("labels"))
            try:
                return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                            num_items_in_batch=num_items_in_batch)
            finally:
                self.answer_loss.expect(None)

    return AnswerOnlyTrainer
