"""Proper names in normalised text, for the grounding check.

Four kinds, each chosen to keep false alarms low rather than to find every name:

- **Latin names**: runs of capitalised Latin words ("Morgan Stanley", "Universal Auto X", "Kling", "CEO",
  "iPhone", "Hermès", "88VIP"), joined by single spaces or the connectors of / & / de / van / von ("Honor of
  Kings"; "and" separates names). Inside Chinese text every such run counts (capitals there are deliberate).
  In English text a run at the start of a sentence counts only when it has two or more words. Common words
  at either end of a run are dropped ("The", "In", "What", "Company", ...). Single letters (A股, B端), units
  and currency codes, quarter and date words (already read as numbers or dates) are never names.
- **Quoted names**: “…”, 「…」, 『…』, ‘…’ and "…" up to 20 (40 for ASCII quotes) characters, 《…》 and 〈…〉
  titles up to 60.
- **Chinese organisations**: the Han characters before 集团 / 公司 / 科技 / 银行 / 控股 / 证券 / ... (stopping at
  punctuation, dates and numbers, function characters such as 的/是/在, and lead-in words such as
  显示/表示/根据); generic heads (上市公司, 金融科技, 两家公司) are skipped. Only the last two characters before
  the suffix must appear in the source (快手科技 is grounded by 快手), which keeps the check lenient where the
  walk back cannot know where the name begins.
- **Chinese people after a title**: 2-3 Han characters between a title (CEO, 首席执行官, 董事长, 创始人, ...)
  and a verb or particle (表示, 说, 在, 女士, ...): "CEO程一笑表示" → 程一笑.

Each `NameRef` carries the forms that ground it (`keys`); the source must contain one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loreforge.review.textnorm import Mask, is_cjk

LATIN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"  # ASCII and accented Latin letters
_L = LATIN_LETTERS
_WORD = re.compile(rf"(?<![{_L}0-9])[0-9]*[{_L}][{_L}0-9]*(?:[-'’&.][{_L}0-9]+)*")
_CONNECTORS = frozenset({"of", "&", "de", "van", "von", "der", "du", "la", "le"})
_STOP = frozenset(
    """
    a an the this that these those it its in on at for and but or if as by to of from with during after before
    since while although however overall also both all some each there here yes no not what which who whom
    whose when where why how i we our us they their he she his her you your my me note answer question
    questions total according based compared meanwhile moreover furthermore additionally therefore thus so then
    first second third fourth finally next last per vs etc ok okay please thanks hello hi dear is are was were
    be been do does did can could will would should may might must shall have has had january february march
    april june july august september october november december jan feb mar apr jun jul aug sep sept oct nov
    dec monday tuesday wednesday thursday friday saturday sunday q1 q2 q3 q4 h1 h2 fy yoy qoq mom ttm usd rmb
    cny hkd eur gbp jpy bn mn pp bps tm chinese english american european asian summary conclusion step
    company group board management government report results revenue profit
    """.split()
)
_SENTENCE_END = frozenset(".!?。！？:;：；\n")
_SENTENCE_BREAK = re.compile(r"[.!?。！？\n]")
_QUOTES = [
    re.compile(r"“([^“”\n]{1,20})”"),
    re.compile(r"「([^「」\n]{1,20})」"),
    re.compile(r"『([^『』\n]{1,20})』"),
    re.compile(r"‘([^‘’\n]{1,20})’"),
    re.compile(r"\"([^\"\n]{1,40})\""),
    re.compile(r"《([^《》\n]{1,60})》"),
    re.compile(r"〈([^〈〉\n]{1,60})〉"),
]
_ORG_SUFFIX = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|子公司|母公司|分公司|总公司|集团|公司|控股|科技|银行|证券|大学|研究院|研究所|交易所|实验室)+"
)
_ORG_BOUNDARY = frozenset("的了是在和与及或由将对为从向把被让给等于以而并也都还就已其该这那此各每据称说即")
_LEAD_INS = (
    "显示", "表示", "宣布", "发布", "根据", "包括", "其中", "作为", "通过", "旗下", "对于", "关于", "由于", "因为",
    "以及", "报道", "认为", "来自", "成为", "属于", "位于", "隶属", "披露", "公布", "指出", "透露", "介绍",
    "带动", "推动", "看到", "其他", "加入", "收购", "投资", "联合", "携手", "同时", "此外", "另外", "目前",
)
_GENERIC_HEADS = frozenset(
    """
    上市 金融 数字 信息 网络 联网 高新 前沿 智能 生物 医疗 农业 教育 文化 合资 国有 民营 外资 跨国 头部 龙头 大型 中型
    小型 新兴 初创 创业 同类 竞争 关联 相关 有限 责任 股份 投资 管理 咨询 物流 电商 游戏 媒体 软件 硬件 能源 汽车
    芯片 中国 国内 海外 全球 母公 子公 分公 总公 旗下 本地 平台 服务 技术 零售 商业 实体 品牌 一家 两家 多家 几家
    """.split()
)
_MEASURE_TAIL = frozenset("家个所间些类")
_PERSON = re.compile(
    r"(?:首席执行官|首席财务官|首席运营官|首席技术官|董事会主席|董事长|总裁|创始人|总经理|主席|行长|CEO|CFO|COO|CTO)"
    r"(?:兼|、)?(?P<name>[\u4e00-\u9fff]{2,3}?)"
    r"(?=说|表示|称|指出|介绍|认为|强调|在|也|曾|透露|提到|坦言|回应|解释|谈到|宣布|先生|女士|的|、|，|。|,|\s|$)"
)
_NOT_A_PERSON_START = frozenset("兼及和与在表说称的也曾认强指介透提坦回解谈宣之们")


@dataclass(frozen=True)
class NameRef:
    """A name found in the answer: where it is, and the lower-cased forms any one of which grounds it."""

    start: int
    end: int
    keys: tuple[str, ...]
    latin: bool = False  # Latin keys match on word boundaries; others as substrings


def _cjk_context(text: str, start: int, end: int) -> bool:
    """Whether the sentence around [start, end) (at most 200 characters each side) holds two Han characters."""
    before = _SENTENCE_BREAK.split(text[max(0, start - 200) : start])[-1]
    after = _SENTENCE_BREAK.split(text[end : end + 200])[0]
    return sum(1 for c in before + after if is_cjk(c)) >= 2


def _sentence_start(text: str, start: int) -> bool:
    pos = start - 1
    while pos >= 0 and (text[pos] in " \t\"'“‘([*-#>" or text[pos].isdigit()):
        pos -= 1
    return pos < 0 or text[pos] in _SENTENCE_END


def _is_capitalised(word: str) -> bool:
    return any(c.isupper() for c in word)


def _runs(text: str, mask: Mask) -> list[list[re.Match[str]]]:
    """Consecutive capitalised words (with connectors between them), skipping words already claimed."""
    runs: list[list[re.Match[str]]] = []
    current: list[re.Match[str]] = []
    for word in _WORD.finditer(text):
        if not mask.free(word.start(), word.end()):
            continue
        joined = bool(current) and text[current[-1].end() : word.start()] in (" ", " & ")
        if _is_capitalised(word.group()) and (joined or not current):
            current.append(word)
            continue
        if joined and word.group().lower() in _CONNECTORS:
            current.append(word)
            continue
        runs.append(current)
        current = [word] if _is_capitalised(word.group()) else []
    runs.append(current)
    return [_trim(run) for run in runs if run]


def _trim(run: list[re.Match[str]]) -> list[re.Match[str]]:
    while run and (run[-1].group().lower() in _CONNECTORS or run[-1].group().lower() in _STOP):
        run = run[:-1]
    while run and (run[0].group().lower() in _CONNECTORS or run[0].group().lower() in _STOP):
        run = run[1:]
    return run


def _latin_names(text: str, mask: Mask) -> list[NameRef]:
    found: list[NameRef] = []
    for run in _runs(text, mask):
        if not run or (len(run) == 1 and len(run[0].group()) == 1):
            continue
        start, end = run[0].start(), run[-1].end()
        if not _cjk_context(text, start, end) and _sentence_start(text, start) and len(run) == 1:
            continue
        words = [re.sub(r"['’]s$", "", m.group()).lower() for m in run]
        found.append(NameRef(start, end, (" ".join(words),), latin=True))
    return found


def _quoted(text: str) -> list[NameRef]:
    found: list[NameRef] = []
    for pattern in _QUOTES:
        for match in pattern.finditer(text):
            key = re.sub(r"\s+", "", match.group(1)).lower()
            if len(key) >= 2 and any(c.isalpha() for c in key):
                found.append(NameRef(match.start(1), match.end(1), (key,)))
    return found


def _organisation(text: str, suffix: re.Match[str], mask: Mask) -> NameRef | None:
    begin = suffix.start()
    while (
        begin > 0
        and suffix.start() - begin < 8
        and is_cjk(text[begin - 1])
        and text[begin - 1] not in _ORG_BOUNDARY
        and mask.free(begin - 1, begin)
    ):
        begin -= 1
    head = text[begin : suffix.start()]
    cut = max((head.rfind(w) + len(w) for w in _LEAD_INS if w in head), default=0)
    head, begin = head[cut:], begin + cut
    if len(head) < 2 or head[-2:] in _GENERIC_HEADS or head[-1] in _MEASURE_TAIL:
        return None
    return NameRef(begin, suffix.end(), (head[-2:],))


def _organisations(text: str, mask: Mask) -> list[NameRef]:
    return [ref for m in _ORG_SUFFIX.finditer(text) if (ref := _organisation(text, m, mask)) is not None]


def _people(text: str) -> list[NameRef]:
    found: list[NameRef] = []
    for match in _PERSON.finditer(text):
        name = match.group("name")
        if name[0] not in _NOT_A_PERSON_START:
            found.append(NameRef(match.start("name"), match.end("name"), (name,)))
    return found


def find_names(text: str, mask: Mask) -> list[NameRef]:
    """Every name in `text` (Latin words already claimed in `mask` by numbers or dates are skipped)."""
    return _latin_names(text, mask) + _quoted(text) + _organisations(text, mask) + _people(text)
