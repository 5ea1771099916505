"""What a reply's own words say: phrases in English, Traditional and Simplified Chinese.

Each phrase is a regular expression with its kind and language (``en``; ``zh-Hant``,
``zh-Hans``, or ``zh`` for the words both scripts write alike), matched on the reply's own
words (quoted text already cut: ``tada.domain.reply_text_own``) after NFKC normalisation,
lower case, ``'`` for a typographic apostrophe, and each paragraph on one line: a mail
client wraps its lines anywhere, in a phrase too, so a line break is joined by a space (by
nothing between two Chinese characters) and only a blank line ends a clause.

Negation. A phrase's *clause* is the text back to the previous ``. , ; ! ?`` or paragraph
end (either script), at most ``CLAUSE_MAX`` characters. A *removed*, *acknowledged* or
*needs_info* phrase does not count when the few words before it in its clause negate it:
"not", "never", "no" (but "no longer"), "n't", "cannot", "unable"; in Chinese one of 未 沒 没 不
無 无 別 别 非 尚 in the four characters before it. For *removed* and *acknowledged* a negation
inside the match counts too ("was not removed"), and so does a question (the sentence ends
with ``?``/``？``, or 嗎/吗 ends the clause). For *removed* and *needs_info* a condition
anywhere earlier in the clause discounts it: "if", "whether", "unless", "once", "until",
"when"; 如果 若 是否. So "has not been removed", "once it has been removed", "it has been
removed?" are no removal (and "尚未移除" matches no phrase: a Chinese removal says 已, 了 or 無法再,
"no longer"), and "if you have more information" asks for nothing. A negated or asked
*removed* phrase is remembered (rule ``negated:removed``). *rejected* phrases are negations
themselves and are never discounted.

Decision (``decide``), the *strong* kinds being removed, rejected and needs_info:

- one strong kind found: that kind, high confidence, rule ``phrase:<lang>:<kind>``;
- several strong kinds: the most cautious one, low confidence, rule
  ``phrase-conflict:<kinds>`` — rejected, then needs_info, then removed, because the costly
  mistake is calling content removed while it is still up: removed never wins a conflict;
- removed found and also negated ("one video has been removed, the other has not been
  removed"): removed, low confidence, rule ``phrase-conflict:removed+negated``;
- only acknowledged (a receipt, a ticket or case number, "under review"): acknowledged,
  high; an acknowledgement never outweighs a strong kind ("we have received your report
  and removed the content" is removed);
- only a negated removal: None with rule ``negated:removed`` (the caller says other, low);
- nothing: None.

Pure, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

REMOVED, REJECTED, NEEDS_INFO, ACKNOWLEDGED = "removed", "rejected", "needs_info", "acknowledged"
#: Strong kinds, most cautious first: the order a conflict is settled in.
STRONG = (REJECTED, NEEDS_INFO, REMOVED)


@dataclass(frozen=True)
class _Checks:
    """How a kind's phrase can be discounted: a negation before it (always), one inside the match
    (``in_match``: not for "could not find", which is a negation by itself), a condition in its
    clause, its sentence being a question ("could you confirm …?" is a question and still counts)."""

    in_match: bool
    conditions: bool
    questions: bool


_CHECKS = {
    REMOVED: _Checks(in_match=True, conditions=True, questions=True),
    ACKNOWLEDGED: _Checks(in_match=True, conditions=False, questions=True),
    NEEDS_INFO: _Checks(in_match=False, conditions=True, questions=False),
}

_EN_DONE = (
    r"(?:removed|deleted|taken down|disabled|blocked|restricted|actioned|made unavailable|unavailable"
    r"|delisted|de-?indexed|suspended|terminated)"
)
_EN_CONTENT = (
    r"(?:content|image|video|post|material|url|link|page|account|media|photo|picture|file|upload|clip"
    r"|listing|comment|profile|thread|gallery|album|result|tweet)s?"
)

#: Per kind and language, the phrases (alternatives of one expression each, on normalised text).
_TABLE: dict[str, dict[str, tuple[str, ...]]] = {
    REMOVED: {
        "en": (
            rf"\b(?:has|have|had)(?:n't)? (?:\w+ )?been (?:\w+ )?{_EN_DONE}\b",
            rf"\b(?:was|were|is|are)(?:n't)? (?:\w+ )?{_EN_DONE}\b",
            rf"\bgot {_EN_DONE}\b",
            r"\bwe(?:'ve| have| had)? (?:now |already |successfully )?"
            r"(?:removed|deleted|took down|taken down|disabled|blocked)\b",
            r"\bno longer (?:available|accessible|visible|live|online|viewable|be accessed)\b",
            r"\b(?:disabled|restricted|blocked) access\b",
            rf"\b(?:removed|deleted|took down|disabled) (?:the|this|these|those|all) (?:\w+ )?{_EN_CONTENT}\b",
            r"\btaken down\b",
            r"\b(?:have |'ve |has )?(?:taken|took) (?:appropriate )?action (?:on|against)\b",
            r"\bremoved from (?:our|the) (?:platform|site|service|search results|index)\b",
        ),
        "zh": (r"已(?:經|经)?(?:被)?(?:移除|下架|封鎖|封锁|停用|隱藏|隐藏|屏蔽|遮蔽)",),
        "zh-Hant": (
            r"已(?:經)?(?:被)?(?:刪除|刪去|撤下|刪帖)",
            r"(?:移除|刪除|下架)了",
            r"(?:無法|不能)再(?:存取|瀏覽|查看)",
        ),
        "zh-Hans": (r"已(?:经)?(?:被)?(?:删除|删去|撤下|删帖)", r"删除了", r"(?:无法|不能)再(?:访问|浏览|查看)"),
    },
    REJECTED: {
        "en": (
            r"\b(?:does|do|did)(?: not|n't) (?:appear to |seem to )?(?:violate|breach|contravene|go against)\b",
            r"\bnot (?:in violation|a violation|violating|against our)\b",
            r"\bno violation\b",
            r"\b(?:unable|not able|cannot|can't|won't|will not|declined?|decided not) to "
            r"(?:remove|take down|take (?:any )?action|act on|delete|disable)\b",
            rf"\b(?:will|shall|would) not be {_EN_DONE}\b",
            r"\bcannot be removed\b",
            r"\bno (?:further )?action will be taken\b",
            r"\b(?:complies|compliant|consistent) with our (?:policies|policy|terms|guidelines|community standards)\b",
            r"\b(?:does|do|did)(?: not|n't) (?:meet|qualify)\b",
            r"\bwe (?:have )?(?:rejected|denied|declined) (?:your|the|this)\b",
            r"\b(?:do|does)(?: not|n't) host\b|\bnot hosted (?:on|by)\b",
            r"\b(?:cannot|can't|unable to|not able to) (?:help|assist) (?:you )?(?:with|further)\b",
            r"\boutside (?:of )?(?:our|the) (?:scope|remit|jurisdiction)\b",
        ),
        "zh-Hant": (
            r"(?:不|沒有|並未|並無|未)違反",
            r"無法(?:移除|刪除|下架|處理)",
            r"不(?:會|予)(?:移除|刪除|處理|下架)",
            r"拒絕",
            r"未發現(?:任何)?違規",
            r"不符合(?:移除|刪除|下架)",
            r"不予受理",
        ),
        "zh-Hans": (
            r"(?:不|没有|并未|并无|未)违反",
            r"无法(?:移除|删除|下架|处理)",
            r"不(?:会|予)(?:移除|删除|处理|下架)",
            r"拒绝",
            r"未发现(?:任何)?违规",
            r"不符合(?:移除|删除|下架)",
            r"不予受理",
        ),
    },
    NEEDS_INFO: {
        "en": (
            r"\bplease (?:provide|confirm|clarify|specify|send us|reply with|submit|include|attach)\b",
            r"\b(?:more|additional|further|missing) (?:information|details|info)\b",
            r"\bwe need\b",
            r"\b(?:could|can|would) you (?:please )?(?:confirm|provide|send|clarify|specify|tell us|verify)\b",
            r"\b(?:unable|not able) to (?:locate|find|identify)\b",
            r"\bcould not (?:locate|find|identify)\b",
            r"\b(?:verify|proof of) (?:your )?(?:identity|authori[sz]ation)\b",
            r"\b(?:insufficient|incomplete) (?:information|details)\b|\bunable to verify\b",
            r"\bwe (?:will )?require\b",
        ),
        "zh-Hant": (
            r"請(?:您)?(?:提供|確認|說明|補充|附上|提交|告知)",
            r"更多(?:的)?(?:資訊|資料|詳情)",
            r"補充資料|身分證明|身份證明",
            r"(?:無法|未能)(?:找到|找出|確定)|找不到",
        ),
        "zh-Hans": (
            r"请(?:您)?(?:提供|确认|说明|补充|附上|提交|告知)",
            r"更多(?:的)?(?:信息|资料|详情)",
            r"补充资料|身份证明",
            r"(?:无法|未能)(?:找到|确定)",
        ),
        "zh": (r"需要(?:您|你)",),
    },
    ACKNOWLEDGED: {
        "en": (
            r"\bwe(?:'ve| have)? received\b",
            r"\bthis is to (?:confirm|acknowledge)\b",
            r"\backnowledge (?:receipt|your)\b",
            r"\bthank you for (?:your )?(?:report|reporting|contacting|submitting|notice|notification)\b",
            r"\b(?:ticket|case|request|reference|report) (?:number|no\.?|id|#)",
            r"\bticket\b",
            r"\bunder review\b",
            r"\b(?:being|will be) (?:reviewed|investigated|processed|looked into)\b",
            r"\bwe (?:are|will) (?:now )?(?:review|reviewing|investigate|investigating|look into|looking into)\b",
            r"\b(?:team|we|staff|someone) (?:will|'ll) (?:now )?"
            r"(?:review|investigate|look into|get back|respond|be in touch)\b",
            r"\b(?:report|request|complaint|notice|message) (?:has been|was|is) "
            r"(?:received|submitted|logged|forwarded)\b",
        ),
        "zh": (
            r"已收到|收到(?:您|你)的|工單|工单|審核中|审核中|處理中|处理中",
            r"(?:會|会|將|将)(?:會|会)?(?:盡快|尽快)?(?:進行|进行)?(?:審核|审核|審查|审查|處理|处理|跟進|跟进)",
            r"已(?:處理|处理)",  # "handled": done, but not saying what was done
        ),
        "zh-Hant": (
            r"(?:案件|個案|申訴|檢舉|工單)編號",
            r"正在(?:審查|審核|處理|調查)",
            r"將盡快",
            r"感謝您的(?:檢舉|舉報|通知|來信)",
        ),
        "zh-Hans": (
            r"(?:案件|个案|申诉|举报|工单)编号",
            r"正在(?:审查|审核|处理|调查)",
            r"将尽快",
            r"感谢您的(?:举报|通知|来信)",
        ),
    },
}
_PHRASES = tuple(
    (kind, lang, re.compile("|".join(f"(?:{p})" for p in patterns)))
    for kind, languages in _TABLE.items()
    for lang, patterns in languages.items()
)

_HAN = "\u2e80-\u9fff\uf900-\ufaff"
_HAN_BREAK = re.compile(rf"(?<=[{_HAN}])[^\S\n]*\n[^\S\n]*(?=[{_HAN}])")
_LINE_BREAK = re.compile(r"[^\S\n]*\n[^\S\n]*")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_SPACES = re.compile(r"[^\S\n]+")
#: Characters looked back for a phrase's clause at most.
CLAUSE_MAX = 200
_BOUNDARY = re.compile(r"[.,;!?。，；！？、\n]")
_EN_NEGATION = re.compile(r"\b(?:not|never|cannot|unable)\b|n't\b|\bno\b(?! longer)")
_EN_CONDITION = re.compile(r"\b(?:if|whether|unless|once|until|when)\b")
_ZH_NEGATION = re.compile(r"[未沒没不無无別别非尚]")
_ZH_CONDITION = re.compile(r"如果|若|是否")


@dataclass(frozen=True)
class PhraseDecision:
    """What the phrases decided: ``kind`` None when they decided nothing (``rule`` may still say why)."""

    kind: str | None
    high: bool
    rule: str


def normalise(text: str) -> str:
    """The text phrases are matched on: NFKC, lower case, straight apostrophes, each paragraph on
    one line (a mail client's line breaks joined: by nothing between two Chinese characters, by a
    space elsewhere), single spaces."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    paragraphs = _PARAGRAPH_BREAK.split(text.replace("\r", ""))
    joined = (_SPACES.sub(" ", _LINE_BREAK.sub(" ", _HAN_BREAK.sub("", part))).strip() for part in paragraphs)
    return "\n".join(part for part in joined if part)


def _discounted(text: str, start: int, end: int, lang: str, checks: _Checks) -> bool:
    """Whether the phrase at ``text[start:end]`` is negated, conditional or asked, as ``checks`` say to look."""
    window = max(0, start - CLAUSE_MAX)
    clause_start = max((m.end() for m in _BOUNDARY.finditer(text, window, start)), default=window)
    after = _BOUNDARY.search(text, end)
    rest = text[end : after.start() if after else len(text)]
    if checks.questions and ((after and after.group() in "?？") or re.search(r"[嗎吗]\s*$", rest)):
        return True
    clause = text[clause_start:start]
    if lang == "en":
        if checks.conditions and _EN_CONDITION.search(clause):
            return True
        before = " ".join(clause.split()[-4:])
        return bool(_EN_NEGATION.search(before) or (checks.in_match and _EN_NEGATION.search(text[start:end])))
    if checks.conditions and _ZH_CONDITION.search(clause):
        return True
    return bool(_ZH_NEGATION.search(text[max(clause_start, start - 4) : start]))


def decide(own_words: str) -> PhraseDecision:
    """The kind the reply's own words say, by the rules of this module's docstring."""
    text = normalise(own_words)
    found: dict[str, str] = {}  # kind -> language of its first phrase
    negated_removal = False
    for kind, lang, pattern in _PHRASES:
        for match in pattern.finditer(text):
            checks = _CHECKS.get(kind)
            if checks and _discounted(text, match.start(), match.end(), lang, checks):
                negated_removal = negated_removal or kind == REMOVED
            else:
                found.setdefault(kind, lang)
    strong = [kind for kind in STRONG if kind in found]
    if len(strong) > 1:
        return PhraseDecision(strong[0], False, "phrase-conflict:" + "+".join(strong))
    if strong == [REMOVED] and negated_removal:
        return PhraseDecision(REMOVED, False, "phrase-conflict:removed+negated")
    if strong:
        return PhraseDecision(strong[0], True, f"phrase:{found[strong[0]]}:{strong[0]}")
    if ACKNOWLEDGED in found:
        return PhraseDecision(ACKNOWLEDGED, True, f"phrase:{found[ACKNOWLEDGED]}:{ACKNOWLEDGED}")
    return PhraseDecision(None, False, "negated:removed" if negated_removal else "")
