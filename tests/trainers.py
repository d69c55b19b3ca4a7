"""Trainers built directly from optimizer settings, for the tests of the training kernels."""

from __future__ import annotations

from widecross.losses import LOSSES
from widecross.train import FTRL, SGD, FTRLParams, SGDParams, Trainer

RATES = {False: "plain", 0: "plain", True: "adagrad", 1: "adagrad", 2: "newton"}


def sgd(loss="logistic", eta0=0.1, l1=0.0, l2=0.0, schedule="constant", adaptive=False, layout="sparse", width=None,
        **params) -> Trainer:
    """Lazy proximal SGD: ``schedule`` the global decay, ``adaptive`` False/True (AdaGrad)/2 (Newton)."""
    settings = SGDParams(eta0, l1, l2, decay=schedule, rates=RATES[adaptive], **params)
    return Trainer(SGD(LOSSES[loss], settings), layout=layout, width=width)


def ftrl(loss="logistic", layout="sparse", width=None, **params) -> Trainer:
    return Trainer(FTRL(LOSSES[loss], FTRLParams(**params)), layout=layout, width=width)
