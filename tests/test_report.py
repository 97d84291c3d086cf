"""The report writer: files exist, are real PNGs, and the Markdown links them with metrics."""

from __future__ import annotations

import numpy as np
import pytest

from drama.run_report import plot_latent, plot_scores, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeDetector:
    """Just what write_report reads from a fitted Drama, so these tests need no engine."""

    threshold_ = 2.5

    def __init__(self, latent_dim: int = 2):
        self.latent_dim = latent_dim

    def decision_function(self, X):
        return np.linalg.norm(X, axis=1)

    def encode(self, X):
        return X[:, : self.latent_dim]

    def get_params(self):
        return {"reducer": "fake", "metric": "l2", "level": None}


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    X[:5] += 6.0
    y = np.zeros(60, dtype=int)
    y[:5] = 1
    return X, y


def _is_png(path):
    return path.read_bytes()[:8] == PNG_MAGIC


def test_write_report_with_labels(tmp_path, data):
    X, y = data
    out = tmp_path / "nested" / "report"
    report = write_report(FakeDetector(), X, y, out)
    assert report == out / "report.md"
    assert _is_png(out / "scores.png") and _is_png(out / "latent.png")
    text = report.read_text()
    assert "(scores.png)" in text and "(latent.png)" in text
    assert "| AUC | MCC | RWS | AP |" in text
    assert "| 1.000 | 1.000 | 1.000 | 1.000 |" in text  # the 5 shifted objects score highest
    assert "Top 10 anomalies" in text and "`'fake'`" in text
    assert "above the threshold 2.5" in text


def test_write_report_without_labels(tmp_path, data):
    X, _ = data
    report = write_report(FakeDetector(), X, None, tmp_path)
    text = report.read_text()
    assert "Evaluation" not in text and "true label" not in text
    assert _is_png(tmp_path / "latent.png")


@pytest.mark.parametrize("latent_dim", [1, 2, 3])
def test_latent_map_any_width(tmp_path, data, latent_dim):
    X, y = data
    path = plot_latent(X[:, :latent_dim], np.linalg.norm(X, axis=1), tmp_path / "l.png", y=y)
    assert _is_png(path)


def test_plot_scores_without_threshold(tmp_path):
    path = plot_scores(np.arange(20.0), tmp_path / "s.png")
    assert _is_png(path)


def test_bad_inputs(tmp_path, data):
    X, y = data
    with pytest.raises(ValueError, match="labels but X has"):
        write_report(FakeDetector(), X, y[:10], tmp_path / "a")
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        write_report(FakeDetector(), X, y, afile)
    with pytest.raises(ValueError, match="one per object"):
        plot_latent(X[:10, :2], np.zeros(5), tmp_path / "l.png")


def test_write_report_real_model(tmp_path, data):
    drama = pytest.importorskip("drama")
    X, y = data
    det = drama.Drama(random_state=0).fit(X)
    report = write_report(det, X, y, tmp_path)
    assert "AUC" in report.read_text()
    assert _is_png(tmp_path / "scores.png") and _is_png(tmp_path / "latent.png")
