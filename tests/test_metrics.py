"""Hand-computed checks of the measures of docs/algorithm.md#evaluation and their input errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drama.metrics import (
    auc_score,
    average_precision,
    discovery_curve,
    evaluate,
    mcc_score,
    precision_at_k,
    ranking,
    rws_score,
)

# A perfect ranking: the two anomalies have the two highest scores.
Y_PERFECT = np.array([1, 1, 0, 0, 0])
S_PERFECT = np.array([0.9, 0.8, 0.3, 0.2, 0.1])

# N_o = 2; the ranking is 0.9 (normal), 0.8 (anomaly), 0.3 (anomaly), 0.2, 0.1 (normal):
# the only anomaly in the top two sits at rank 2.
Y_MIXED = np.array([0, 1, 0, 0, 1])
S_MIXED = np.array([0.9, 0.8, 0.1, 0.2, 0.3])


def test_perfect_ranking_scores_one_everywhere():
    assert auc_score(Y_PERFECT, S_PERFECT) == 1.0
    assert mcc_score(Y_PERFECT, S_PERFECT) == pytest.approx(1.0)
    assert rws_score(Y_PERFECT, S_PERFECT) == 1.0
    assert rws_score(Y_PERFECT, S_PERFECT, legacy=True) == 1.0
    assert average_precision(Y_PERFECT, S_PERFECT) == 1.0
    assert precision_at_k(Y_PERFECT, S_PERFECT, 2) == 1.0
    np.testing.assert_array_equal(discovery_curve(Y_PERFECT, S_PERFECT), [1, 2, 2, 2, 2])


def test_reversed_ranking_scores_worst():
    assert auc_score(Y_PERFECT, -S_PERFECT) == 0.0
    assert rws_score(Y_PERFECT, -S_PERFECT) == 0.0
    # Two normals flagged: TP=0, FP=2, FN=2, TN=1 -> (0 - 4) / sqrt(2*2*3*3) = -2/3.
    assert mcc_score(Y_PERFECT, -S_PERFECT) == pytest.approx(-2 / 3)


def test_mixed_ranking_by_hand():
    # Anomalies 0.8 and 0.3 each beat 2 of the 3 normals: AUC = 4/6.
    assert auc_score(Y_MIXED, S_MIXED) == pytest.approx(2 / 3)
    # Oracle flags {0, 1}: TP=1, FP=1, FN=1, TN=2 -> (2 - 1) / sqrt(2*2*3*3) = 1/6.
    assert mcc_score(Y_MIXED, S_MIXED) == pytest.approx(1 / 6)
    # Weights (2, 1) for ranks (1, 2), hit at rank 2 only.
    assert rws_score(Y_MIXED, S_MIXED) == pytest.approx(1 / 3)
    assert rws_score(Y_MIXED, S_MIXED, legacy=True) == pytest.approx(2 / 3)
    # Precision 1/2 at the first hit, 2/3 at the second: AP = (1/2 + 2/3) / 2.
    assert average_precision(Y_MIXED, S_MIXED) == pytest.approx(7 / 12)
    assert precision_at_k(Y_MIXED, S_MIXED, 1) == 0.0
    assert precision_at_k(Y_MIXED, S_MIXED, 2) == 0.5
    assert precision_at_k(Y_MIXED, S_MIXED, 3) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(discovery_curve(Y_MIXED, S_MIXED), [0, 1, 2, 2, 2])
    np.testing.assert_array_equal(discovery_curve(Y_MIXED, S_MIXED, budget=2), [0, 1])


def test_rws_three_anomalies_weights():
    y = np.array([1, 0, 1, 0, 1, 0])
    # Ranks 1..6 are the objects in order; top N_o = 3 holds anomalies at ranks 1 and 3.
    s = np.array([6.0, 5, 4, 3, 2, 1])
    assert rws_score(y, s) == pytest.approx((3 + 1) / 6)
    assert rws_score(y, s, legacy=True) == pytest.approx((1 + 3) / 6)
    # Anomalies at ranks 1 and 2: top-weighted (3 + 2) / 6, legacy (1 + 2) / 6.
    y2 = np.array([1, 1, 0, 0, 1, 0])
    assert rws_score(y2, s) == pytest.approx(5 / 6)
    assert rws_score(y2, s, legacy=True) == pytest.approx(3 / 6)


def test_mcc_threshold_and_contamination():
    # s > 0.5 flags {0, 1}: same as the oracle here.
    assert mcc_score(Y_MIXED, S_MIXED, threshold=0.5) == pytest.approx(1 / 6)
    # s > 0.25 flags {0, 1, 4}: TP=2, FP=1, FN=0, TN=2 -> 4 / sqrt(3*2*3*2) = 2/3.
    assert mcc_score(Y_MIXED, S_MIXED, threshold=0.25) == pytest.approx(2 / 3)
    assert mcc_score(Y_MIXED, S_MIXED, contamination=0.6) == pytest.approx(2 / 3)
    # Nothing flagged: sklearn's convention gives 0.
    assert mcc_score(Y_MIXED, S_MIXED, threshold=10.0) == 0.0


def test_contamination_rounding_does_not_flag_one_too_many():
    # 0.1 * 30 is 3.0000000000000004 in floating point; exactly 3 objects must be flagged.
    y = np.zeros(30, dtype=int)
    y[:3] = 1
    s = np.arange(30, 0, -1, dtype=float)
    assert mcc_score(y, s, contamination=0.1) == pytest.approx(1.0)


def test_ties_are_broken_by_input_order():
    np.testing.assert_array_equal(ranking([1.0, 2.0, 2.0, 1.0]), [1, 2, 0, 3])
    assert rws_score([0, 1], [1.0, 1.0]) == 0.0
    assert rws_score([1, 0], [1.0, 1.0]) == 1.0
    assert mcc_score([1, 0], [1.0, 1.0]) == pytest.approx(1.0)
    # AUC counts ties as half, independent of order.
    assert auc_score([0, 1], [1.0, 1.0]) == 0.5


def test_evaluate_returns_all_measures():
    out = evaluate(Y_MIXED, S_MIXED)
    assert set(out) == {"auc", "mcc", "rws", "ap"}
    assert out["auc"] == pytest.approx(2 / 3)
    assert out["mcc"] == pytest.approx(1 / 6)
    assert out["rws"] == pytest.approx(1 / 3)
    assert out["ap"] == pytest.approx(7 / 12)
    assert all(isinstance(v, float) for v in out.values())


def test_accepts_lists_bools_and_pandas():
    pd = pytest.importorskip("pandas")
    y = pd.Series([True, True, False, False, False])
    assert auc_score(y, list(S_PERFECT)) == 1.0
    assert rws_score(np.array([1.0, 1.0, 0.0, 0.0, 0.0]), S_PERFECT) == 1.0


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 1, 0], [0.1, 0.2], "3 labels but scores has 2"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "only normal objects"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "only anomalies"),
        ([0, 1, 0], [0.1, np.nan, 0.3], "NaN or infinite"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "only 0 \\(normal\\) and 1"),
        ([0, 1, -1], [0.1, 0.2, 0.3], "Map your labels"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
        ([], [], "empty"),
    ],
)
def test_auc_bad_input(y, s, match):
    with pytest.raises(ValueError, match=match):
        auc_score(y, s)


def test_scores_must_be_one_dimensional():
    with pytest.raises(ValueError, match="predict_proba"):
        evaluate([0, 1], np.ones((2, 2)))


def test_non_numeric_labels_and_scores_raise_type_error():
    with pytest.raises(TypeError, match="0/1"):
        auc_score(["a", "b"], [0.1, 0.2])
    with pytest.raises(TypeError, match="numbers"):
        auc_score([0, 1], ["x", "y"])


def test_option_errors():
    with pytest.raises(ValueError, match="not both"):
        mcc_score(Y_MIXED, S_MIXED, threshold=0.5, contamination=0.1)
    for bad in (0.0, 1.5, -0.1, True):
        with pytest.raises(ValueError, match="contamination"):
            mcc_score(Y_MIXED, S_MIXED, contamination=bad)
    with pytest.raises(ValueError, match="threshold"):
        mcc_score(Y_MIXED, S_MIXED, threshold=float("nan"))
    with pytest.raises(ValueError, match="no anomalies"):
        rws_score([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="no anomalies"):
        average_precision([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="between 1 and"):
        precision_at_k(Y_MIXED, S_MIXED, 0)
    with pytest.raises(ValueError, match="between 1 and"):
        precision_at_k(Y_MIXED, S_MIXED, 6)
    with pytest.raises(TypeError, match="whole number"):
        precision_at_k(Y_MIXED, S_MIXED, 1.5)
    with pytest.raises(ValueError, match="between 1 and"):
        discovery_curve(Y_MIXED, S_MIXED, budget=10)


@st.composite
def labelled_scores(draw):
    """Labels with both classes and scores drawn from few values, so ties are common."""
    n = draw(st.integers(2, 40))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    y[0], y[1] = 1, 0  # both classes present
    s = draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
    perm = draw(st.permutations(range(n)))
    return np.array(y)[perm], np.array(s, dtype=float)[perm]


@settings(max_examples=200, deadline=None)
@given(labelled_scores())
def test_properties(data):
    y, s = data
    for legacy in (False, True):
        assert 0.0 <= rws_score(y, s, legacy=legacy) <= 1.0
    assert auc_score(y, -s) == pytest.approx(1.0 - auc_score(y, s))
    assert -1.0 <= mcc_score(y, s) <= 1.0
    curve = discovery_curve(y, s)
    assert np.all(np.diff(curve) >= 0) and curve[-1] == y.sum()
    k = int(y.sum())
    assert precision_at_k(y, s, k) * k == pytest.approx(curve[k - 1])
    assert 0.0 <= average_precision(y, s) <= 1.0


def _mean_over_orders(measure, y, s):
    """The measure averaged over every order of the objects (each tie order equally)."""
    from itertools import permutations

    values = [measure(y[list(p)], s[list(p)]) for p in permutations(range(len(y)))]
    return float(np.mean(values))


@pytest.mark.parametrize("measure", [
    lambda y, s, **kw: mcc_score(y, s, **kw),
    lambda y, s, **kw: mcc_score(y, s, contamination=0.5, **kw),
    lambda y, s, **kw: rws_score(y, s, **kw),
    lambda y, s, **kw: rws_score(y, s, legacy=True, **kw),
    lambda y, s, **kw: precision_at_k(y, s, 3, **kw),
])
def test_expected_ties_are_the_mean_over_every_order(measure):
    y = np.array([1, 0, 1, 0, 0, 1])
    s = np.array([2.0, 2.0, 1.0, 1.0, 1.0, 0.5])  # ties straddle every cut used here
    expected = measure(y, s, ties="expected")
    assert expected == pytest.approx(_mean_over_orders(measure, y, s))
    assert expected != pytest.approx(measure(y, s))  # input order differs from the mean


@settings(max_examples=100, deadline=None)
@given(labelled_scores())
def test_expected_ties_change_nothing_without_ties_and_order_mcc_matches_sklearn(data):
    from sklearn.metrics import matthews_corrcoef

    y, s = data
    pred = np.zeros(len(y), dtype=int)
    pred[ranking(s)[: int(y.sum())]] = 1
    assert mcc_score(y, s) == pytest.approx(matthews_corrcoef(y, pred), abs=1e-12)
    distinct = s + np.arange(len(s)) * 1e-3  # a ranking without ties
    for measure in (mcc_score, rws_score):
        assert measure(y, distinct, ties="expected") == pytest.approx(measure(y, distinct))


def test_unknown_ties_option_is_refused():
    for call in (lambda: mcc_score(Y_MIXED, S_MIXED, ties="random"),
                 lambda: mcc_score(Y_MIXED, S_MIXED, threshold=0.5, ties="random"),
                 lambda: rws_score(Y_MIXED, S_MIXED, ties="random")):
        with pytest.raises(ValueError, match="ties must be 'order' or 'expected'"):
            call()


# Behaviours that mutation testing (make mutation, docs/testing.md) found unprotected.


def test_ties_beyond_sixteen_objects_keep_input_order():
    # numpy's default sort is stable only for small arrays; Python's sorted is always stable
    scores = np.random.default_rng(0).integers(0, 3, size=200).astype(float)
    brute_force = sorted(range(200), key=lambda i: -scores[i])
    np.testing.assert_array_equal(ranking(scores), brute_force)
    labels = np.zeros(200, dtype=int)
    labels[::7] = 1
    top = brute_force[:40]
    assert precision_at_k(labels, scores, 40) == labels[top].mean()


def test_ranking_of_unsigned_integer_scores_is_by_value():
    # -s on unsigned integers would wrap around: 0 stays 0 and would rank first
    np.testing.assert_array_equal(ranking(np.array([0, 3, 2], dtype=np.uint8)), [1, 2, 0])


def test_measures_without_anomalies_count_zero_instead_of_refusing():
    assert precision_at_k([0, 0, 0], [0.1, 0.3, 0.2], 2) == 0.0
    np.testing.assert_array_equal(discovery_curve([0, 0, 0], [0.1, 0.3, 0.2]), [0, 0, 0])


def test_discovery_curve_counts_whole_objects_up_to_the_full_budget():
    curve = discovery_curve([1, 0, 1], [0.9, 0.1, 0.5], budget=3)
    assert curve.dtype.kind == "i"
    np.testing.assert_array_equal(curve, [1, 2, 2])


def test_precision_at_every_object_is_the_anomaly_share():
    assert precision_at_k([1, 0, 0, 1], [0.4, 0.3, 0.2, 0.1], 4) == 0.5


def test_mcc_flags_at_least_one_object_and_rounds_up():
    y = np.zeros(10, dtype=int)
    y[0] = 1
    s = np.arange(10.0, 0.0, -1.0)  # the anomaly on top
    # 1% of 10 objects still flags one: TP = k = P = 1 gives (10 - 1) / sqrt(1 * 9 * 9) = 1
    assert mcc_score(y, s, contamination=0.01) == 1.0
    # 25% of 10 is 2.5, flagged as 3: (10 * 1 - 3 * 1) / sqrt(3 * 1 * 9 * 7)
    assert np.isclose(mcc_score(y, s, contamination=0.25), 7 / np.sqrt(189))


def test_mcc_with_every_object_flagged_is_zero():
    assert mcc_score([1, 0, 0, 1], [0.4, 0.3, 0.2, 0.1], contamination=1.0) == 0.0


def test_mcc_threshold_flags_only_scores_strictly_above_it():
    # flagged {0.9}: TP=1 FP=0 FN=1 TN=2 -> 2 / sqrt(1 * 2 * 3 * 2); with >= 0.5 it would be 1
    got = mcc_score([1, 1, 0, 0], [0.9, 0.5, 0.2, 0.1], threshold=0.5)
    assert np.isclose(got, 2 / np.sqrt(12))


def test_mcc_refuses_one_class_and_a_boolean_threshold():
    with pytest.raises(ValueError, match="needs at least one anomaly"):
        mcc_score([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="threshold must be a finite number; got True"):
        mcc_score([1, 0, 0], [0.1, 0.2, 0.3], threshold=True)


# Each refusal says what went wrong and what to do, word for word.
REFUSALS = [
    (lambda: auc_score([[1, 0]], [1, 2]), ValueError,
     "y_true must be a 1-D vector of 0/1 labels; got shape (1, 2). Pass one label per object."),
    (lambda: auc_score([1, 0], [[1, 2]]), ValueError,
     "scores must be a 1-D vector with one score per object; got shape (1, 2). "
     "Use decision_function(X) (not predict_proba) or take one column."),
    (lambda: auc_score([1, 0], [1, 2, 3]), ValueError,
     "y_true has 2 labels but scores has 3 values; pass one label and one score for every "
     "object."),
    (lambda: auc_score([], []), ValueError,
     "y_true and scores are empty; pass at least one object."),
    (lambda: auc_score(["a", "b"], [1, 2]), TypeError,
     "y_true must hold 0/1 (or boolean) labels; it has dtype <U1. Map your labels to "
     "1 = anomaly, 0 = normal first."),
    (lambda: auc_score([1, 0], ["a", "b"]), TypeError,
     "scores must be numbers; they have dtype <U1. Convert them to floats first."),
    (lambda: auc_score([1, 0, 2, 3, 4, 5, 6, 7], np.arange(8.0)), ValueError,
     "y_true must contain only 0 (normal) and 1 (anomaly); found [2.0, 3.0, 4.0, 5.0, 6.0]. "
     "Map your labels to 0/1 first."),
    (lambda: auc_score([1, 0, 1], [0.5, 0.2, np.nan]), ValueError,
     "scores contain NaN or infinite values (first at object 2); drop those objects or fix "
     "the detector before evaluating."),
    (lambda: auc_score([1, 1], [0.5, 0.2]), ValueError,
     "y_true holds only anomalies; this measure needs at least one anomaly (1) and one normal "
     "object (0)."),
    (lambda: rws_score([0, 0], [0.5, 0.2]), ValueError,
     "y_true holds no anomalies (no 1s); this measure needs at least one true anomaly."),
    (lambda: mcc_score([1, 0], [0.5, 0.2], contamination=2.0), ValueError,
     "contamination must be a fraction in (0, 1]; got 2.0. Pass e.g. 0.05 to flag the top 5% "
     "of objects."),
    (lambda: mcc_score([1, 0], [0.5, 0.2], threshold=0.1, contamination=0.5), ValueError,
     "Give either threshold or contamination, not both; leave both out for the oracle "
     "threshold (top N_o scores)."),
    (lambda: precision_at_k([1, 0, 0], [0.5, 0.2, 0.1], 4), ValueError,
     "k must be between 1 and the number of objects (3); got 4."),
    (lambda: discovery_curve([1, 0, 0], [0.5, 0.2, 0.1], budget=0), ValueError,
     "budget must be between 1 and the number of objects (3); got 0."),
]


@pytest.mark.parametrize("call, error, message", REFUSALS)
def test_refusals_say_what_is_wrong_and_what_to_do(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message
