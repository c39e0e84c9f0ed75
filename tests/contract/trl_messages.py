"""TRL / datasets side of the contract (runs in the contract venv):

    python tests/contract/trl_messages.py MODEL_DIR MESSAGES_JSONL HF_FOLDER

Loads our OpenAI-messages JSONL with `datasets.load_dataset("json", ...)`, renders every row with the
tokenizer's chat template, runs one TRL SFTTrainer step on it, and loads our HF folder with
`datasets.load_from_disk`. Prints OK lines; exits non-zero on any failure."""

from __future__ import annotations

import sys
import tempfile


def main() -> None:
    model_dir, messages, hf_folder = sys.argv[1:4]
    from datasets import load_dataset, load_from_disk
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    data = load_dataset("json", data_files=messages, split="train")
    tok = AutoTokenizer.from_pretrained(model_dir)
    rendered = [tok.apply_chat_template(row["messages"], tokenize=False) for row in data]
    assert all("<|im_start|>assistant" in text for text in rendered), "chat template did not render the assistant turn"
    print(f"OK load_dataset json: {len(data)} rows rendered with the chat template")
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(output_dir=out, max_steps=1, per_device_train_batch_size=2, report_to="none", max_length=256, use_cpu=True)
        trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok)
        result = trainer.train()
    print(f"OK TRL SFTTrainer: 1 step, loss {result.training_loss:.3f}")
    folder = load_from_disk(hf_folder)
    print(f"OK load_from_disk: {folder}")


if __name__ == "__main__":
    main()
