"""What the labels teach the active session, on small examples whose answer is known:
the class votes, the logistic model's share and direction, and the checked options."""

from __future__ import annotations

import math

import numpy as np
import pytest

import drama.active.learned_prior as learned_module
from drama.active.learned_prior import class_votes, learned_prior, resolve_learned_options
from drama.ranks import rank_normalise

# ---------------------------------------------------------------- class votes


def _votes_by_hand(point, tagged, classes, width, alpha):
    """The proposed class and confidence of one object, one Gaussian vote at a time."""
    votes: dict[str, float] = {}
    for row, tag in zip(tagged, classes, strict=True):
        sq = sum((a - b) ** 2 for a, b in zip(point, row, strict=True))
        votes[tag] = votes.get(tag, 0.0) + math.exp(-sq / (2 * width * width))
    best = max(sorted(votes), key=lambda c: votes[c])
    return best, votes[best] / (sum(votes.values()) + alpha)


@pytest.mark.parametrize("alpha", [0.2, 0.0, 1.5])
@pytest.mark.parametrize("chunk_rows", [8192, 2])
def test_class_votes_are_kernel_votes_of_the_tagged_labels(monkeypatch, alpha, chunk_rows):
    # the answer does not depend on how many rows are done at a time
    monkeypatch.setattr(learned_module, "KERNEL_CHUNK_ROWS", chunk_rows)
    tagged = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 0.5], [3.0, 1.0]])
    classes = ["star", "galaxy", "star", "quasar"]
    coords = np.array([[0.0, 0.0], [3.0, 0.4], [1.5, 0.0], [9.0, 9.0], [2.0, 1.0]])
    proposed, confidence = class_votes(coords, tagged, classes, width=0.8, alpha=alpha)
    for point, got_class, got_confidence in zip(coords, proposed, confidence, strict=True):
        want_class, want_confidence = _votes_by_hand(point, tagged, classes, 0.8, alpha)
        assert got_class == want_class
        assert got_confidence == pytest.approx(want_confidence, rel=1e-12, abs=1e-300)
    assert list(proposed[:2]) == ["star", "galaxy"]
    # every row is computed, whatever its place: the rows in reverse give the answers in reverse
    back_class, back_confidence = class_votes(coords[::-1], tagged, classes, 0.8, alpha)
    assert list(back_class) == list(proposed[::-1])
    assert np.allclose(back_confidence, confidence[::-1], rtol=1e-12, atol=0)


def test_class_votes_default_to_a_fifth_of_a_vote_for_none_of_these():
    tagged = np.array([[0.0], [0.0]])
    proposed, confidence = class_votes(np.array([[0.0]]), tagged, ["a", "a"], width=1.0)
    assert list(proposed) == ["a"]
    assert confidence[0] == pytest.approx(2.0 / 2.2)


def test_without_tagged_labels_no_class_is_proposed():
    proposed, confidence = class_votes(np.zeros((3, 2)), np.zeros((0, 2)), [], width=1.0)
    assert list(proposed) == [None, None, None]
    assert np.array_equal(confidence, np.zeros(3))


# ---------------------------------------------------------------- learned prior


def _line(n=200, seed=0):
    """One feature: a logistic model on it ranks the objects along it, one way or the other."""
    x = np.random.default_rng(seed).normal(size=n)
    prior = np.random.default_rng(seed + 1).uniform(size=n)
    return x, prior, np.full(n, -1)


def test_the_learned_prior_starts_at_one_label_of_each_kind():
    """One interesting and one boring label already train the logistic model (the earlier
    default waited for two of each)."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 4))
    prior = rng.uniform(size=200)
    y = np.full(200, -1)
    y[0], y[1] = 1, 0
    assert np.array_equal(learned_prior(features, y, prior, min_each=2), prior)
    mixed = learned_prior(features, y, prior)
    assert not np.allclose(mixed, prior)
    # toward what the labels say: the boring object falls, and the interesting one gains
    # on it (with the default C = 0.1 one label of each kind is a weak lesson)
    assert mixed[1] < prior[1]
    assert mixed[0] - prior[0] > mixed[1] - prior[1] + 0.05


def _reference(features, groups, shares, C=1.0):
    """The documented model, fitted here: a logistic regression of the first group (target
    1) against the others (target 0), each group's share of the weight spread evenly over
    its rows, the weights scaled to sum to (rows) x (sum of the shares)."""
    from sklearn.linear_model import LogisticRegression

    rows = np.concatenate(groups)
    target = np.concatenate([np.full(len(g), float(j == 0)) for j, g in enumerate(groups)])
    weight = np.concatenate([np.full(len(g), share / len(g))
                             for g, share in zip(groups, shares, strict=True)])
    model = LogisticRegression(C=C, max_iter=10_000, tol=1e-10)
    model.fit(features[rows], target, sample_weight=weight * len(rows))
    return rank_normalise(model.decision_function(features))


def _same_ranking(got, want):
    """Equal ranks, but for neighbours that the solver's tolerance may swap (one rank apart)."""
    return np.abs(got - want).max() <= 1.0 / len(got) + 1e-12


def test_the_learned_model_is_the_documented_weighted_logistic_regression():
    rng = np.random.default_rng(5)
    features = rng.normal(size=(40, 2))
    prior = rng.uniform(size=40)
    y = np.full(40, -1)
    y[:8] = 0  # every other object is unlabelled and, with n_unlabelled >= 31, in the sample
    y[8] = 1
    free = np.arange(9, 40)
    kw = {"max_weight": 1.0, "half_weight_at": 0.0}
    for weight, C in ((0.2, 1.0), (3.0, 0.1)):
        got = learned_prior(features, y, prior, unlabelled_weight=weight, C=C, **kw)
        want = _reference(features, [np.array([8]), np.arange(8), free], [0.5, 0.5, weight], C)
        assert _same_ranking(got, want)
    # boring labels alone: the unlabelled (target 1) against the boring ones, half and half
    y[8] = -1
    free = np.arange(8, 40)
    got = learned_prior(features, y, prior, C=1.0, **kw)
    want = rank_normalise(prior * _reference(features, [free, np.arange(8)], [0.5, 0.5], 1.0))
    assert _same_ranking(got, want)


def test_the_labels_and_the_sample_weigh_as_their_shares_say():
    """The interesting label lies between the boring one (above) and the unlabelled bulk
    (below): which way the model turns depends only on how the boring label's share (0.5)
    weighs against the sample's. The turning point of the documented model, found on the
    reference fit, is where the session's model turns too."""
    x, prior, y = _line()
    y[np.argsort(-x)[3]], y[np.argsort(-x)[0]] = 1, 0
    groups = [np.flatnonzero(y == 1), np.flatnonzero(y == 0), np.flatnonzero(y < 0)]

    def upward(weight):
        return _reference(x[:, None], groups, [0.5, 0.5, weight])[np.argmax(x)] == 1.0

    low, high = 0.0, 50.0
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (low, middle) if upward(middle) else (middle, high)
    kw = {"max_weight": 1.0, "half_weight_at": 0.0}
    below = learned_prior(x[:, None], y, prior, unlabelled_weight=low * 0.8, **kw)
    above = learned_prior(x[:, None], y, prior, unlabelled_weight=high * 1.25, **kw)
    assert np.allclose(below, rank_normalise(-x))
    assert np.allclose(above, rank_normalise(x))


def test_the_unlabelled_sample_holds_no_labelled_object():
    """One unlabelled object, far below, heavily weighted: the model says "high is
    interesting". Were a boring label (above the interesting one) drawn instead, it would say
    the opposite."""
    x = np.array([-5.0, 1.0, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 2.8])
    y = np.array([-1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    prior = np.full(11, 0.5)
    for seed in range(5):
        learned = learned_prior(x[:, None], y, prior, n_unlabelled=1, unlabelled_weight=50.0,
                                max_weight=1.0, half_weight_at=0.0, random_state=seed)
        assert np.allclose(learned, rank_normalise(x))


def test_left_out_arguments_are_the_documented_defaults():
    rng = np.random.default_rng(6)
    features = rng.normal(size=(400, 3))  # more objects than the 300 of the sample
    prior = rng.uniform(size=400)
    y = np.full(400, -1)
    y[:3], y[3:6] = 1, 0
    by_default = learned_prior(features, y, prior)
    spelled_out = learned_prior(features, y, prior, **DEFAULTS, random_state=0)
    assert np.array_equal(by_default, spelled_out)
    # the sample is drawn from the seed: another seed, another sample, another model
    assert not np.array_equal(by_default, learned_prior(features, y, prior, random_state=1))


def test_interesting_labels_alone_change_nothing():
    x, prior, y = _line()
    y[np.argsort(-x)[:6]] = 1
    assert np.array_equal(learned_prior(x[:, None], y, prior, min_boring_alone=1), prior)


def test_the_model_ranks_along_what_separates_interesting_from_boring():
    x, prior, y = _line()
    y[np.argmax(x)], y[np.argmin(x)] = 1, 0
    learned = learned_prior(x[:, None], y, prior, max_weight=1.0, half_weight_at=0.0)
    assert np.allclose(learned, rank_normalise(x))
    y[np.argmax(x)], y[np.argmin(x)] = 0, 1
    learned = learned_prior(x[:, None], y, prior, max_weight=1.0, half_weight_at=0.0)
    assert np.allclose(learned, rank_normalise(-x))


def test_the_models_share_grows_with_the_labels_as_documented():
    """share = max_weight * n / (n + half_weight_at) for n labels; the rest is the prior."""
    x, prior, y = _line()
    order = np.argsort(-x)
    y[order[:2]], y[order[-3:]] = 1, 0
    alone = learned_prior(x[:, None], y, prior, max_weight=1.0, half_weight_at=0.0)
    for max_weight, half_weight_at in ((0.95, 3.0), (0.5, 10.0), (0.8, 5.0)):
        share = max_weight * 5 / (5 + half_weight_at)
        mixed = learned_prior(x[:, None], y, prior, max_weight=max_weight,
                              half_weight_at=half_weight_at)
        assert np.allclose(mixed, (1 - share) * prior + share * alone)
    default = learned_prior(x[:, None], y, prior)
    assert np.allclose(default, (1 - 0.95 * 5 / 8) * prior + 0.95 * 5 / 8 * alone)
    assert np.array_equal(learned_prior(x[:, None], y, prior, max_weight=0.0), prior)


def test_unlabelled_objects_enter_as_weak_negatives_with_their_weight():
    """The interesting label lies *below* the boring one, but both above the bulk: weighted
    enough, the unlabelled bulk (negatives) turns the model toward "high is interesting"."""
    x, prior, y = _line()
    y[np.argsort(-x)[3]], y[np.argsort(-x)[0]] = 1, 0
    kw = {"max_weight": 1.0, "half_weight_at": 0.0}
    labels_only = learned_prior(x[:, None], y, prior, unlabelled_weight=0.0, **kw)
    assert np.allclose(labels_only, rank_normalise(-x))
    heavy = learned_prior(x[:, None], y, prior, unlabelled_weight=50.0, **kw)
    assert np.allclose(heavy, rank_normalise(x))
    no_sample = learned_prior(x[:, None], y, prior, unlabelled_weight=50.0, n_unlabelled=0, **kw)
    assert np.allclose(no_sample, rank_normalise(-x))
    # the sample is drawn reproducibly from the seed
    again = learned_prior(x[:, None], y, prior, unlabelled_weight=50.0, **kw)
    assert np.array_equal(heavy, again)


def test_boring_labels_alone_train_a_model_of_what_is_boring():
    """Before any interesting label, five boring ones (all high in feature 0) teach the
    learned model that high feature 0 is boring: such objects fall, the others rise."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 3))
    prior = np.full(300, 0.5)
    y = np.full(300, -1)
    boring = np.argsort(-features[:, 0])[:5]
    y[boring] = 0
    assert np.array_equal(learned_prior(features, y, prior, min_boring_alone=0), prior)
    mixed = learned_prior(features, y, prior)  # from 5 boring labels on, by default
    high = np.argsort(-features[:, 0])[5:30]
    low = np.argsort(features[:, 0])[:25]
    assert mixed[high].mean() < 0.5 < mixed[low].mean()
    assert np.array_equal(learned_prior(features, y, prior, min_boring_alone=6), prior)
    # the smallest positive threshold: one boring label is enough
    y[boring[1:]] = -1
    assert not np.allclose(learned_prior(features, y, prior, min_boring_alone=1), prior)


def test_boring_labels_alone_give_the_prior_times_unlike_the_boring_ones():
    x, prior, y = _line()
    y[np.argsort(-x)[:5]] = 0
    kw = {"max_weight": 1.0, "half_weight_at": 0.0}
    learned = learned_prior(x[:, None], y, prior, **kw)
    assert np.allclose(learned, rank_normalise(prior * rank_normalise(-x)))
    # on the boring features when given: another feature, on which the boring ones are low
    other = np.random.default_rng(9).normal(size=len(x))
    other[y == 0] = -3.0
    on_other = learned_prior(x[:, None], y, prior, boring_features=other[:, None], **kw)
    assert np.allclose(on_other, rank_normalise(prior * rank_normalise(other)))
    share = 0.95 * 5 / 8
    mixed = learned_prior(x[:, None], y, prior)
    assert np.allclose(mixed, (1 - share) * prior + share * learned)


def test_boring_features_are_only_for_the_boring_alone_model():
    x, prior, y = _line()
    y[np.argmax(x)], y[np.argmin(x)] = 1, 0
    learned = learned_prior(x[:, None], y, prior, boring_features=-x[:, None],
                            max_weight=1.0, half_weight_at=0.0)
    assert np.allclose(learned, rank_normalise(x))


def test_boring_labels_alone_do_not_lift_the_least_anomalous():
    """The learned share is the prior times "unlike the boring ones": the least anomalous
    objects, as unlike the boring ones as can be, stay in the bottom half (a model of
    "unlike the boring ones" alone would put them above the middle)."""
    rng = np.random.default_rng(1)
    features = rng.normal(size=(300, 2))
    prior = rank_normalise(features[:, 0])
    y = np.full(300, -1)
    y[np.argsort(-features[:, 0])[:5]] = 0
    mixed = learned_prior(features, y, prior)
    least = np.argsort(prior)[:30]
    assert mixed[least].mean() < np.median(mixed)


def test_stronger_regularisation_pulls_the_model_toward_the_unlabelled_sample():
    """C is the inverse regularisation strength: with two features, one that the labels
    separate and one that they do not, a tiny C leaves the model nearly flat, a large C
    follows the labels."""
    rng = np.random.default_rng(4)
    features = rng.normal(size=(300, 2))
    y = np.full(300, -1)
    y[np.argsort(-features[:, 0])[:4]] = 1
    y[np.argsort(features[:, 0])[:4]] = 0
    prior = np.full(300, 0.5)
    kw = {"max_weight": 1.0, "half_weight_at": 0.0}
    strong = learned_prior(features, y, prior, C=100.0, **kw)
    weak = learned_prior(features, y, prior, C=1e-6, **kw)
    assert not np.allclose(strong, weak)
    assert np.allclose(learned_prior(features, y, prior, **kw),
                       learned_prior(features, y, prior, C=0.1, **kw))


# ---------------------------------------------------------------- options

DEFAULTS = {"min_each": 1, "min_boring_alone": 5, "n_unlabelled": 300, "max_weight": 0.95,
            "half_weight_at": 3.0, "unlabelled_weight": 0.2, "C": 0.1}


def test_options_left_out_take_the_documented_defaults():
    for given in (None, {}):
        assert resolve_learned_options(given) == DEFAULTS


def test_equal_settings_written_differently_resolve_alike():
    resolved = resolve_learned_options({"half_weight_at": 3, "min_each": np.int64(2),
                                        "max_weight": 1, "C": np.float32(0.5)})
    assert resolved == {**DEFAULTS, "half_weight_at": 3.0, "min_each": 2, "max_weight": 1.0,
                        "C": 0.5}
    assert type(resolved["half_weight_at"]) is float and type(resolved["min_each"]) is int
    assert type(resolved["max_weight"]) is float
    # the smallest allowed values are allowed
    edge = {"min_each": 1, "min_boring_alone": 0, "n_unlabelled": 0, "max_weight": 0.0,
            "half_weight_at": 0.0, "unlabelled_weight": 0.0}
    assert resolve_learned_options(edge) == {**DEFAULTS, **edge}


def test_unknown_options_are_named_with_the_choices():
    with pytest.raises(ValueError) as caught:
        resolve_learned_options({"depth": 2, "alpha": 1})
    assert str(caught.value) == (
        "Unknown learned_options ['alpha', 'depth']; choose from C, half_weight_at, "
        "max_weight, min_boring_alone, min_each, n_unlabelled, unlabelled_weight.")


@pytest.mark.parametrize(("name", "value", "bound"), [
    ("min_each", 0, ">= 1 (an integer)"),
    ("min_each", 1.5, ">= 1 (an integer)"),
    ("min_each", True, ">= 1 (an integer)"),
    ("min_each", "1", ">= 1 (an integer)"),
    ("min_boring_alone", -1, ">= 0 (an integer)"),
    ("n_unlabelled", -1, ">= 0 (an integer)"),
    ("max_weight", -0.01, "in [0, 1]"),
    ("max_weight", 1.01, "in [0, 1]"),
    ("max_weight", float("nan"), "in [0, 1]"),
    ("half_weight_at", -0.5, ">= 0.0"),
    ("half_weight_at", float("nan"), ">= 0.0"),
    ("unlabelled_weight", -1.0, ">= 0.0"),
    ("unlabelled_weight", float("nan"), ">= 0.0"),
    ("C", 0.0, "> 0"),
    ("C", -1.0, "> 0"),
    ("C", float("nan"), "> 0"),
    ("C", False, "> 0"),
])
def test_a_bad_option_is_refused_with_its_bound(name, value, bound):
    with pytest.raises(ValueError) as caught:
        resolve_learned_options({name: value})
    assert str(caught.value) == f"learned_options[{name!r}] must be {bound}; got {value!r}."
