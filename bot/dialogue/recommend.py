"""Product recommendations from the catalogue, shaped by what the customer asked and did.

Ranking, per product of the requested category (all categories when none was named):

- +2 for each wanted feature the product has (tags: "降噪" / "noise cancelling");
- +1.5 when it goes with something the customer bought (an accessory whose description names
  the bought product, found like product names in messages: the case for their phone);
- +1 when the customer asked about it earlier, +0.5 for each tag it shares with a product of
  its category that they asked about, +1 for a category they asked about (only when the
  request names no category);
- +0.5 x price/budget when a budget was given, so the best product within it comes first.

Products over the budget are left out, and so is anything the customer already bought,
unless they ask for it again ("再买一个", "another one"). Ties keep catalogue order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.dialogue.entities import ProductCatalogue, extract_amounts, normalize_text
from bot.texts import say
from core.shop import Catalogue, OrderBook, Product
from core.text import Language

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "phone": ("手机", "phone", "smartphone", "mobile"),
    "laptop": ("笔记本", "电脑", "laptop", "notebook", "computer"),
    "headphones": ("耳机", "耳麦", "headphone", "earbud", "earphone", "headset"),
    "smartwatch": ("手表", "手环", "watch", "smartwatch", "fitness band", "fitness tracker"),
    "tablet": ("平板", "tablet", "pad"),
    "accessory": (
        "配件",
        "充电器",
        "充电宝",
        "移动电源",
        "数据线",
        "保护壳",
        "手写笔",
        "accessory",
        "accessories",
        "charger",
        "power bank",
        "cable",
        "case",
        "stylus",
    ),
    "camera": ("相机", "运动相机", "camera", "vlog"),
    "smart_home": (
        "智能家居",
        "音箱",
        "扫地机",
        "插座",
        "摄像头",
        "smart home",
        "speaker",
        "vacuum",
        "smart plug",
        "security camera",
    ),
}
CATEGORY_NAMES_ZH = {
    "phone": "手机",
    "laptop": "笔记本电脑",
    "headphones": "耳机",
    "smartwatch": "智能手表",
    "tablet": "平板",
    "accessory": "配件",
    "camera": "相机",
    "smart_home": "智能家居",
}
TAG_WORDS: dict[str, tuple[str, ...]] = {
    "noise-cancelling": ("降噪", "noise cancel", "anc"),
    "wireless": ("无线", "wireless", "bluetooth", "蓝牙"),
    "gaming": ("游戏", "电竞", "gaming", "game"),
    "student": ("学生", "上学", "学习", "student", "school", "study"),
    "lightweight": ("轻薄", "轻便", "lightweight", "light"),
    "budget": ("便宜", "性价比", "实惠", "入门", "cheap", "affordable", "budget"),
    "kids": ("儿童", "孩子", "小孩", "kids", "child"),
    "sport": ("运动", "跑步", "健身", "sport", "running", "workout"),
    "waterproof": ("防水", "waterproof"),
    "water-resistant": ("防水", "water resistant", "waterproof"),
    "fast-charging": ("快充", "fast charg"),
    "gift": ("礼物", "送人", "gift", "present"),
    "flagship": ("旗舰", "flagship", "best"),
    "foldable": ("折叠", "foldable", "fold"),
    "long-battery": ("续航", "长续航", "battery life", "long battery"),
    "large-battery": ("续航", "大电池", "battery"),
    "compact": ("小巧", "小屏", "单手", "compact", "small"),
    "large-screen": ("大屏", "large screen", "big screen"),
    "vlog": ("vlog", "拍视频", "视频博主"),
    "creator": ("设计", "剪辑", "创作", "creator", "editing", "design"),
    "health": ("健康", "心率", "睡眠", "health", "heart rate", "sleep"),
    "gps": ("定位", "gps"),
    "portable": ("便携", "portable"),
}
_AGAIN = re.compile(r"再买|再来一|又想买|同款|\bagain\b|\banother one\b|\bsame one\b|\bbuy more\b")
OWNED_STATUSES = ("paid", "shipped", "in_transit", "delivered")


@dataclass(slots=True, frozen=True)
class CustomerHistory:
    """What the recommender knows about one customer."""

    bought: tuple[str, ...] = ()
    """SKUs of orders not cancelled or refunded."""
    asked: tuple[str, ...] = ()
    """SKUs the customer mentioned in the conversation (from entity extraction)."""


@dataclass(slots=True, frozen=True)
class ProductRequest:
    """What the customer asked for, read from their message."""

    category: str | None = None
    budget_max: Decimal | None = None
    tags: tuple[str, ...] = ()
    include_owned: bool = False


@dataclass(slots=True, frozen=True)
class Recommendation:
    product: Product
    score: float = 0.0
    factors: tuple[str, ...] = field(default=())
    budget: Decimal | None = None
    """The customer's budget, when the product is within it."""
    goes_with: Product | None = None
    """A product the customer owns that this one goes with."""

    def reason(self, language: Language) -> str:
        """Why this product, in ``language`` (wording from the text catalog)."""
        return reason_for(self, language)

    @property
    def reason_en(self) -> str:
        return self.reason("en")

    @property
    def reason_zh(self) -> str:
        return self.reason("zh")

    def to_json(self) -> dict[str, Any]:
        return {
            **self.product.to_json(),
            "reason_en": self.reason_en,
            "reason_zh": self.reason_zh,
            "score": round(self.score, 3),
        }


async def customer_history(
    orders: OrderBook, customer_id: str, asked: Iterable[str] = ()
) -> CustomerHistory:
    """The customer's bought products (from their recent orders) and the ones they asked
    about.

    Raises:
        ConnectorError: the order system failed.
    """
    recent = await orders.recent(customer_id)
    bought = [
        item.sku for order in recent if order.status in OWNED_STATUSES for item in order.items
    ]
    return CustomerHistory(tuple(dict.fromkeys(bought)), tuple(dict.fromkeys(asked)))


def _mentions(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z]){re.escape(word)}", text) is not None
    return word in text


def parse_request(
    query_text: str, products: Sequence[Product], category: str | None = None
) -> ProductRequest:
    """Reads category, wanted features, budget and "again" from the customer's words."""
    text = normalize_text(query_text)
    if category is None:
        category = _category_in(text, {p.category for p in products})
    known_tags = {tag for p in products for tag in p.tags}
    tags = [
        tag
        for tag in sorted(known_tags)
        if _mentions(text, tag.replace("-", " "))
        or any(_mentions(text, w) for w in TAG_WORDS.get(tag, ()))
    ]
    amounts, _ = extract_amounts(text)
    budget = next((a.value for a in amounts if a.bound in ("max", "about", None)), None)
    return ProductRequest(
        category=category,
        budget_max=Decimal(str(budget)) if budget else None,
        tags=tuple(tags),
        include_owned=bool(_AGAIN.search(text)),
    )


def _category_in(text: str, categories: set[str]) -> str | None:
    best: tuple[int, str] | None = None
    for category in categories:
        words = (*CATEGORY_WORDS.get(category, ()), category.replace("_", " "))
        for word in words:
            if _mentions(text, word) and (best is None or len(word) > best[0]):
                best = (len(word), category)
    return best[1] if best else None


def rank_products(
    products: Sequence[Product],
    history: CustomerHistory,
    request: ProductRequest,
    k: int = 3,
) -> list[Recommendation]:
    """The ``k`` best products for ``request`` and ``history`` (see the module docstring)."""
    by_sku = {p.sku: p for p in products}
    asked = [by_sku[s] for s in history.asked if s in by_sku]
    owned = [by_sku[s] for s in history.bought if s in by_sku]
    names = ProductCatalogue.from_products(products)
    ranked = []
    for position, product in enumerate(products):
        if request.category and product.category != request.category:
            continue
        if product.sku in history.bought and not request.include_owned:
            continue
        if request.budget_max is not None and product.price > request.budget_max:
            continue
        mentioned = names.find(normalize_text(product.description))[0] if owned else []
        score, factors = _score(product, request, owned, asked, mentioned)
        ranked.append((-score, position, product, factors))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [
        Recommendation(
            product,
            -neg,
            tuple(factors),
            budget=request.budget_max if "budget" in factors else None,
            goes_with=_goes_with(factors, by_sku),
        )
        for neg, _, product, factors in ranked[:k]
    ]


def _score(
    product: Product,
    request: ProductRequest,
    owned: Sequence[Product],
    asked: Sequence[Product],
    mentioned: Sequence[str],
) -> tuple[float, list[str]]:
    factors = [f"tag:{tag}" for tag in request.tags if tag in product.tags]
    score = 2.0 * len(factors)
    for item in owned:
        if item.category != product.category and item.sku in mentioned:
            score += 1.5
            factors.append(f"works_with:{item.sku}")
            break
    if any(item.sku == product.sku for item in asked):
        score += 1.0
        factors.append("asked")
    shared = {
        tag for item in asked if item.category == product.category for tag in item.tags
    }.intersection(product.tags)
    if shared:
        score += 0.5 * len(shared)
        factors.append("similar")
    if request.category is None and any(item.category == product.category for item in asked):
        score += 1.0
        factors.append("interest")
    if request.budget_max:
        score += 0.5 * float(product.price / request.budget_max)
        factors.append("budget")
    return score, factors


def _goes_with(factors: Sequence[str], by_sku: dict[str, Product]) -> Product | None:
    sku = next((f.split(":", 1)[1] for f in factors if f.startswith("works_with:")), None)
    return by_sku[sku] if sku else None


def reason_for(pick: Recommendation, language: Language) -> str:
    """The reason line: matched features, what it goes with, history, budget; a product
    description when none applies; then the price."""
    tags = [f.split(":", 1)[1] for f in pick.factors if f.startswith("tag:")]
    listed = say("shop.recommend.reason.list_joiner", language).join(
        _tag_word(tag, language) for tag in tags
    )
    parts = [listed] if listed else []
    if pick.goes_with is not None:
        product = pick.goes_with.name(language)
        parts.append(say("shop.recommend.reason.goes_with", language, product=product))
    if "asked" in pick.factors:
        parts.append(say("shop.recommend.reason.asked", language))
    elif "interest" in pick.factors or "similar" in pick.factors:
        parts.append(say("shop.recommend.reason.similar", language))
    if pick.budget:
        budget = f"{pick.budget:.0f}"
        parts.append(say("shop.recommend.reason.budget", language, budget=budget))
    reason = say("shop.recommend.reason.joiner", language).join(parts)
    reason = reason or _describe(pick.product, language)
    price = f"¥{pick.product.price:.0f}"
    return say(
        "shop.recommend.reason.priced",
        language,
        reason=reason[:1].upper() + reason[1:],
        price=price,
    )


def _tag_word(tag: str, language: Language) -> str:
    """A feature tag as the customer's language names it (the Chinese words are the ones the
    request parser recognises; other languages read the tag itself)."""
    return TAG_WORDS.get(tag, (tag,))[0] if language == "zh" else tag.replace("-", " ")


def _describe(product: Product, language: Language) -> str:
    """A product in a few words, from the catalogue's own data in that language."""
    if language != "zh":
        return _first_clause(product.description)
    features = [TAG_WORDS[tag][0] for tag in product.tags if tag in TAG_WORDS]
    category = CATEGORY_NAMES_ZH.get(product.category, product.category)
    return "、".join(features[:3]) + f"的{category}" if features else category


def _first_clause(description: str) -> str:
    sentence = description.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= 90 else sentence[:87].rsplit(" ", 1)[0] + "..."


async def recommend(
    catalogue: Catalogue,
    customer_history: CustomerHistory,
    query_text: str,
    category: str | None = None,
    k: int = 3,
) -> list[Recommendation]:
    """Recommends up to ``k`` catalogue products for the customer's request.

    Args:
        catalogue: the products to choose from.
        customer_history: from :func:`customer_history`.
        query_text: the customer's message ("推荐一款降噪耳机，一千以内").
        category: a category chosen elsewhere (a button); None reads it from the text.
        k: how many.

    Returns:
        Best first, each with a one-line reason in English and Chinese; empty when nothing
        fits (for example, nothing within the budget).

    Raises:
        ConnectorError: the product system failed.
    """
    products = await catalogue.products()
    request = parse_request(query_text, products, category)
    return rank_products(products, customer_history, request, k)
