"""A small neural head over frozen sentence embeddings: one hidden layer, trained with torch.

Why not the logistic regression alone: on clinc150 validation (multilingual-e5-small) the
hidden layer, trained with label smoothing and dropout, raises top-1 in-scope accuracy from
0.961 to 0.965, and above all ranks out-of-scope messages below in-scope ones far better:
the area under the ROC curve of its top probability is 0.983 against 0.966, so at the same
out-of-scope recall (0.80) it keeps 0.955 of the in-scope messages instead of 0.935. Label
smoothing keeps the probabilities from saturating, which is what the out-of-scope
threshold reads.

On SMP-2020 (Chinese, closed set, 20% of train held out) it is no better and no worse:
top-1 0.942 against 0.943 for the logistic regression (804 rows; one row is 0.001).

Tried on the same data and left at the defaults below: 20 instead of 40 epochs (clinc150
0.956 in-scope at 0.80 recall, SMP-2020 0.939 top-1), more dropout (0.2 / 0.5: 0.954),
smoothing 0.2 (0.954), another seed (0.955), 1,024 hidden units (SMP-2020 with USE
embeddings 0.952 vs 0.960). A SetFit-like supervised contrastive loss (SupCon, weight
0.5, temperature 0.1) on the hidden layer next to the cross-entropy made it worse:
clinc150 top-1 0.964, 0.948 in-scope at 0.80 recall; with a cosine classifier SMP-2020
(USE) 0.949 vs 0.960. The embedder itself is not fine-tuned: the bundled e5 is 4-bit.

Cost, measured together on SMP-2020 (4,020 rows): fitting 10.3 s against 2.2 s for the
logistic regression (held-out and final fit); a prediction beyond the embedding 0.30 ms
against 0.37 ms. clinc150 (15,100 rows) fits in about 46 s.

torch is used for training only. The fitted weights are kept as numpy arrays, so a cached
model loads without torch and a prediction is two small matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.special import erf
from torch import nn
from torch.nn import functional as F

Array = NDArray[np.float64]


@dataclass(slots=True, frozen=True)
class HeadOptions:
    """Training settings of :class:`MLPHead` (chosen on clinc150 and SMP-2020 validation)."""

    hidden: int = 512
    input_dropout: float = 0.1
    hidden_dropout: float = 0.3
    label_smoothing: float = 0.1
    epochs: int = 40
    min_steps: int = 300
    """Small sets (an intents YAML) get more epochs, so they see this many updates."""
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


class MLPHead:
    """Embedding -> hidden layer (GELU) -> class logits; an sklearn-like classifier.

    Args:
        options: training settings.
    """

    def __init__(self, options: HeadOptions | None = None) -> None:
        self.options = options or HeadOptions()
        self.classes_: NDArray[np.str_] = np.array([], dtype=str)
        self._weights: tuple[Array, Array, Array, Array] | None = None

    def fit(self, features: Array, labels: Sequence[str] | NDArray[np.str_]) -> MLPHead:
        """Trains on standardised features; returns self."""
        self.classes_, targets = np.unique(np.asarray(labels), return_inverse=True)
        # fork_rng keeps the seed from leaking into the rest of the process. One thread: the
        # layers are too small to gain from more, and on a busy machine torch's spinning
        # threads made fitting ~20 times slower (SMP-2020, held-out and final fit: 342 s with
        # two threads; one such fit took 8 s with one thread).
        with torch.random.fork_rng(devices=[]), torch_threads(1):
            torch.manual_seed(self.options.seed)
            network = self._train(
                torch.as_tensor(features, dtype=torch.float32),
                torch.as_tensor(targets, dtype=torch.long),
            )
        hidden, output = network[1], network[4]
        assert isinstance(hidden, nn.Linear) and isinstance(output, nn.Linear)
        self._weights = tuple(  # type: ignore[assignment]
            p.detach().numpy().astype(np.float64)
            for p in (hidden.weight.T, hidden.bias, output.weight.T, output.bias)
        )
        return self

    def _train(self, inputs: torch.Tensor, targets: torch.Tensor) -> nn.Sequential:
        o = self.options
        network = nn.Sequential(
            nn.Dropout(o.input_dropout),
            nn.Linear(inputs.shape[1], o.hidden),
            nn.GELU(),
            nn.Dropout(o.hidden_dropout),
            nn.Linear(o.hidden, len(self.classes_)),
        )
        per_epoch = math.ceil(len(inputs) / o.batch_size)
        epochs = max(o.epochs, math.ceil(o.min_steps / per_epoch))
        optimiser = torch.optim.AdamW(
            network.parameters(), lr=o.learning_rate, weight_decay=o.weight_decay
        )
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, o.learning_rate, total_steps=epochs * per_epoch
        )
        network.train()
        for _ in range(epochs):
            order = torch.randperm(len(inputs))
            for start in range(0, len(inputs), o.batch_size):
                batch = order[start : start + o.batch_size]
                loss = F.cross_entropy(
                    network(inputs[batch]), targets[batch], label_smoothing=o.label_smoothing
                )
                optimiser.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimiser.step()
                schedule.step()
        return network.eval()

    def decision_function(self, features: Array) -> Array:
        """Class logits, one column per entry of ``classes_``."""
        if self._weights is None:
            raise RuntimeError("the head is not fitted")
        w1, b1, w2, b2 = self._weights
        hidden = np.asarray(features, dtype=np.float64) @ w1 + b1
        return np.asarray(_gelu(hidden) @ w2 + b2)


def _gelu(x: Array) -> Array:
    # The exact (erf) GELU, as torch's nn.GELU computes it.
    return np.asarray(0.5 * x * (1.0 + erf(x / math.sqrt(2.0))))


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Limits torch's intra-op threads for a while (None leaves them as they are)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
