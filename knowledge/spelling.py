"""A customer's misspellings, corrected to the knowledge base's own words.

Chinese typing slips (homophones: 无里由 for 无理由) are :mod:`knowledge.homophones`'s; this
module corrects English words and applies both.

"how long is the warrenty for laptps" shares no word with the warranty entry, so its
coverage, and with it the calibrated score, falls under the bar and the customer hears "I
don't know". A word is corrected only when

- it has at least :data:`MIN_LENGTH` letters (short words are too easily another word),
- neither the knowledge base nor an English dictionary knows it ("essay", "courier" and
  "Guangzhou" are words the knowledge base simply lacks: they stay, and still count against
  an off-topic question; "wasnt" is "wasn't" typed without its apostrophe), and
- a word of the knowledge base is one edit away from it, or two for words of
  :data:`TWO_EDITS_FROM` letters or more (the most frequent such word wins), with the same
  first letter ("unreplied" is not "replied"), and
- English does not read it only as other words ("retreived" is "retrieved", not the
  knowledge base's "received"; "adress" may be "dress" or "address": the knowledge base
  decides).

The edit candidates and the English dictionary are ``pyspellchecker``'s (Peter Norvig's
method; its word list ships with the package, nothing is downloaded).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from spellchecker import SpellChecker

from knowledge.homophones import Homophones

MIN_LENGTH = 5
TWO_EDITS_FROM = 7

_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")


@functools.cache
def _english() -> SpellChecker:
    return SpellChecker(language="en")


class Spelling:
    """Corrects English and Chinese words against one knowledge base's vocabulary.

    Args:
        words: the knowledge base's words and in how many chunks each appears.
    """

    def __init__(self, words: Mapping[str, int]) -> None:
        self._known = SpellChecker(language=None)
        english = {word: n for word, n in words.items() if word.isascii() and word.isalpha()}
        self._known.word_frequency.load_json(english)
        self._homophones = Homophones(words)

    def correct(self, text: str) -> str:
        """``text`` with each misspelt word replaced by the knowledge base's word."""
        text = _WORD.sub(lambda match: self._word(match.group()), text)
        return self._homophones.correct(text)

    def _word(self, word: str) -> str:
        lower = word.lower()
        if len(lower) < MIN_LENGTH or not lower.isalpha() or self._is_a_word(lower):
            return word
        english = _english()
        for distance in (1, 2):
            if distance == 2 and len(lower) < TWO_EDITS_FROM:
                break
            edits = set(
                english.edit_distance_1(lower) if distance == 1 else english.edit_distance_2(lower)
            )
            # a slip is rarely in the first letter: "unreplied" is not "replied"
            ours = {c for c in self._known.known(edits) if c[0] == lower[0]}
            theirs = english.known(edits)
            if theirs and theirs.isdisjoint(ours):
                return word  # "retreived" is "retrieved", not the knowledge base's "received"
            if ours:
                best = max(sorted(ours), key=self._known.word_frequency.__getitem__)
                return best.capitalize() if word[0].isupper() else best
        return word

    def _is_a_word(self, word: str) -> bool:
        """Known to the knowledge base or to English, also as a contraction typed without
        its apostrophe ("wasnt", "youre")."""
        english = _english()
        if word in self._known or word in english:
            return True
        return any(f"{word[:i]}'{word[i:]}" in english for i in range(1, len(word)))
