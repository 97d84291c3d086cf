"""scikit-learn's estimator checks on both detectors: every check passes except those
listed here, each with the reason it is expected to fail. A check that starts passing (or a
new one that fails) breaks the test, so the list stays true."""

from __future__ import annotations

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator

from drama import Drama, DramaSearch

# sklearn's wording for object arrays of strings is numpy's ("argument must be a string or
# a number"); DRAMA names the dtype and says what to convert. Object arrays of numbers are
# accepted, as the check wants.
OWN_MESSAGE = "DRAMA's own message for non-numeric data, not numpy's wording"
# y is DramaSearch's few-label input (1 = anomaly, 0 = normal, -1 = unknown); these checks
# pass class labels such as 2 and 3 as y, which a search refuses with a clear error.
Y_IS_LABELS = "the check passes class labels (0, 1, 2, ...) as y; y holds 1 / 0 / -1 labels"

EXPECTED_FAILURES = {
    "Drama": {"check_dtype_object": OWN_MESSAGE},
    "DramaSearch": {
        "check_dtype_object": OWN_MESSAGE,
        **{name: Y_IS_LABELS for name in (
            "check_fit_score_takes_y", "check_estimators_overwrite_params",
            "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
            "check_readonly_memmap_input", "check_n_features_in_after_fitting",
            "check_positive_only_tag_during_fit", "check_estimators_dtypes",
            "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
            "check_methods_subset_invariance", "check_fit2d_1feature", "check_dict_unchanged",
            "check_fit2d_predict1d")},
    },
    "LabelFreeSearch": {"check_dtype_object": OWN_MESSAGE},
}


class LabelFreeSearch(DramaSearch):
    """The same search fitted without labels, so that the checks that pass class labels as
    y still test everything else about it."""

    def fit(self, X, y=None):
        return super().fit(X)


SEARCH = {"reducers": ["none", "pca"], "levels": [1, 2], "metrics": ["l2", "l1"],
          "random_state": 0}


@pytest.mark.parametrize("detector", [Drama(random_state=0), DramaSearch(**SEARCH),
                                      LabelFreeSearch(**SEARCH)],
                         ids=lambda d: type(d).__name__)
def test_sklearn_estimator_checks(detector):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(detector, on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:200] for r in results
              if r["status"] == "failed"}
    expected = EXPECTED_FAILURES[type(detector).__name__]
    assert set(failed) == set(expected), {name: failed.get(name, "passed")
                                          for name in set(failed) ^ set(expected)}
    ran = {r["check_name"] for r in results if r["status"] == "passed"}
    assert {"check_fit_idempotent", "check_estimators_nan_inf",
            "check_estimators_pickle"} <= ran
