"""Calibrated relevance: the probability that a retrieved chunk answers the question.

Raw retrieval scores are not comparable across queries (RRF and BM25 depend on the query and
the corpus) and not across embedders (e5 cosines crowd into 0.7-0.9, USE cosines spread over
0.1-0.9). The answer policy needs one number with one meaning, so each hit gets

    score = sigmoid(bias + w_dense * cosine + w_lexical * coverage)

where ``cosine`` is the query-chunk cosine and ``coverage`` the idf-weighted share of the
query's words found in the chunk (see :meth:`knowledge.lexical.LexicalIndex.coverage`). The
weights are fitted per embedder by logistic regression by
``benchmarks/retrieval_calibration.py``; how, and the resulting thresholds, are written up in
``benchmarks/results/retrieval_calibration.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


@dataclass(slots=True, frozen=True)
class Calibration:
    """Logistic weights that turn hit features into a relevance probability."""

    bias: float
    dense: float
    lexical: float
    fitted: bool = True
    """False for the generic fallback used with embedders nobody has fitted."""

    def score(self, cosine: float, coverage: float) -> float:
        """Probability in (0, 1) that the hit is relevant."""
        z = self.bias + self.dense * cosine + self.lexical * coverage
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))


CALIBRATIONS: dict[str, Calibration] = {
    "e5-small": Calibration(bias=-24.204, dense=25.36, lexical=5.345),
    "use-m3": Calibration(bias=-6.915, dense=9.658, lexical=6.841),
}
"""Fitted weights per embedder name (see the module docstring)."""

GENERIC = Calibration(bias=-6.0, dense=6.0, lexical=5.0, fitted=False)
"""For embedders without fitted weights: monotone and bounded, but the thresholds' meaning is
only approximate; fit weights for the model with the calibration benchmark."""


def calibration_for(
    embedder_name: str, weights: tuple[float, float, float] | None = None
) -> Calibration:
    """The calibration for an embedder: configured ``weights`` (bias, dense, lexical) first,
    then the fitted table, else :data:`GENERIC` with a warning."""
    if weights is not None:
        bias, dense, lexical = weights
        return Calibration(bias=bias, dense=dense, lexical=lexical)
    found = CALIBRATIONS.get(embedder_name)
    if found is None:
        log.warning("kb.calibration.generic", embedder=embedder_name)
        return GENERIC
    return found
