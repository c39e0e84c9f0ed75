"""Short prompt fragments that fill variables of the templates (per language)."""

from __future__ import annotations

COT_ASK_BATCHED = {
    "zh": " 每个答案先在 reasoning 字段写出一步步得出答案的思考过程（自然的推理，不要写\"根据文本\"\"文中提到\"之类的引用语），再写 answer。",
    "en": " For each answer, first write in a reasoning field the step-by-step thinking that leads to it (natural reasoning, "
          "no phrases such as \"according to the text\"), then the answer.",
}
COT_ASK_SINGLE = {
    "zh": " 先在 <think></think> 中写出一步步得出答案的思考过程（自然的推理，不要写\"根据文本\"之类的引用语），再给出答案。",
    "en": " First write inside <think></think> the step-by-step thinking that leads to the answer (natural reasoning, no phrases "
          "such as \"according to the text\"), then give the answer.",
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
