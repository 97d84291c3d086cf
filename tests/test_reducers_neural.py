"""The neural reducers at the reducer level: shapes, determinism, saving, warm start, errors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the neural reducers need PyTorch")

from drama.reducers import get_reducer_spec, neural  # noqa: E402
from drama.reducers import neural_torch as nt  # noqa: E402

FAST = {"max_epochs": 3, "warm_start_epochs": 2, "batch_size": 32}

# name -> object shape it is tested on
SHAPES = {
    "ae": (12,),
    "vae": (3, 4),
    "cae1d": (20,),
    "cvae1d": (16, 2),
    "cae2d": (8, 8),
    "cvae2d": (6, 10, 3),
}


def _data(shape: tuple[int, ...], n: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.random((2, *shape))
    return base[rng.integers(0, 2, n)] + 0.05 * rng.standard_normal((n, *shape))


def _make(name: str, seed: int | None = 0, **options):
    spec = get_reducer_spec(name)
    return spec.factory(2, seed, **{**FAST, **options})


@pytest.fixture(scope="module")
def fitted() -> dict:
    """One fitted reducer per name, shared by the read-only tests."""
    out = {}
    for name, shape in SHAPES.items():
        X = _data(shape)
        out[name] = (_make(name).fit(X), X)
    return out


@pytest.mark.parametrize("name", list(SHAPES))
def test_registry_and_class(name: str) -> None:
    spec = get_reducer_spec(name)
    assert spec.cls.name == name
    assert any(s.name == name for s in neural.SPECS)


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes_and_dtypes(fitted: dict, name: str) -> None:
    reducer, X = fitted[name]
    Z = reducer.encode(X)
    assert Z.shape == (len(X), 2) and Z.dtype == np.float64 and np.isfinite(Z).all()
    out = reducer.decode(Z[:5])
    assert out.shape == (5, *SHAPES[name]) and out.dtype == np.float64
    assert np.isfinite(out).all()
    # a single latent point works too
    assert reducer.decode(Z[0]).shape == (1, *SHAPES[name])


@pytest.mark.parametrize("name", list(SHAPES))
def test_same_seed_same_codes(fitted: dict, name: str) -> None:
    reducer, X = fitted[name]
    again = _make(name).fit(X)
    np.testing.assert_array_equal(reducer.encode(X), again.encode(X))
    other = _make(name, seed=1).fit(X)
    assert not np.array_equal(reducer.encode(X), other.encode(X))


@pytest.mark.parametrize("name", list(SHAPES))
def test_state_round_trip_is_identical(fitted: dict, name: str) -> None:
    reducer, X = fitted[name]
    config, arrays = reducer.to_state()
    config = json.loads(json.dumps(config))  # the config must be plain JSON
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    restored = type(reducer).from_state(config, arrays)
    Z = reducer.encode(X)
    np.testing.assert_array_equal(restored.encode(X), Z)
    np.testing.assert_array_equal(restored.decode(Z), reducer.decode(Z))


@pytest.mark.parametrize("name", ["ae", "cvae1d", "cae2d"])
def test_warm_start_copies_parent_weights(fitted: dict, name: str) -> None:
    parent, X = fitted[name]
    child = _make(name, seed=5, lr=1e-12)
    child.warm_start_from(parent)
    child.fit(X[:30])
    assert child.warm_started_ and child.n_epochs_ <= FAST["warm_start_epochs"]
    # with a vanishing learning rate the child is still its parent
    np.testing.assert_allclose(child.encode(X), parent.encode(X), rtol=1e-5, atol=1e-5)
    cold = _make(name, seed=5).fit(X[:30])
    assert not cold.warm_started_


def test_warm_start_ignores_another_kind(fitted: dict) -> None:
    child = _make("vae")
    child.warm_start_from(fitted["ae"][0])
    child.fit(_data(SHAPES["vae"]))
    assert not child.warm_started_


def test_max_train_samples_caps_the_fit() -> None:
    X = _data((5,), n=120)
    reducer = _make("ae", max_train_samples=40).fit(X)
    assert reducer.n_train_samples_ == 40
    assert reducer.encode(X).shape == (120, 2)


def test_dense_accepts_images_and_returns_their_shape() -> None:
    X = _data((4, 5, 2))
    reducer = _make("ae").fit(X)
    assert reducer.decode(reducer.encode(X)).shape == X.shape


def test_data_in_any_units_trains_and_decodes_back() -> None:
    X = 1000.0 + 50.0 * _data((10,), n=80)
    reducer = _make("ae", max_epochs=30).fit(X)
    rebuilt = reducer.decode(reducer.encode(X))
    assert abs(rebuilt.mean() - X.mean()) < 5.0


def test_cae2d_refuses_a_table() -> None:
    with pytest.raises(ValueError, match=r"cae2d needs images shaped \(n, H, W\) or "
                                         r"\(n, H, W, C\); got a table of shape"):
        _make("cae2d").fit(np.zeros((10, 7)))


@pytest.mark.parametrize("name", ["cae1d", "cvae1d"])
def test_cae1d_refuses_images_with_channels(name: str) -> None:
    with pytest.raises(ValueError, match="needs sequences shaped"):
        _make(name).fit(np.zeros((10, 4, 4, 3)))


def test_encode_refuses_another_object_shape(fitted: dict) -> None:
    reducer, _ = fitted["ae"]
    with pytest.raises(ValueError, match="fitted on objects of shape"):
        reducer.encode(np.zeros((3, 13)))
    with pytest.raises(ValueError, match="latent points shaped"):
        reducer.decode(np.zeros((3, 5)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_input_is_refused(bad: float) -> None:
    X = _data((6,))
    X[3, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        _make("ae").fit(X)


def test_unfitted_reducer_says_so() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        _make("cae1d").encode(np.zeros((2, 8)))


def test_huge_learning_rate_diverges_with_advice() -> None:
    with pytest.raises(ValueError, match=r"diverged.*lower learning rate"):
        _make("ae", lr=1e6, max_epochs=20).fit(_data((12,), n=64))


def test_a_finite_but_exploding_loss_is_caught_as_divergence() -> None:
    # lr=10 leaves the loss finite (about 1e14) but far above the untrained network's
    with pytest.raises(ValueError, match=r"diverged: the loss grew from .* lower learning"):
        _make("ae", lr=10.0).fit(np.random.default_rng(0).random((300, 16)))


def test_tiny_node_keeps_the_weights_it_scored() -> None:
    # without held-out data the epoch is scored after its steps, on the kept weights
    X = _data((6,), n=5)
    reducer = _make("ae", max_epochs=3).fit(X)
    recon = reducer.decode(reducer.encode(X))
    mse = float(np.mean((recon - X) ** 2))
    assert np.isclose(reducer.best_loss_, mse, rtol=1e-4)


def test_data_in_tiny_units_is_standardised() -> None:
    X = _data((6,), n=64)
    reducer = _make("ae").fit(X * 1e-6)
    assert reducer.to_state()[1]["scale"].max() < 1e-3  # divided by its own spread
    unit = _make("ae").fit(X)
    np.testing.assert_array_equal(unit.to_state()[1]["scale"], 1.0)


def test_injected_infinite_loss_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_loss(variational, beta, sigma, n_features):
        def loss(net, x, gen):
            recon, _, _ = net(x, gen)
            return ((recon - x) ** 2).mean() * float("inf")

        return loss

    monkeypatch.setattr(nt, "make_loss", broken_loss)
    with pytest.raises(ValueError, match="loss became NaN or infinite"):
        _make("cae1d").fit(_data((16,)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_asked_but_absent() -> None:
    with pytest.raises(ValueError, match="no CUDA GPU"):
        _make("ae", device="cuda").fit(_data((6,)))


def test_unknown_device_and_bad_options() -> None:
    with pytest.raises(ValueError, match="not a device"):
        _make("ae", device="toaster").fit(_data((6,)))
    with pytest.raises(ValueError, match="standardize"):
        _make("ae", standardize="sometimes").fit(_data((6,)))
    with pytest.raises(ValueError, match="lr must be"):
        _make("ae", lr=-1.0).fit(_data((6,)))
    with pytest.raises(TypeError):
        _make("ae", no_such_option=1)


def test_fit_leaves_global_torch_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    _make("vae").fit(_data((6,)))
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_progress_bar_runs() -> None:
    reducer = _make("ae", progress=True).fit(_data((6,)))
    assert reducer.n_epochs_ >= 1


def test_missing_torch_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"needs PyTorch: pip install 'drama-anomaly\[deep\]'"):
        neural.require_torch("cae2d")


def test_tiny_node_still_fits() -> None:
    X = _data((6,), n=3)
    reducer = _make("vae").fit(X)
    assert np.isfinite(reducer.encode(X)).all()


def test_default_sizes_follow_the_input() -> None:
    assert neural.AutoEncoder().default_hidden(100) == [64, 16]
    assert neural.AutoEncoder().default_hidden(3000) == [64, 16]
    assert neural.AutoEncoder().default_hidden(6) == [16, 8]
    assert neural.ConvAutoEncoder1D().default_strides([64]) == [2, 2, 2]
    assert neural.ConvAutoEncoder1D().default_strides([3000]) == [4, 4, 2, 2, 2]
    assert neural.ConvAutoEncoder1D().default_channels(3) == [8, 16, 32]
    assert neural.ConvAutoEncoder2D().default_strides([8, 8]) == [2]
    assert neural.ConvAutoEncoder2D().default_strides([28, 28]) == [2, 2, 2]
    assert neural.ConvAutoEncoder2D().default_channels(3) == [16, 32, 64]


@pytest.mark.parametrize(("name", "shape"), [
    ("cae1d", (7,)), ("cae1d", (33, 3)), ("cae1d", (301,)), ("cae1d", (1030,)),
    ("cae2d", (5, 7)), ("cae2d", (9, 11, 2)), ("cae2d", (31, 17)),
])
def test_any_size_comes_back_exactly(name: str, shape: tuple[int, ...]) -> None:
    X = _data(shape, n=12)
    reducer = _make(name, max_epochs=1).fit(X)
    assert reducer.decode(reducer.encode(X)).shape == X.shape


def test_objects_of_mixed_shapes_are_named() -> None:
    images = [np.zeros((8, 8)), np.zeros((9, 9))]
    with pytest.raises(TypeError, match=r"different shapes, e.g. \(8, 8\)"):
        neural.ConvAutoEncoder2D().fit(images)


def test_one_point_curves_are_refused_by_the_1d_reducers() -> None:
    for name in ("cae1d", "cvae1d"):
        for X in (np.zeros((10, 1)), np.zeros((10, 1, 2))):
            with pytest.raises(ValueError, match="at least 2 points; these have 1"):
                _make(name).fit(X)


def _wide(n: int = 60, d: int = 300, seed: int = 0) -> np.ndarray:
    """Curves on a 3-parameter family plus strong noise: most of the variance lies outside
    any few principal components."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, d)
    a = rng.uniform(0.5, 1.5, (n, 3))
    return (a[:, :1] * np.sin(2 * np.pi * a[:, 1:2] * x) + 0.2 * a[:, 2:]
            + 0.3 * rng.standard_normal((n, d)))


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_wide_input_trains_on_principal_components(name: str) -> None:
    X = _wide()
    reducer = _make(name, input_components=16).fit(X)
    assert reducer.arch_["components"] == 16 and reducer.basis_.shape == (300, 16)
    np.testing.assert_allclose(reducer.basis_.T @ reducer.basis_, np.eye(16), atol=1e-4)
    assert reducer.decode(reducer.encode(X)).shape == X.shape
    config, arrays = reducer.to_state()
    restored = type(reducer).from_state(json.loads(json.dumps(config)), arrays)
    np.testing.assert_array_equal(restored.encode(X), reducer.encode(X))
    Z = reducer.encode(X)
    np.testing.assert_array_equal(restored.decode(Z), reducer.decode(Z))


def test_projection_only_for_inputs_wider_than_the_components() -> None:
    assert _make("ae").fit(_data((12,))).basis_ is None  # 12 <= 128
    assert _make("ae", input_components=None).fit(_wide()).basis_ is None
    with pytest.raises(ValueError, match="input_components"):
        _make("ae", input_components=0).fit(_wide())


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_projected_loss_is_the_loss_on_the_input(name: str) -> None:
    """Early stopping judges the error on all inputs, not only on the kept components: the
    best held-out loss is about the reconstruction's error on the whole input (for the
    VAE, in its units, 1 / (2 sigma^2) per unit of summed squared error, plus a KL term)."""
    X = _wide(n=200)
    reducer = _make(name, input_components=8, max_epochs=10, standardize="none").fit(X)
    sse = float(np.mean(np.sum((reducer.decode(reducer.encode(X)) - X) ** 2, axis=1)))
    if name == "ae":
        assert 0.8 * sse / X.shape[1] < reducer.best_loss_ < 1.2 * sse / X.shape[1]
    else:
        sigma = reducer.noise * float(np.sqrt(np.mean((X - X.mean(axis=0)) ** 2)))
        assert reducer.best_loss_ > 0.8 * sse / (2 * sigma**2)


def test_children_keep_the_parents_components() -> None:
    X = _wide(n=80)
    parent = _make("ae", input_components=32).fit(X)
    child = _make("ae", seed=3, input_components=32)
    child.warm_start_from(parent)
    child.fit(X[:20])  # fewer objects than components: the parent's basis still serves
    assert child.warm_started_
    np.testing.assert_array_equal(child.basis_, parent.basis_)
    cold = _make("ae", input_components=32).fit(X[:20])
    assert cold.basis_.shape == (300, 32)  # padded with zero columns
    np.testing.assert_array_equal(cold.basis_[:, 20:], 0.0)


def test_exact_and_randomized_components_span_the_same_space(
        monkeypatch: pytest.MonkeyPatch) -> None:
    X = _wide(n=600, d=200).astype(np.float32)
    for data in (X, np.ascontiguousarray(X[:200].T)):  # more objects than features, fewer
        _, exact = neural._principal_basis(data, 3, seed=0)
        monkeypatch.setattr(neural, "EXACT_PCA_LIMIT", 10)  # min(n, d) = 200: randomized
        _, randomized = neural._principal_basis(data, 3, seed=0)
        monkeypatch.undo()
        np.testing.assert_allclose(randomized.T @ randomized, np.eye(3), atol=1e-5)
        # the same subspace: each basis projects the other onto itself
        np.testing.assert_allclose(np.linalg.svd(exact.T @ randomized)[1], 1.0, atol=1e-3)


def test_components_without_variance_stay_zero() -> None:
    _, constant = neural._principal_basis(np.ones((4, 300), np.float32), 16, seed=0)
    assert not constant.any()
    _, three = neural._principal_basis(_wide(n=3).astype(np.float32), 16, seed=0)
    np.testing.assert_allclose(three.T @ three, np.diag([1.0, 1.0] + [0.0] * 14), atol=1e-5)
    reducer = _make("ae", input_components=16).fit(_wide(n=3))
    assert np.isfinite(reducer.encode(_wide(n=3))).all()


def test_a_failed_refit_leaves_the_fitted_reducer_alone() -> None:
    X = _wide()
    reducer = _make("ae", input_components=16).fit(X)
    Z = reducer.encode(X)
    reducer.lr = 1e12
    with pytest.raises(ValueError, match="diverged"):
        reducer.fit(X)
    np.testing.assert_array_equal(reducer.encode(X), Z)


def test_wide_results_do_not_depend_on_the_callers_blas_threads() -> None:
    from threadpoolctl import threadpool_limits

    X = _wide(n=300, d=400)
    codes = []
    for n_threads in (1, 2):
        with threadpool_limits(limits=n_threads, user_api="blas"):
            codes.append(_make("ae").fit(X).encode(X))
    np.testing.assert_array_equal(codes[0], codes[1])


def test_states_saved_before_the_projection_still_load() -> None:
    X = _wide()
    reducer = _make("ae", input_components=None).fit(X)
    config, arrays = reducer.to_state()
    config = json.loads(json.dumps(config))
    config["state_version"] = 1  # as saved by the previous release
    del config["options"]["input_components"], config["arch"]["components"]
    restored = neural.AutoEncoder.from_state(config, arrays)
    assert restored.input_components is None and restored.basis_ is None
    np.testing.assert_array_equal(restored.encode(X), reducer.encode(X))
    child = _make("ae", input_components=None)
    child.warm_start_from(restored)
    assert child.fit(X[:30]).warm_started_


def test_a_model_saved_for_a_gpu_loads_on_the_cpu_when_asked(tmp_path, as_gpu_model) -> None:
    from drama import Drama

    X = _data((8,), n=60)
    det = Drama(reducer="ae", random_state=0, reducer_options={**FAST, "max_epochs": 2}).fit(X)
    det.save(tmp_path / "m.npz")
    as_gpu_model(tmp_path / "m.npz", tmp_path / "gpu.npz")
    with pytest.raises(ValueError, match=r"device that is not here.*device='cpu'"):
        Drama.load(tmp_path / "gpu.npz")
    loaded = Drama.load(tmp_path / "gpu.npz", device="cpu")
    assert loaded.reducer_options["device"] == "cpu"
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))


@pytest.mark.parametrize("options", [{"validation_fraction": "0.1"}, {"beta": None},
                                     {"min_delta": -1.0}, {"lr": float("nan")},
                                     {"noise": 0.0}])
def test_bad_training_numbers_are_refused_by_name(options: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        _make("vae", **options).fit(_data((6,)))


def test_numpy_numbers_are_accepted() -> None:
    _make("ae", lr=np.float32(1e-3), beta=np.float64(1.0)).fit(_data((6,)))


@pytest.mark.parametrize("channels", [[0], [4, -2]])
def test_bad_channels_are_refused(channels: list[int]) -> None:
    with pytest.raises(ValueError, match="channels must list"):
        _make("cae1d", channels=channels).fit(_data((32,)))


def test_encoding_in_small_batches_gives_the_same_codes() -> None:
    X = _wide(n=50)
    reducer = _make("ae", input_components=16).fit(X)
    whole = reducer.encode(X)
    reducer.encode_batch_size = 7  # standardised and projected seven objects at a time
    np.testing.assert_allclose(reducer.encode(X), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none here)")
@pytest.mark.parametrize("name", ["ae", "cvae1d"])
def test_a_gpu_model_repeats_survives_saving_and_runs_on_the_cpu(name: str, tmp_path) -> None:
    from drama import Drama

    X = _data((16,), n=60)
    options = {**FAST, "device": "cuda"}
    det = Drama(reducer=name, n_levels=2, min_node_size=5, random_state=0,
                reducer_options=options).fit(X)
    assert all(r._device.type == "cuda" for r in det.tree_.reducers_)
    assert all(r.warm_started_ for r in det.tree_.reducers_[1:])
    again = Drama(reducer=name, n_levels=2, min_node_size=5, random_state=0,
                  reducer_options=options).fit(X)
    np.testing.assert_array_equal(again.decision_scores_, det.decision_scores_)
    det.save(tmp_path / "gpu.npz")
    loaded = Drama.load(tmp_path / "gpu.npz")
    # input-space scores use the stored prototypes; the codes run the networks themselves
    np.testing.assert_array_equal(loaded.encode(X), det.encode(X))
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
    on_cpu = Drama.load(tmp_path / "gpu.npz", device="cpu")
    assert all(r._device.type == "cpu" for r in on_cpu.tree_.reducers_)
    np.testing.assert_allclose(on_cpu.encode(X), det.encode(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(on_cpu.score_levels(X, metrics="l2", space="latent"),
                               det.score_levels(X, metrics="l2", space="latent"),
                               rtol=1e-4, atol=1e-5)
