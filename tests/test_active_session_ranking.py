"""The active session's ranking (ActiveSession._label_vector, _refit, next, ranking) on a
hand-made session: a stand-in search, feature space and label store, so that each test runs
in milliseconds (tools/mutation.py runs this file once per mutant; tests/test_active.py
covers the same session end to end on real searches). The references are worked out here:
the anomaly percentile as rank / n, the kernel posterior written out from its formula."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from drama.active.learned_prior import learned_prior
from drama.active.session import ActiveSession, Candidate

# Twelve objects on a line in a 2-D feature space; the search's decision scores are distinct,
# so each object's anomaly percentile is its rank / 12.
COORDS = np.column_stack([np.arange(12.0), np.zeros(12)])
DECISION = np.array([5.0, 1.0, 9.0, 3.0, 12.0, 7.0, 2.0, 11.0, 4.0, 8.0, 6.0, 10.0])
ANOMALY = DECISION / 12.0  # the scores are 1..12, each its own rank
SPACE_BANDWIDTH = 0.7


class _Search:
    """Stands in for DramaSearch: its decision scores, and the labels select() was given."""

    def __init__(self) -> None:
        self.decision_scores_ = DECISION.copy()
        self.weights_ = pd.Series([1.0], index=["none|l2|1|input"])
        self.selection_ = "a label-free consensus"
        self.selected_with: list[np.ndarray | None] = []

    def select(self, y: np.ndarray | None) -> None:
        self.selected_with.append(None if y is None else y.copy())


class _Space:
    def __init__(self, distances: np.ndarray | None = None) -> None:
        self.coords, self.bandwidth = COORDS, SPACE_BANDWIDTH
        self.distances = distances
        self.asked: list[np.ndarray] = []

    def nearest_distance(self, idx: np.ndarray) -> np.ndarray:
        self.asked.append(np.asarray(idx))
        return self.distances


def _session(labels: dict[str, tuple[str, str | None]], *, model: str = "kernel",
             alpha: float = 1.5, bandwidth: float = 2.0, strategy: str = "top",
             distances: np.ndarray | None = None, random_state: int = 0,
             learned_options: dict | None = None,
             learn_features: np.ndarray | None = None) -> ActiveSession:
    """A session over the twelve objects (ids "o0" ... "o11") with these labels (id ->
    (label, class)), ranked once."""
    session = ActiveSession.__new__(ActiveSession)
    session.ids = [f"o{i}" for i in range(12)]
    session._index = {oid: i for i, oid in enumerate(session.ids)}
    current = {oid: (lab, cls, seq) for seq, (oid, (lab, cls)) in enumerate(labels.items())}
    session.store = SimpleNamespace(current=lambda: current)
    session.search_, session.space = _Search(), _Space(distances)
    session._learn_features = (np.hstack([COORDS, ANOMALY[:, None]]) if learn_features is None
                               else learn_features)
    session.model, session.alpha, session.bandwidth = model, alpha, bandwidth
    session.strategy, session.random_state = strategy, random_state
    session.learned_options = dict(learned_options or {})
    return session._refit()


def _posterior(known: list[int], y: list[float], prior: np.ndarray, width: float,
               alpha: float) -> np.ndarray:
    """P(interesting) = (sum of kernel weights of interesting labels + alpha * prior) /
    (sum of all kernel weights + alpha), with a Gaussian kernel of this width."""
    d2 = ((COORDS[:, None, :] - COORDS[known][None, :, :]) ** 2).sum(axis=2)
    weights = np.exp(-d2 / (2 * width**2))
    return (weights @ np.asarray(y) + alpha * prior) / (weights.sum(axis=1) + alpha)


LABELS = {"o3": ("interesting", "merger"), "o8": ("boring", None), "o5": ("interesting", None)}


def test_labels_become_a_vector_and_classes_of_the_tagged_objects():
    session = _session({**LABELS, "o10": ("boring", "artefact")})
    y, tagged = session._label_vector()
    expected = np.full(12, -1)
    expected[[3, 5]], expected[[8, 10]] = 1, 0
    np.testing.assert_array_equal(y, expected)
    assert y.dtype == np.int64
    assert tagged == [(3, "merger"), (10, "artefact")]
    np.testing.assert_array_equal(session.y_, expected)


def test_the_anomaly_percentile_is_the_rank_of_the_search_s_decision_score():
    session = _session({})
    np.testing.assert_allclose(session.anomaly_, ANOMALY)


def test_without_labels_the_ranking_is_the_anomaly_prior_and_no_probability_is_claimed():
    session = _session({})
    assert session.search_.selected_with == [None]
    np.testing.assert_allclose(session.scores_, ANOMALY)
    assert np.isnan(session.p_interesting_).all()
    assert session.ranking()["id"].tolist() == [f"o{i}" for i in np.argsort(-DECISION)]
    assert session.chosen_configurations_ == ["none|l2|1|input"]
    assert session.selection_ == "a label-free consensus"


def test_the_search_reselects_with_the_labels_once_one_is_interesting():
    session = _session(LABELS)
    (given,) = session.search_.selected_with
    np.testing.assert_array_equal(given, session.y_)


def test_boring_labels_alone_leave_the_search_label_free():
    session = _session({"o4": ("boring", None), "o7": ("boring", None)})
    assert session.search_.selected_with == [None]


def test_the_kernel_posterior_uses_both_kinds_of_label_and_the_user_s_bandwidth():
    """Kernel width = the space's bandwidth x the session's; interesting labels count 1,
    boring 0, the prior weighs alpha labelled neighbours."""
    session = _session(LABELS, alpha=1.5, bandwidth=2.0)
    expected = _posterior([3, 8, 5], [1.0, 0.0, 1.0], ANOMALY, SPACE_BANDWIDTH * 2.0, 1.5)
    np.testing.assert_allclose(session.p_interesting_, expected, rtol=1e-12)
    other = _session(LABELS, alpha=1.5, bandwidth=0.5)
    np.testing.assert_allclose(
        other.p_interesting_,
        _posterior([3, 8, 5], [1.0, 0.0, 1.0], ANOMALY, SPACE_BANDWIDTH * 0.5, 1.5), rtol=1e-12)


def test_unlabelled_objects_are_ranked_by_their_posterior():
    session = _session(LABELS)
    free = session.y_ < 0
    np.testing.assert_array_equal(session.scores_[free], session.p_interesting_[free])


def test_labelled_objects_go_to_the_ends_interesting_first_boring_last():
    """An interesting label ranks above every unlabelled object, a boring one below, each
    group in the order of its anomaly percentile, whatever the posterior says."""
    labels = {"o3": ("interesting", None), "o8": ("boring", None), "o5": ("interesting", None),
              "o4": ("boring", None)}  # o4 is the most anomalous object
    session = _session(labels)
    np.testing.assert_allclose(session.scores_[[3, 5]], 2.0 + ANOMALY[[3, 5]])
    np.testing.assert_allclose(session.scores_[[8, 4]], -1.0 + ANOMALY[[8, 4]])
    order = session.ranking()["id"].tolist()
    assert order[:2] == ["o5", "o3"]  # percentiles 7/12 and 3/12
    assert order[-2:] == ["o4", "o8"]  # percentiles 12/12 and 4/12
    assert session.ranking()["label"].tolist()[:2] == ["interesting"] * 2
    assert session.ranking()["label"].tolist()[-2:] == ["boring"] * 2
    assert set(session.ranking()["label"].tolist()[2:-2]) == {""}


def test_the_ranking_lists_every_object_with_its_scores_and_keeps_ties_in_input_order():
    session = _session({})
    session.scores_ = np.array([0.5, 0.9, 0.5, 0.5, 0.9, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    frame = session.ranking()
    assert frame["id"].tolist() == ["o1", "o4", "o0", "o2", "o3", "o6", "o7", "o8", "o9",
                                    "o10", "o11", "o5"]
    assert list(frame.columns) == ["id", "score", "anomaly", "p_interesting", "label",
                                   "predicted_class", "class_confidence"]
    np.testing.assert_allclose(frame["anomaly"], ANOMALY[[1, 4, 0, 2, 3, 6, 7, 8, 9, 10, 11, 5]])


def test_a_labelled_object_keeps_its_own_class_and_others_get_the_nearest_tag():
    session = _session(LABELS)
    assert session.classes_[3] == "merger" and session.class_confidence_[3] == 1.0
    # o2 and o4 are next to the only tagged object: its class, with less than certainty
    assert session.classes_[2] == session.classes_[4] == "merger"
    assert 0 < session.class_confidence_[2] < 1
    # the vote uses the session's kernel width: one tag at distance 1, alpha 0.2 votes
    width = SPACE_BANDWIDTH * 2.0
    vote = np.exp(-1 / (2 * width**2))
    assert session.class_confidence_[2] == pytest.approx(vote / (vote + 0.2))
    frame = session.predict_class(["o3", "o2"])
    assert frame["predicted_class"].tolist() == ["merger", "merger"]


def test_the_logistic_model_learns_its_prior_from_the_session_s_features():
    """model="logistic": the kernel's prior is the learned prior on the session's features
    (boring-alone models on the relevance space's coordinates)."""
    labels = {"o3": ("interesting", None), "o8": ("boring", None), "o1": ("boring", None)}
    features = np.column_stack([np.arange(12.0) % 3, ANOMALY])
    session = _session(labels, model="logistic", learn_features=features)
    y = session.y_
    prior = learned_prior(features, y, ANOMALY, boring_features=COORDS, random_state=0)
    assert not np.allclose(prior, ANOMALY)
    expected = _posterior([3, 8, 1], [1.0, 0.0, 0.0], prior, SPACE_BANDWIDTH * 2.0, 1.5)
    np.testing.assert_allclose(session.p_interesting_, expected, rtol=1e-12)


def test_the_learned_prior_gets_the_session_s_seed_and_options():
    """The unlabelled sample of the logistic model is drawn with the session's seed and
    size (here 2 of the 9 unlabelled objects, so the draw matters)."""
    labels = {"o3": ("interesting", None), "o8": ("boring", None), "o1": ("boring", None)}
    features = np.random.default_rng(1).normal(size=(12, 3))
    session = _session(labels, model="logistic", learn_features=features, random_state=1,
                       learned_options={"n_unlabelled": 2})
    prior = learned_prior(features, session.y_, ANOMALY, boring_features=COORDS,
                          random_state=1, n_unlabelled=2)
    others = [learned_prior(features, session.y_, ANOMALY, boring_features=COORDS, **opts)
              for opts in ({"random_state": 0, "n_unlabelled": 2}, {"random_state": 1})]
    assert not any(np.allclose(prior, other) for other in others)
    expected = _posterior([3, 8, 1], [1.0, 0.0, 0.0], prior, SPACE_BANDWIDTH * 2.0, 1.5)
    np.testing.assert_allclose(session.p_interesting_, expected, rtol=1e-12)


def test_boring_labels_alone_learn_on_the_relevance_space_coordinates():
    """Five boring labels and no interesting one: the boring-alone model, fitted on the
    feature space's coordinates, not on the features with DRAMA's percentiles."""
    labels = {f"o{i}": ("boring", None) for i in (4, 7, 11, 2, 9)}
    features = np.column_stack([np.arange(12.0) % 3, ANOMALY])
    session = _session(labels, model="logistic", learn_features=features)
    prior = learned_prior(features, session.y_, ANOMALY, boring_features=COORDS,
                          random_state=0)
    assert not np.allclose(prior, learned_prior(features, session.y_, ANOMALY, random_state=0))
    expected = _posterior([4, 7, 11, 2, 9], [0.0] * 5, prior, SPACE_BANDWIDTH * 2.0, 1.5)
    np.testing.assert_allclose(session.p_interesting_, expected, rtol=1e-12)


def test_next_proposes_the_best_unlabelled_objects_with_their_reasons():
    session = _session(LABELS)
    picks = session.next(3)
    free = np.flatnonzero(session.y_ < 0)
    best = free[np.argsort(-session.scores_[free], kind="stable")[:3]]
    assert [c.id for c in picks] == [f"o{i}" for i in best]
    first, i = picks[0], best[0]
    assert first == Candidate(
        id=f"o{i}", score=float(session.scores_[i]), anomaly=float(ANOMALY[i]),
        p_interesting=float(session.p_interesting_[i]),
        reason=(f"top score: anomaly percentile {ANOMALY[i]:.3f}, "
                f"P(interesting) {session.p_interesting_[i]:.2f}"),
        predicted_class=session.classes_[i], class_confidence=float(session.class_confidence_[i]))


def test_next_without_labels_names_no_probability():
    picks = _session({}).next(2)
    assert [c.id for c in picks] == ["o4", "o7"]
    assert picks[0].reason == "top score: anomaly percentile 1.000"
    assert np.isnan(picks[0].p_interesting)


def test_next_asks_for_at_most_the_unlabelled_objects():
    session = _session(LABELS)
    assert len(session.next()) == 1  # one at a time by default
    assert len(session.next(50)) == 9
    assert session.next(0) == [] and session.next(-3) == []
    everyone = _session({f"o{i}": ("boring", None) for i in range(12)})
    assert everyone.next(1) == []


def test_next_explores_far_from_the_labels_with_the_balanced_strategy():
    """Three labels asked: the 4th query explores, the most anomalous object more than two
    kernel widths from every label (the distances come from the feature space, measured to
    the labelled objects)."""
    distances = np.array([3.0, 0.1, 2.5, 0.0, 1.0, 0.0, 0.4, 0.5, 0.0, 2.1, 3.5, 1.9])
    session = _session(LABELS, strategy="balanced", distances=distances)
    (pick,) = session.next(1)
    # beyond 2 widths: o0 (5/12), o2 (9/12), o9 (8/12), o10 (6/12): o2 is the most anomalous
    assert pick.id == "o2" and pick.reason.startswith("explore: anomalous object")
    (asked,) = session.space.asked
    np.testing.assert_array_equal(asked, [3, 5, 8])
    assert session.next(1, strategy="top")[0].reason.startswith("top score")


def test_next_refuses_an_unknown_strategy():
    with pytest.raises(ValueError, match="Unknown strategy 'best'; choose one of top, balanced"):
        _session(LABELS).next(1, strategy="best")
