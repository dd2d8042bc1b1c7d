"""Is a question about us or about another company?

A question about another named company, shop or service ("京东的退货政策", "Amazon's refund
policy", "can i return a xiaomi phone") is not ours to answer, however similar our own policy
reads: the name appears nowhere in what the knowledge base found. Names come from "X的<policy>"
in Chinese, capitalised words and brand-style camel case in English (also right next to
Chinese), and the list of well-known shops, platforms, brands and couriers in
``other_companies.txt``. Not names: a relative clause before 的 (上个月买的), a place something
is sent to, a day, month, holiday or language, the customer's own name, and the shop's own
products (:func:`foreign_subject`'s ``ours``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from itertools import accumulate
from pathlib import Path

import jieba

from knowledge.types import Passage

_CJK = r"[\u4e00-\u9fff]"
_ALL_CJK = re.compile(rf"{_CJK}+$")
_CJK_RE = re.compile(_CJK)
_ZH_OWNER = re.compile(
    rf"(?P<name>{_CJK}{{2,4}}?)(?:官方|官网|旗舰店|自营|商城|网店|快递|物流|公司|平台)?(?:的|家的)"
    r"(?:退货|退款|换货|保修|质保|保价|售后|客服|政策|规定|运费|价格|会员|服务|发票)"
)
_ZH_NOT_IN_A_NAME = frozenset("就能都才也还再又把被让了过着吗呢吧")
"""Function characters: "有没有第二天就能送到的服务" names no company in 就能送到."""
_ZH_CLAUSE_VERBS = frozenset("买卖送收拍寄退换修付拿借领用订抢发下")
_ZH_CLAUSE_WORDS = frozenset(
    ("下单", "购买", "订购", "签收", "收货", "付款", "支付", "领取", "赠送")
)
_ZH_COMPLEMENTS = ("到", "下", "来", "去", "完", "掉", "走")
"""What ends a relative clause before 的, which names no company: 上个月买的退货 (returning what
I bought last month), 朋友送的会员, 网上下单的发票, 刚收到的发票, 维修寄回来的运费."""
_ZH_ELSEWHERE = re.compile(r"别的店|别家|其他(店|平台|商家|网站)")
_ZH_SELF = ("你们", "我们", "咱们", "您们", "你家", "贵店", "贵司", "这边", "自己", "我的", "星河")
EN_NAME = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z][a-zA-Z&+-]*|[a-z]+[A-Z][a-zA-Z]*)(?:\s+[A-Z][a-zA-Z&+-]*)*"
    r"(?:'s)?(?![A-Za-z0-9])"
)
"""Capitalised words ("Best Buy", "Amazon's") and brand-style camel case ("eBay", "iPhone"),
also right next to Chinese ("iPhone能退吗", "Zara的退货政策")."""
_LOWER_CASE = re.compile("[a-z]")
_LATIN_WORD = r"(?<![A-Za-z0-9.]){}(?![A-Za-z0-9])"
"""A Latin-script word as a whole, also right next to Chinese ("OPPO的手机")."""
_EN_ELSEWHERE = re.compile(
    r"\b(other|another) (shops?|stores?|sites?|websites?|retailers?)\b", re.IGNORECASE
)
OTHER_COMPANIES = tuple(
    line.strip()
    for line in Path(__file__).with_name("other_companies.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
"""Shops, platforms, brands and couriers a question may name in lower case or in Chinese, where
no capital letter shows a name (see the file)."""
EN_PLACE_BEFORE = re.compile(r"\b(in|to|into|near|around|within|outside)$", re.IGNORECASE)
_EN_COMMON = frozenset({"i", "ok", "okay", "hi", "hello", "hey"})
_EN_NOT_A_COMPANY = frozenset(
    {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "christmas",
        "easter",
        "eve",
        "new",
        "year",
        "lunar",
        "spring",
        "festival",
        "golden",
        "week",
        "national",
        "day",
        "mid-autumn",
        "labour",
        "labor",
        "valentine's",
        "chinese",
        "english",
        "mandarin",
        "cantonese",
        "japanese",
        "korean",
        "french",
        "german",
        "spanish",
        "russian",
        "american",
        "british",
        "australian",
        "canadian",
    }
)
"""Capitalised words that name a day, a month, a holiday or a language, not a company: "I
ordered on Friday", "during Chinese New Year", "a Chinese invoice"."""
_EN_INTRODUCTION = re.compile(r"\b(my name is|my name's|i am|i'm|this is|call me)$", re.I)
"""What comes before the customer's own name ("My name is Li Wei and ..."), not a company's."""
_EN_CONTRACTED = frozenset(
    {"what", "it", "that", "where", "who", "here", "there", "let", "how", "he", "she", "when"}
)


def foreign_subject(
    question: str, passages: Sequence[Passage], ours: Collection[str] = ()
) -> str | None:
    """The other company, shop or brand the question is about, or None when it is about us
    (or names nothing). A name is ours when what the knowledge base found uses it, or it
    names one of our products (``ours``, lower-cased: "aurora x1" in "My Aurora X1 broke")."""
    if _ZH_ELSEWHERE.search(question) or _EN_ELSEWHERE.search(question):
        return "elsewhere"
    found = " ".join(p.text for p in passages).casefold()
    for name in _candidate_names(question):
        folded = name.casefold()
        if folded not in found and not any(own in folded or folded in own for own in ours):
            return name
    return None


def _candidate_names(question: str) -> Iterable[str]:
    """Names the question gives: "X的退货政策" in Chinese, capitalised words in English (the
    first word of an English sentence only when possessive: "Amazon's"; not capitals alone in
    Chinese or in a question written all in capitals), and any of :data:`OTHER_COMPANIES`."""
    for match in _ZH_OWNER.finditer(question):
        name = match.group("name")
        if any(word in name for word in _ZH_SELF) or _ZH_NOT_IN_A_NAME & set(name):
            continue
        if not _relative_clause(name):
            yield name
    for match in EN_NAME.finditer(question):
        if not _LOWER_CASE.search(match.group(0)) and (
            _CJK_RE.search(question) or not _LOWER_CASE.search(question)
        ):
            # capitals alone name nothing in Chinese ("APP里怎么退", "VAT发票") or in a
            # question written all in capitals ("HOW DO I RETURN SOMETHING")
            continue
        words = match.group(0).removesuffix("'s").split()
        possessive = match.group(0).endswith("'s") and words[-1].casefold() not in _EN_CONTRACTED
        if not possessive and match.group(0).endswith("'s"):
            words = words[:-1]
        before = question[: match.start()].rstrip()
        if EN_PLACE_BEFORE.search(before) and not possessive:
            continue  # "delivery to Chengdu", "my stuff in Guangzhou": a place, not a company
        opens = not before or before.endswith((".", "?", "!"))
        if opens and not possessive and not _CJK_RE.search(question):
            words = words[1:]  # capitalised as an English sentence's first word
        name = " ".join(words)
        if _EN_INTRODUCTION.search(before) or _calendar_or_language(words):
            continue
        if name and name.casefold() not in _EN_COMMON:
            yield name
    yield from listed_companies(question)


def _calendar_or_language(words: Sequence[str]) -> bool:
    """Is every word a day, month, holiday or language word (plural "Sundays" too)?"""
    return all(
        w.casefold().removesuffix("s") in _EN_NOT_A_COMPANY or w.casefold() in _EN_NOT_A_COMPANY
        for w in words
    )


def listed_companies(question: str) -> list[str]:
    """The :data:`OTHER_COMPANIES` the question names, as it writes them: an English one as a
    whole word in any case, a Chinese one as whole words of jieba's reading ("中通快递", not
    "审核中通过")."""
    cuts = {0, *accumulate(len(word) for word in jieba.lcut(question))}
    named = []
    for name in OTHER_COMPANIES:
        if _ALL_CJK.match(name):
            starts = (m.start() for m in re.finditer(re.escape(name), question))
            if any(start in cuts and start + len(name) in cuts for start in starts):
                named.append(name)
        elif found := re.search(_LATIN_WORD.format(re.escape(name)), question, re.IGNORECASE):
            named.append(found.group(0))
    return named


def _relative_clause(name: str) -> bool:
    """Does ``name`` end in a verb ("朋友送", "网上买") or a verb's complement ("刚收到",
    "换回来")? Then "name的..." says what happened to the thing, not whose it is."""
    last = jieba.lcut(name)[-1]
    if len(last) == 1:
        return last in _ZH_CLAUSE_VERBS
    return last in _ZH_CLAUSE_WORDS or last.endswith(_ZH_COMPLEMENTS)
