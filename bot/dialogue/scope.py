"""Does a curated answer really answer the question, and is a quote about it?

Checks the retrieval score cannot make (whether the question is about another company is
:mod:`bot.dialogue.companies`):

- A curated FAQ answer is sent as *the* answer only when the customer's content words are
  covered by that FAQ (its question, alternatives or answer). "Can I pay with bitcoin?" must not
  get the payment FAQ's "Yes, we accept ..." because bitcoin is not in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable

import jieba
import jieba.posseg

from bot.dialogue.companies import EN_NAME, EN_PLACE_BEFORE
from bot.dialogue.questions import asked_for, without_asked_for
from knowledge.folding import fold
from knowledge.lexical import ZH_STOPWORDS, cjk_bigrams, tokenize
from knowledge.types import Passage

_CJK = r"[\u4e00-\u9fff]"
_ZH_TOWARDS = ("到", "在", "往", "去", "至")
"""What comes before a place a parcel goes to or a customer is in: 寄到北京, 我人在澳洲."""
_ZH_SENDING = frozenset("寄发送运邮")
"""Verbs that take the place straight after them, without 到: 寄日本, 发新疆, 能发香港吗."""
QUESTION_WORDS = frozenset(
    [
        "多久",
        "几天",
        "多长",
        "多长时间",
        "时间",
        "能否",
        "是否",
        "可否",
        "哪些",
        "咋",
        "咋办",
        "怎么办",
        "怎样",
        "怎么样",
        "行不行",
        "可不可以",
        "能不能",
        "来着",
        "一下",
        "的话",
        "现在",
        "还能",
        "还有",
        "谁",
        "已经",
        "想要",
        "需要",
        "知道",
        "告诉",
        "问问",
        "please",
        "tell",
        "know",
        "want",
        "like",
        "would",
        "just",
        "really",
        "guys",
        "anyone",
        "someone",
        "thanks",
        "long",
        "much",
        "many",
        "take",
        "get",
        "use",
        "make",
        "go",
        "give",
        "put",
        "see",
        "find",
        "work",
        "let",
        "say",
        "ask",
        "支持",
        "提供",
        "有没有",
        "offer",
        "support",
        "provide",
    ]
)
"""Words that shape a question without naming its subject: they need not be in the FAQ."""
MIN_TERM_CHARS = 2
ZH_FUNCTION_CHARS = frozenset(
    "的了是在和与及或就都而也还吗呢吧啊呀么嘛哦我你您他她它这那有没要会能可把被给让对从到向个些"
    "想问下多少几啥咋怎不去来用买"
)
"""One-character words that say nothing about the topic; any other one ("卖", "壳", "修")
must be in the FAQ entry too: "手机壳有卖吗" is not answered by an entry about returns that
mentions phones."""
ABBREVIATION_CHARS = (2, 3)
CJK_GAP = rf"{_CJK}?"
"""At most one Chinese character dropped between two kept ones of an abbreviation."""
_ALL_CJK = re.compile(rf"{_CJK}+$")
PREFIX_MATCH = 5
"""English words sharing this many leading letters count as the same word (return/returned)."""
ECHO_SHARE = 0.6
ECHO_PAIRS = 3
"""A question holding this share of an FAQ phrasing's Chinese character pairs, and at least
this many, is asked that way (:func:`echoes_a_phrasing`)."""
PHRASING_SHARE = 0.3
"""The least share of an FAQ phrasing's content words the customer must use for its curated
answer ("会员怎么升级" uses a third of "钻石会员有什么特权"; a quarter is a coincidence)."""


def appears_in(term: str, folded: str) -> bool:
    """Is ``term`` in the casefolded ``folded``, as it is or, for a two- or three-character
    Chinese word, as the longer word it shortens? Chinese abbreviates by dropping a character
    between the kept ones: 开票 is 开发票, 延保 is 延长保修, 客服 is 客户服务."""
    if term in folded:
        return True
    if not ABBREVIATION_CHARS[0] <= len(term) <= ABBREVIATION_CHARS[1] or not _ALL_CJK.match(term):
        return False
    return re.search(f"{CJK_GAP}".join(map(re.escape, term)), folded) is not None


def uncovered_terms(question: str, passage: Passage) -> list[str]:
    """The customer's content words that the FAQ entry (question, alternatives, answer) lacks.
    A word jieba made up is read as its pieces (:func:`pieces`)."""
    covered = " ".join((passage.question or "", *passage.alternatives, passage.answer or ""))
    folded = fold(covered)
    known = set(tokenize(covered))

    def is_covered(term: str) -> bool:
        short = len(term) < MIN_TERM_CHARS and (term.isascii() or term in ZH_FUNCTION_CHARS)
        return (
            short
            or term in QUESTION_WORDS
            or term in known
            or appears_in(term, folded)
            or _same_english_word(term, known)
        )

    return [
        term
        for term in dict.fromkeys(tokenize(question))
        if not is_covered(term)
        and not (invented(term) and _read_in_pieces(pieces(term, folded), is_covered))
    ]


def _read_in_pieces(parts: list[str], is_covered: Callable[[str], bool]) -> bool:
    """Does an invented word hold a word of the entry, its other characters covered too? Not
    when it is single characters only: 多买 (buy extra) is not 多 and 买."""
    return any(len(part) > 1 for part in parts) and all(map(is_covered, parts))


def invented(word: str) -> bool:
    """Did jieba make ``word`` up? Its HMM joins characters it has no word for into a new one,
    often across a word boundary: 分12期要利息 gives 期要, 银卡升金卡 gives 银卡升 and 金卡要."""
    return len(word) > 1 and _ALL_CJK.match(word) is not None and not _in_dictionary(word)


def _in_dictionary(word: str) -> bool:
    # jieba's table also holds every prefix of its words, with a count of 0
    return bool(jieba.dt.FREQ.get(word))


def pieces(word: str, folded: str) -> list[str]:
    """An invented word cut from the left into the longest pieces that ``folded`` contains or
    jieba's dictionary knows, single characters where neither does: 银卡升 -> 银卡, 升."""
    found, start = [], 0
    while start < len(word):
        end = next(
            end
            for end in range(len(word), start, -1)
            if end - start == 1 or word[start:end] in folded or _in_dictionary(word[start:end])
        )
        found.append(word[start:end])
        start = end
    return found


def asks_what_the_faq_asks(question: str, passage: Passage) -> bool:
    """Does the customer ask what one of the FAQ's phrasings (its question or an alternative)
    asks? Covering every word is not enough when they all sit in another topic's answer: "do
    you take WeChat Pay" is not "how long does a refund take" although its answer names WeChat
    Pay. So a phrasing must share at least :data:`PHRASING_SHARE` of its own content words
    with the customer's question: "what happens to my points if I don't use them" shares only
    "happens" with "What happens to my gift card balance if I delete my account?" and "use"
    with "I don't want to use your app anymore, can I close my account?"."""
    customer = _content_words(question)
    if not customer:
        return True
    asked = fold(question)
    shares = [
        sum(_mentioned(word, customer, asked) for word in words) / len(words)
        for phrasing in (passage.question or "", *passage.alternatives)
        if (words := _content_words(phrasing))
    ]
    return not shares or max(shares) >= PHRASING_SHARE


def _mentioned(word: str, customer: list[str], asked: str) -> bool:
    """Is the phrasing's ``word`` in the customer's question, also as an abbreviation (开票 for
    开发票) or, in English, with another ending (deliver, delivery)?"""
    if appears_in(word, asked):
        return True
    if any(appears_in(mine, word) for mine in customer if not mine.isascii()):
        return True
    return _same_english_word(word, customer)


def _same_english_word(word: str, others: Iterable[str]) -> bool:
    """Is an English ``word`` one of ``others`` with another ending (return, returned)?"""
    stem = word[:PREFIX_MATCH]
    return word.isascii() and len(word) >= PREFIX_MATCH and any(o.startswith(stem) for o in others)


def _content_words(text: str) -> list[str]:
    return _content(tokenize(text))


def _content(words: Iterable[str]) -> list[str]:
    """The words that name a subject: no question words, no lone letters."""
    return [w for w in dict.fromkeys(words) if len(w) >= MIN_TERM_CHARS and w not in QUESTION_WORDS]


def shares_a_term(question: str, text: str, ignoring: Collection[str] = ()) -> bool:
    """Does ``text`` contain at least one content word of ``question`` (other than those
    ``ignoring`` names)? A quoted passage that shares none ("支持。自签收之日起7天内……" for
    "支持以旧换新吗") answers something else."""
    folded = fold(text)
    terms = [term for term in subject_words(question) if term not in ignoring]
    return not terms or any(
        appears_in(term, folded)
        or (invented(term) and any(appears_in(p, folded) for p in _content(pieces(term, folded))))
        for term in terms
    )


def asks_only(word: str) -> bool:
    """Is ``word`` Chinese made of function characters only (多少, 怎么, 可以不)?"""
    return _ALL_CJK.match(word) is not None and all(c in ZH_FUNCTION_CHARS for c in word)


def subject_words(question: str) -> list[str]:
    """The question's content words, a Chinese compound kept whole (:func:`whole_words`)."""
    return _content(whole_words(question))


def names_no_subject(question: str) -> bool:
    """Does the question ask only how long, when, how much or where, without saying of what
    ("多少钱", "要多久", "how long does it take?")? Alone it has no topic; after another
    question it asks about that one's."""
    return bool(asked_for(question)) and not subject_words(without_asked_for(question))


def destinations(question: str) -> frozenset[str]:
    """Places the question sends something to or asks from, folded as :func:`whole_words`
    gives them: 北京 in "寄到北京要几天", 澳洲 in "我人在澳洲", guangzhou in "my stuff in
    Guangzhou", and the verb jieba joined to 到 before one (发到 in "发到杭州").

    Such a place is a detail of the question, not its subject: the delivery-times entry
    answers for every city it does not name ("一线城市1-2天"). Only a place jieba tags as one
    (``ns``) right after 到/在/往/去/至 or a verb that sends (寄日本), or a capitalised name
    after "to", "in", ...: 京东 in "京东买的" is a shop and 北京 in "北京天气" the subject."""
    places: set[str] = set()
    before = ""
    for word, flag in jieba.posseg.lcut(question):
        towards = before.endswith(_ZH_TOWARDS) or before in _ZH_SENDING
        if flag.startswith("ns") and len(word) > 1 and towards:
            places.add(fold(word))
            if len(before) == 2:  # the verb that sends it there: 发到, 送到, 运往
                places.add(fold(before))
        before = word
    for match in EN_NAME.finditer(question):
        if EN_PLACE_BEFORE.search(question[: match.start()].rstrip()):
            places.update(tokenize(match.group(0).removesuffix("'s")))
    return frozenset(places)


def names_the_places(question: str, places: Collection[str], passage: Passage) -> bool:
    """Does the entry (its phrasings and its text) name every one of ``places`` (from
    :func:`destinations`) and share the question's other content words? The shipping policy's
    contact section names Beijing ("Beijing time"), but "how long is shipping to Beijing" is
    not about it."""
    text = _entry_text(passage)
    folded = fold(text)
    return all(place in folded for place in places) and shares_a_term(question, text, places)


def mentions(question: str, passage: Passage) -> bool:
    """Does the entry (its phrasings and its text) share a content word of ``question``, or two
    of its one-character words (:func:`shares_characters`)?"""
    text = _entry_text(passage)
    return bool(subject_words(question)) and (
        shares_a_term(question, text) or shares_characters(question, text)
    )


def _entry_text(passage: Passage) -> str:
    """An entry's phrasings and its text (a document passage has no phrasings)."""
    return " ".join((*passage.questions, passage.answer or passage.text))


def shares_characters(question: str, text: str, at_least: int = 2) -> bool:
    """Does ``text`` hold ``at_least`` of the question's one-character Chinese words that are
    not function characters? Colloquial Chinese asks with them: "耳机坏了能换新吗" has only 坏,
    换 and 新 of "买的东西坏了，多少天内可以换新？"; one alone is a coincidence. A word jieba made
    up counts with its pieces: 分抵 in "多少分抵一块钱" is 分 and 抵."""
    folded = fold(text)
    return sum(w in folded for w in _one_character_words(question, folded)) >= at_least


def holds_its_characters(question: str, passage: Passage) -> bool:
    """Does the entry (its phrasings and text) hold each one-character content word of
    ``question``? "能退吗" after a question about gift cards asks whether they can be returned:
    the gift-card entry, which never says 退, is not the one that answers it."""
    folded = fold(_entry_text(passage))
    return all(word in folded for word in _one_character_words(question, folded))


def _one_character_words(question: str, folded: str) -> set[str]:
    """The question's one-character Chinese words that are not function characters, with the
    pieces of a word jieba made up (cut against ``folded``)."""
    words = whole_words(question)
    words += [p for w in words if invented(w) for p in pieces(w, folded)]
    return {w for w in words if len(w) == 1 and _ALL_CJK.match(w)} - ZH_FUNCTION_CHARS


def echoes_a_phrasing(question: str, phrasings: Iterable[str]) -> bool:
    """Does the customer's Chinese hold most of one phrasing's character pairs (at least
    :data:`ECHO_SHARE` of them, and :data:`ECHO_PAIRS`)? "买了个手表不想要了，能退吗" is the
    alternative "不想要了能退吗" with the thing named, though its only words besides 手表 are
    ones every question uses (想要, 能, 退)."""
    asked = set(cjk_bigrams(question))
    for phrasing in phrasings:
        pairs = set(cjk_bigrams(phrasing))
        shared = len(pairs & asked)
        if shared >= ECHO_PAIRS and shared >= ECHO_SHARE * len(pairs):
            return True
    return False


def whole_words(text: str) -> list[str]:
    """Like :func:`knowledge.lexical.tokenize`, but a Chinese compound stays whole: 维修点 (a
    repair shop) is not 维修 (repair)."""
    words: list[str] = []
    for word in jieba.lcut(fold(text)):
        words.extend(tokenize(word) if word.isascii() else [word] if word.strip() else [])
    return [w for w in words if w not in ZH_STOPWORDS]


def faq_answers_it(question: str, passage: Passage) -> bool:
    """May this FAQ's curated answer be sent as the answer to ``question``?"""
    return (
        passage.kind == "faq"
        and not uncovered_terms(question, passage)
        and asks_what_the_faq_asks(question, passage)
        and asks_for_the_same(question, passage)
    )


def asks_for_the_same(question: str, passage: Passage) -> bool:
    """Does the FAQ (its question or an alternative) ask for the kind of answer the customer
    wants? "How long do I have to send something back?" asks for a duration, and the how-to-
    return entry ("how do i send something back") answers how, not how long; its words cover the
    question only because "how long" is a question word."""
    wanted = asked_for(question)
    return not wanted or any(wanted & asked_for(phrasing) for phrasing in passage.questions)
