"""Short prompt fragments that fill variables of the templates (per language)."""

from __future__ import annotations

COT_ASK_BATCHED = {
    "zh": " 每个答案先在 reasoning 字段写出推理过程（引用文中依据），再写 answer。",
    "en": " For each answer, first write your reasoning (citing the text) in a reasoning field, then the answer.",
}
COT_ASK_SINGLE = {
    "zh": " 先在 <think></think> 中写出推理过程（引用文中依据），再给出答案。",
    "en": " First write your reasoning (citing the text) inside <think></think>, then give the answer.",
}
TAG_MODE = {
    "rebuild": {"zh": "", "en": ""},
    "revise": {
        "zh": " 下面是现有标签体系：请尽量少改动，只为新增内容补充标签、去掉已无对应内容的标签，保留其余标签原样。",
        "en": " The current tag tree follows: change as little as possible — add tags only for new content, drop "
        "tags whose content is gone, keep the rest exactly.",
    },
}
NO_TAGS = {"zh": "（无标签，tag 留空）", "en": "(no tags; leave tag empty)"}
