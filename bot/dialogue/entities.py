"""Entities in a customer message: order numbers, phones, e-mails, amounts, dates, products.

Rules (regular expressions and the product catalogue) always run; they are exact, fast and
need no model. When an LLM is configured, :func:`extract_entities_with_llm` asks it for the
same fields as JSON and keeps only values the rules can validate, so a hallucinated order
number never reaches the order lookup.

Text is NFKC-normalised first, so full-width digits and punctuation ("ＤＤ２０２４１１０１",
"：") read like their ASCII forms. Each match is masked before the next kind is searched, so an
order number's digits are never read again as a phone number or an amount.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from bot.dialogue.dates import find_dates
from bot.dialogue.numbers import CN_NUMERAL_CHARS, parse_number
from core.shop import Product

ORDER_PREFIX = "DD"
ORDER_DIGITS = 8

_MASK = "|"

_EMAIL = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}", re.IGNORECASE)
_ORDER_WITH_PREFIX = re.compile(
    rf"(?<![a-z0-9]){ORDER_PREFIX}[\s\-_#:]*((?:\d[\s\-]?){{{ORDER_DIGITS - 1}}}\d)(?!\d)",
    re.IGNORECASE,
)
_ORDER_AFTER_KEYWORD = re.compile(
    r"(?:订单编?号?|单号|order\s*(?:no\.?|number|num|id|#)?)\s*(?:是|为|is)?\s*[:#]?\s*"
    rf"((?:\d[\s\-]?){{{ORDER_DIGITS - 1}}}\d)(?!\d)",
    re.IGNORECASE,
)
_CN_MOBILE = re.compile(r"(?<![\d+])(?:\+?86[\s\-]?)?(1[3-9]\d)[\s\-]?(\d{4})[\s\-]?(\d{4})(?!\d)")
_SERVICE_LINE = re.compile(r"(?<!\d)([48]00)[\s\-]?(\d{3})[\s\-]?(\d{4})(?!\d)")
_CN_LANDLINE = re.compile(r"(?<![\d+])\(?(0\d{2,3})\)?[\s\-]?(\d{7,8})(?!\d)")
_INTERNATIONAL = re.compile(r"\+\d{1,3}(?:[\s\-]?\(?\d{1,4}\)?){2,5}(?!\d)")
_NANP = re.compile(r"(?<!\d)\(?([2-9]\d{2})\)?[\s\-.](\d{3})[\s\-.](\d{4})(?!\d)")

_NUM = rf"(\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|[{CN_NUMERAL_CHARS}]+)"
_ARABIC_NUM = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_MULT = r"(万|千|k(?![a-z])|w(?![a-z]))?"
_CURRENCY_WORDS = {
    "¥": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "元": "CNY",
    "块": "CNY",
    "块钱": "CNY",
    "人民币": "CNY",
    "yuan": "CNY",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "美元": "USD",
    "美金": "USD",
    "hk$": "HKD",
    "港币": "HKD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "欧元": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "英镑": "GBP",
}
_PREFIX_AMOUNT = re.compile(rf"(us\$|hk\$|¥|\$|€|£|rmb|cny|usd|eur|gbp)\s*{_ARABIC_NUM}{_MULT}")
_SUFFIX_AMOUNT = re.compile(
    rf"{_NUM}\s*{_MULT}\s*(块钱|元|人民币|美元|美金|港币|欧元|英镑|"
    r"(?:rmb|cny|yuan|usd|dollars?|bucks|eur|euros?|gbp|pounds?)(?![a-z])|块(?!钱))"
)
_NOT_MONEY = (
    r"(?![\d.])(?!\s*(?:天|日|号|小时|分钟|周|个|月|年|次|寸|英寸|%|days?|hours?|minutes?|weeks?|"
    r"months?|years?|times?|km|kg|mah|gb|tb|inch|w(?![a-z])))"
)
# Bare numbers count as money only after budget words ("预算3000", "under 500").
_BOUND_BEFORE = re.compile(
    rf"(预算|不超过|低于|最多|under|below|less than|no more than|up to|budget(?: of| is)?)"
    rf"\s*{_NUM}{_MULT}{_NOT_MONEY}"
)
_BOUND_AFTER = re.compile(rf"{_NUM}{_MULT}\s*(以内|以下|之内|左右)")
_MAX_WORDS = (
    "预算",
    "不超过",
    "低于",
    "最多",
    "以下",
    "以内",
    "之内",
    "under",
    "below",
    "less than",
)
_MAX_WORDS_EN = ("no more than", "up to", "budget", "max")
_ABOUT_WORDS = ("左右", "上下", "around", "about", "大概", "大约")
_MIN_WORDS = ("以上", "over", "more than", "above", "超过")


@dataclass(slots=True, frozen=True)
class Amount:
    """A sum of money; ``bound`` says how it was meant: "max" (a budget), "min", "about"."""

    value: float
    currency: str | None = None
    bound: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "currency": self.currency, "bound": self.bound}


@dataclass(slots=True, frozen=True)
class Entities:
    """What was found in one message, each kind in order of appearance (JSON via :meth:`to_json`).

    Order numbers are upper-case ("DD20241101"); phones are digits with a leading "+" for
    international numbers; e-mails are lower-case; dates are ISO strings; products are SKUs.
    """

    order_numbers: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    amounts: tuple[Amount, ...] = ()
    dates: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    source: str = "rules"
    """"rules", or "rules+llm" when an LLM contributed validated values."""
    bare: bool = False
    """The message is little more than these values ("DD20241101", "订单号是 DD20241101"):
    an answer to the bot's question rather than a new request."""

    def to_json(self) -> dict[str, Any]:
        return {
            "order_numbers": list(self.order_numbers),
            "phones": list(self.phones),
            "emails": list(self.emails),
            "amounts": [amount.to_json() for amount in self.amounts],
            "dates": list(self.dates),
            "products": list(self.products),
            "source": self.source,
            "bare": self.bare,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entities:
        """Inverse of :meth:`to_json`."""
        return cls(
            order_numbers=tuple(data.get("order_numbers", ())),
            phones=tuple(data.get("phones", ())),
            emails=tuple(data.get("emails", ())),
            amounts=tuple(Amount(**amount) for amount in data.get("amounts", ())),
            dates=tuple(data.get("dates", ())),
            products=tuple(data.get("products", ())),
            source=str(data.get("source", "rules")),
            bare=bool(data.get("bare", False)),
        )

    def slot_value(self, slot: str) -> str | None:
        """The first value that can fill ``slot`` ("order_no", "phone", "email", "product",
        "amount", "date"), as a string; None when this message has none."""
        values: dict[str, Sequence[Any]] = {
            "order_no": self.order_numbers,
            "phone": self.phones,
            "email": self.emails,
            "product": self.products,
            "amount": [_format_amount(a) for a in self.amounts],
            "date": self.dates,
        }
        found = values.get(slot, ())
        return str(found[0]) if found else None

    def is_empty(self) -> bool:
        return not any(
            (self.order_numbers, self.phones, self.emails, self.amounts, self.dates, self.products)
        )


def _format_amount(amount: Amount) -> str:
    value = f"{amount.value:g}" if amount.value < 1e15 else str(amount.value)
    return f"{value} {amount.currency}" if amount.currency else value


@dataclass(slots=True, frozen=True)
class ProductCatalogue:
    """Product names to look for: each SKU with its names and the short aliases customers use
    ("Aurora X1" for "Xinghe Aurora X1"), compiled once."""

    patterns: tuple[tuple[re.Pattern[str], str], ...] = field(default=())

    @classmethod
    def from_names(cls, products: Iterable[tuple[str, Sequence[str]]]) -> ProductCatalogue:
        """Builds the catalogue from ``(sku, [name_en, name_zh, ...])`` pairs.

        A first word shared by most names (the brand) is also dropped to make an alias.
        """
        items = [(sku, [n.strip() for n in names if n and n.strip()]) for sku, names in products]
        brands = _brand_words(name for _, names in items for name in names)
        owners: dict[str, set[str]] = {}
        for sku, names in items:
            for name in names:
                for alias in _aliases(name, brands):
                    owners.setdefault(alias.lower(), set()).add(sku)
        # An alias that two products share ("Watch 3") would guess; only full names may collide.
        unambiguous = [(alias, skus.pop()) for alias, skus in owners.items() if len(skus) == 1]
        unambiguous.sort(key=lambda pair: len(pair[0]), reverse=True)
        return cls(tuple((_name_pattern(alias), sku) for alias, sku in unambiguous))

    @classmethod
    def from_products(cls, products: Iterable[Product]) -> ProductCatalogue:
        """The names of catalogue products, English and Chinese."""
        return cls.from_names((p.sku, (p.name_en, p.name_zh)) for p in products)

    def names_in(self, text: str) -> list[str]:
        """The product names ``text`` uses, lower-cased ("aurora x1" in "My Aurora X1 broke"):
        the shop's own products, which no question about them makes another company's."""
        normal = normalize_text(text)
        return [m.group(0) for pattern, _ in self.patterns for m in pattern.finditer(normal)]

    def named_generically(self, text: str, word: str) -> str:
        """``text`` (normalised) with each product name replaced by ``word``: "is the Aurora
        Fold covered by warranty" is, to a knowledge base that never names it, "is the
        product covered by warranty"."""
        normal = normalize_text(text)
        for pattern, _ in self.patterns:
            normal = pattern.sub(word, normal)
        return normal

    def find(self, text: str) -> tuple[list[str], str]:
        """SKUs mentioned in ``text`` (lower-cased, NFKC), longest names first, and the text
        with those names masked."""
        skus: list[tuple[int, str]] = []
        for pattern, sku in self.patterns:
            for match in pattern.finditer(text):
                skus.append((match.start(), sku))
                text = _mask(text, match.span())
        ordered = sorted(skus)
        return _unique(sku for _, sku in ordered), text


def _brand_words(names: Iterable[str]) -> set[str]:
    counts: dict[str, int] = {}
    total = 0
    for name in names:
        total += 1
        first = name.split(" ", 1)[0].lower()
        counts[first] = counts.get(first, 0) + 1
    return {word for word, count in counts.items() if count >= 3 and count * 4 >= total}


def _aliases(name: str, brands: set[str]) -> list[str]:
    """The name, without the brand ("Aurora X1"), and without brand and series ("Buds Pro",
    "65W 氮化镓充电器") when what is left is still specific (two words, six characters)."""
    words = name.split()
    aliases = [name]
    if len(words) > 1 and words[0].lower() in brands:
        aliases.append(" ".join(words[1:]))
        rest = words[2:]
        if len(rest) >= 2 and len(" ".join(rest)) >= 6:
            aliases.append(" ".join(rest))
    return aliases


def _name_pattern(name: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in re.split(r"[\s\-]+", name.lower()) if word]
    body = r"[\s\-]*".join(words)
    start = r"(?<![a-z0-9])" if re.match(r"[a-z0-9]", words[0]) else ""
    end = r"(?![a-z0-9])" if re.search(r"[a-z0-9]$", words[-1]) else ""
    return re.compile(start + body + end)


def _mask(text: str, span: tuple[int, int]) -> str:
    start, end = span
    return text[:start] + _MASK * (end - start) + text[end:]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def normalize_text(text: str) -> str:
    """NFKC (full-width digits and punctuation become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def extract_order_numbers(text: str) -> tuple[list[str], str]:
    """Order numbers ("DD20241101", "dd 2024 1101", "订单号：20241101") and the masked text."""
    found: list[tuple[int, str]] = []
    for pattern in (_ORDER_WITH_PREFIX, _ORDER_AFTER_KEYWORD):
        for match in pattern.finditer(text):
            digits = re.sub(r"\D", "", match.group(1))
            found.append((match.start(), ORDER_PREFIX + digits))
            text = _mask(text, match.span())
    return _unique(value for _, value in sorted(found)), text


def normalize_order_number(value: str) -> str | None:
    """``value`` as a canonical order number, or None if it is not one."""
    found, _ = extract_order_numbers(normalize_text(value))
    return found[0] if len(found) == 1 else None


def extract_emails(text: str) -> tuple[list[str], str]:
    found = []
    for match in _EMAIL.finditer(text):
        found.append(match.group(0).lower())
        text = _mask(text, match.span())
    return _unique(found), text


def extract_phones(text: str) -> tuple[list[str], str]:
    """Chinese mobiles (with or without +86), 400/800 lines, landlines, international numbers."""
    found: list[tuple[int, str]] = []
    for pattern in (_CN_MOBILE, _SERVICE_LINE, _INTERNATIONAL, _CN_LANDLINE, _NANP):
        for match in pattern.finditer(text):
            raw = match.group(0)
            digits = re.sub(r"\D", "", raw)
            if pattern is _INTERNATIONAL:
                if not 8 <= len(digits) <= 15:
                    continue
                digits = "+" + digits
            elif pattern is _CN_MOBILE:
                digits = digits[-11:]
            found.append((match.start(), digits))
            text = _mask(text, match.span())
    return _unique(value for _, value in sorted(found)), text


def extract_amounts(text: str) -> tuple[list[Amount], str]:
    """Sums of money with a currency ("¥199", "199元", "$20", "20 dollars", "两百元") and
    budgets without one ("3000以内", "under 500")."""
    found: list[tuple[int, Amount]] = []
    for match in _PREFIX_AMOUNT.finditer(text):
        value = parse_number(match.group(2), match.group(3))
        if value is not None:
            currency = _CURRENCY_WORDS[match.group(1)]
            found.append((match.start(), Amount(value, currency, _bound(text, match.span()))))
            text = _mask(text, match.span())
    for match in _SUFFIX_AMOUNT.finditer(text):
        value = parse_number(match.group(1), match.group(2))
        unit = match.group(3)
        if value is None or (unit == "块" and not match.group(1)[0].isdigit()):
            continue
        currency = _CURRENCY_WORDS.get(unit, "CNY")
        found.append((match.start(), Amount(value, currency, _bound(text, match.span()))))
        text = _mask(text, match.span())
    for pattern, number_group in ((_BOUND_BEFORE, 2), (_BOUND_AFTER, 1)):
        for match in pattern.finditer(text):
            value = parse_number(match.group(number_group), match.group(number_group + 1))
            if value is not None:
                found.append((match.start(), Amount(value, None, _bound(text, match.span()))))
                text = _mask(text, match.span())
    return [amount for _, amount in sorted(found, key=lambda pair: pair[0])], text


def _bound(text: str, span: tuple[int, int]) -> str | None:
    before = text[max(0, span[0] - 14) : span[1]]
    after = text[span[0] : span[1] + 3]
    context = before + after
    if any(word in after for word in ("以内", "以下", "之内")):
        return "max"
    if any(word in context for word in _ABOUT_WORDS):
        return "about"
    if any(word in context for word in _MIN_WORDS):
        return "min"
    if any(word in before for word in _MAX_WORDS + _MAX_WORDS_EN):
        return "max"
    return None


def extract_entities(
    text: str, catalogue: ProductCatalogue | None = None, today: date | None = None
) -> Entities:
    """Finds entities in one customer message with rules.

    Args:
        text: the message as the customer wrote it (any mix of Chinese and English).
        catalogue: product names to recognise; None finds no products.
        today: the customer's current date, for "昨天" or "yesterday"; None resolves no
            relative dates.

    Returns:
        The entities, each kind in order of appearance, without duplicates.
    """
    work = normalize_text(text)
    emails, work = extract_emails(work)
    orders, work = extract_order_numbers(work)
    phones, work = extract_phones(work)
    products: list[str] = []
    if catalogue is not None:
        products, work = catalogue.find(work)
    dates, work = find_dates(work, today, mask=_MASK)
    amounts, work = extract_amounts(work)
    found = Entities(
        order_numbers=tuple(orders),
        phones=tuple(phones),
        emails=tuple(emails),
        amounts=tuple(amounts),
        dates=tuple(d.isoformat() for d in dates),
        products=tuple(products),
    )
    if found.is_empty():
        return found
    return replace(found, bare=is_bare(work))


_FILLER = re.compile(
    r"订单编?号|单号|手机号?码?|电话号?码?|邮箱地址|邮箱|是|为|我的|就是|这个|好的|给你|嗯|呢|吧|了|"
    r"(?<![a-z])(?:my|the|order|number|no|phone|email|e-mail|address|it's|it|is|here|"
    r"you go|thanks|please|sure|ok)(?![a-z])|[^a-z0-9\u4e00-\u9fff]"
)
BARE_MAX_CHARS = 2


def is_bare(remaining: str) -> bool:
    """True when what is left of a message once its entities are masked is filler only."""
    return len(_FILLER.sub("", remaining)) <= BARE_MAX_CHARS
