#!/usr/bin/env bash
# Build the LLaMA Factory contract-test environment: its own virtual environment with the CPU build of
# torch 2.13.0 (pinned so nothing swaps in a CUDA build) and llamafactory 0.9.5. Known trap: the
# torchvision / torchaudio wheels LLaMA Factory pulls from PyPI are CUDA builds that break
# `import transformers` / `import llamafactory` beside a CPU torch — torchvision is removed and torchaudio's
# compiled extension disabled. Usage: bash .ci/llamafactory-venv.sh [VENV_DIR]   (default .venv-lf)
set -euo pipefail
V=${1:-.venv-lf}
if [ -x "$V/bin/llamafactory-cli" ] && [ -f "$V/.ready" ] && "$V/bin/python" -c "import jieba, nltk, rouge_chinese" 2>/dev/null; then
  echo "$V ready"; exit 0
fi
python3 -m venv "$V"
"$V/bin/pip" install -q -U pip
constraints=$(mktemp)
echo "torch==2.13.0" > "$constraints"
"$V/bin/pip" install -q torch==2.13.0
"$V/bin/pip" install -q -c "$constraints" "llamafactory==0.9.5"
"$V/bin/pip" install -q -c "$constraints" jieba nltk rouge-chinese  # its BLEU/ROUGE metrics; not pulled by llamafactory
"$V/bin/pip" uninstall -y -q torchvision || true
for so in "$V"/lib/python*/site-packages/torchaudio/lib/_torchaudio*.so; do
  [ -e "$so" ] && mv "$so" "$so.disabled"
done
"$V/bin/python" -c "import llamafactory, transformers, trl, datasets; print('llamafactory', llamafactory.__version__)"
touch "$V/.ready"
