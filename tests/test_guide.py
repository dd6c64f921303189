"""The guide layer: complete metadata, generated code that runs, the advisor, the plots."""

from __future__ import annotations

import dataclasses
import importlib.util
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import losskit
from loss_table import CASES
from losskit.core.names import LOSS_ALIASES, LOSS_FAMILIES, _compact, normalise_task
from losskit.core.registry import available, class_name, get_loss
from losskit.core.specs import parse_loss_specs, parse_option_value
from losskit.guide.advisor import ADVISOR_TASKS, parse_imbalance, recommend
from losskit.guide.catalogue import (
    GUIDE_FIELDS,
    code_examples,
    entry,
    has_guide_metadata,
    metadata_problems,
    parse_loss_spec,
    sensitivity_level,
)
from losskit.guide.entries import GuideEntry, guide_entry
from losskit.guide.examples import Term, code_for

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None
HAS_MPL = importlib.util.find_spec("matplotlib") is not None


#: Built-in losses (tests elsewhere may register user-defined ones while collecting).
BUILTIN = [n for n in available() if get_loss(n).builtin]


def _rng(*keys: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(keys).encode()))


# ------------------------------------------------------------------ metadata


@pytest.mark.parametrize("name", available())
def test_every_registered_loss_has_a_complete_entry(name):
    """Built-in losses, and user-defined ones that document themselves, fill every field."""
    info = get_loss(name)
    if not has_guide_metadata(info):
        pytest.skip(f"{name} is a user-defined loss without guide metadata")
    assert metadata_problems(info) == []
    guide = guide_entry(name)
    assert sensitivity_level(guide.outlier_sensitivity) in (
        "low",
        "medium",
        "high",
        "not applicable",
    )
    assert sensitivity_level(guide.imbalance_sensitivity) in (
        "low",
        "medium",
        "high",
        "not applicable",
    )


def test_builtin_losses_are_held_to_the_full_entry():
    assert all(has_guide_metadata(get_loss(n)) for n in available() if get_loss(n).builtin)
    assert len([n for n in available() if get_loss(n).builtin]) >= 17


@pytest.mark.parametrize(
    "field",
    [f for f in GUIDE_FIELDS if f != "hyperparameters"],
)
def test_a_missing_field_is_reported(field):
    info, guide = get_loss("huber"), guide_entry("huber")
    if hasattr(guide, field):
        empty = "" if isinstance(getattr(guide, field), str) else ()
        problems = metadata_problems(info, dataclasses.replace(guide, **{field: empty}))
    else:
        empty = "" if isinstance(getattr(info, field), str) else ()
        problems = metadata_problems(dataclasses.replace(info, **{field: empty}))
    assert f"{field} is empty" in problems


def test_an_option_without_a_description_is_reported():
    info = get_loss("huber")
    undocumented = {"delta": dataclasses.replace(info.declared_options["delta"], doc="")}
    problems = metadata_problems(dataclasses.replace(info, declared_options=undocumented))
    assert "the declaration of option 'delta' has no description" in problems


def test_bad_input_form_and_sensitivity_are_reported():
    info = get_loss("mse")
    problems = metadata_problems(
        info,
        dataclasses.replace(
            guide_entry("mse"), input_forms=("floats",), outlier_sensitivity="very high"
        ),
    )
    assert any("input form 'floats'" in p for p in problems)
    assert any(p.startswith("outlier_sensitivity must start with") for p in problems)
    with pytest.raises(losskit.LossInputError, match="sensitivity must start"):
        sensitivity_level("very high")


def test_custom_losses_are_held_to_the_entry_only_when_they_document_themselves():
    user_loss = dataclasses.replace(get_loss("mse"), builtin=False)
    bare = GuideEntry()
    assert not has_guide_metadata(user_loss, bare)
    partial = dataclasses.replace(bare, explanation="Squares the error.")
    assert has_guide_metadata(user_loss, partial)
    assert "references is empty" in metadata_problems(user_loss, partial)


def test_entry_is_json_ready_and_matches_the_signature():
    import json

    data = entry("huber")
    assert json.loads(json.dumps(data)) == data
    assert data["options"] == {"delta": 1.0}
    assert data["arrays"] == ["pred", "target"]
    assert set(data["examples"]) == {"numpy", "pytorch", "jax", "keras"}


def test_loss_specs_parse_options_and_reject_unknown_ones():
    assert parse_loss_spec("binary_cross_entropy:from_logits=true,pos_weight=[1, 2]") == (
        "binary_cross_entropy",
        {"from_logits": True, "pos_weight": [1, 2]},
    )
    with pytest.raises(losskit.LossInputError, match="has no option 'beta'"):
        parse_loss_spec("huber:beta=2")
    with pytest.raises(
        losskit.LossInputError,
        match=r"loss must be a registered loss; got 'hubber'\. Did you mean 'huber'\?",
    ):
        parse_loss_spec("hubber")
    with pytest.raises(losskit.LossInputError, match="option=value"):
        parse_loss_spec("huber:delta")


# ------------------------------------------------- task and loss names, loss specs


@pytest.mark.parametrize(
    ("typed", "task"),
    [
        ("multi-class", "multi-class"),
        ("multiclass", "multi-class"),
        ("multi_class", "multi-class"),
        ("Multi Class", "multi-class"),
        ("MULTILABEL", "multi-label"),
        ("multi_label", "multi-label"),
        ("Segmentation", "segmentation"),
        ("gan", "generative"),
        ("contrastive", "embedding"),
        ("Metric-Learning", "embedding"),
        ("retrieval", "embedding"),
        ("KD", "distillation"),
        ("knowledge-distillation", "distillation"),
        ("teacher_student", "distillation"),
    ],
)
def test_every_spelling_of_a_task_is_the_same_task(typed, task):
    assert normalise_task(typed) == task
    assert losskit.available(task=typed) == losskit.available(task=task)
    assert [r.loss for r in losskit.recommend(task=typed)] == [
        r.loss for r in losskit.recommend(task=task)
    ]


def test_a_misspelt_or_foreign_task_is_refused_with_a_suggestion():
    message = r"task must be one of .*; got 'segmnetation'\. Did you mean 'segmentation'\?$"
    with pytest.raises(losskit.LossInputError, match=message):
        losskit.available(task="segmnetation")
    with pytest.raises(losskit.LossInputError, match=message):
        losskit.recommend(task="segmnetation")
    # a task the advisor has no rules for is named as such, without a guess
    with pytest.raises(losskit.LossInputError, match=r"preference; got 'custom'$"):
        losskit.recommend(task="custom")
    with pytest.raises(losskit.LossInputError, match="must be a task name"):
        losskit.available(task=3)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Huber", "huber"),
        ("HUBER", "huber"),
        ("bce", "binary_cross_entropy"),
        ("binary_crossentropy", "binary_cross_entropy"),  # Keras's spelling
        ("l1", "mae"),
        ("L2", "mse"),
        ("dice_loss", "dice"),
        ("DiceLoss", "dice"),
        ("SmoothL1Loss", "smooth_l1"),
        ("kldiv", "kl_divergence"),
        ("soft-iou", "jaccard"),
        ("InfoNCE", "info_nce"),
        ("NTXentLoss", "nt_xent"),
        ("SupConLoss", "supervised_contrastive"),
        ("TripletMarginLoss", "triplet_margin"),
        ("triplet", "triplet_margin"),
        ("ArcFaceLoss", "arcface"),
        ("CosineEmbeddingLoss", "cosine_embedding"),
        ("KLDivLoss", "kl_divergence"),
        ("jsd", "jensen_shannon"),
        ("JensenShannonDivergence", "jensen_shannon"),
        ("TV", "total_variation"),
        ("KnowledgeDistillationLoss", "distillation"),
    ],
)
def test_loss_names_in_any_case_and_common_aliases_resolve(typed, name):
    assert losskit.get_loss(typed).name == name
    assert parse_loss_spec(typed) == (name, {})


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("hubber", "got 'hubber'. Did you mean 'huber'?"),
        ("msee", "Did you mean 'mse' or 'msle'?"),
        (
            "focal",
            "got 'focal', which names several losses: did you mean 'binary_focal', "
            "'asymmetric_focal', 'categorical_focal', 'sparse_categorical_focal' or "
            "'focal_tversky'?",
        ),
        (
            "ce",
            "did you mean 'sparse_categorical_cross_entropy', 'categorical_cross_entropy' or "
            "'binary_cross_entropy'?",
        ),
        ("CrossEntropyLoss", "did you mean 'sparse_categorical_cross_entropy', "),
        ("iou", "did you mean 'jaccard' or 'box_iou'?"),
        ("lovasz", "did you mean 'lovasz_hinge' or 'lovasz_softmax'?"),
        ("giou", "got 'giou', which is 'box_iou' with variant='giou': ask for 'box_iou'"),
        ("qwertyuiop", "losskit.available() lists every loss"),
    ],
)
def test_unknown_loss_names_get_a_one_line_suggestion(typed, suggestion):
    with pytest.raises(losskit.LossInputError) as error:
        losskit.get_loss(typed)
    message = str(error.value)
    assert message.startswith(f"name must be a registered loss; got {typed!r}")
    assert suggestion in message
    assert "\n" not in message and len(message) < 200, message


def test_the_name_vocabulary_points_at_registered_losses_and_options():
    compact = [_compact(name) for name in losskit.available()]
    assert len(set(compact)) == len(compact), "two losses differ only by case or separators"
    for alias, (name, options) in LOSS_ALIASES.items():
        assert alias == _compact(alias) and alias not in compact, alias
        assert set(options) <= set(get_loss(name).options), alias
    for family, names in LOSS_FAMILIES.items():
        assert family not in compact and set(names) <= set(losskit.available()), family


def test_aliases_with_options_bring_them_into_a_spec():
    assert parse_loss_spec("giou") == ("box_iou", {"variant": "giou"})
    assert parse_loss_spec("GIoU:box_format=xywh") == (
        "box_iou",
        {"variant": "giou", "box_format": "xywh"},
    )
    assert parse_loss_spec("BCEWithLogitsLoss") == ("binary_cross_entropy", {"from_logits": True})
    with pytest.raises(losskit.LossInputError, match="'giou' already sets variant='giou'"):
        parse_loss_spec("giou:variant=ciou")


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("huber:delta=1,delta=2", "option 'delta' of 'huber' is given twice"),
        ("huber:delta=", "option 'delta' of 'huber' needs a value after '='"),
        ("huber:delta=true", "option 'delta' of 'huber': delta must be a number; got True"),
        (
            "huber:delta=abc",
            r"option 'delta' of 'huber': delta must be a number in \(0, inf\); got 'abc'",
        ),
        ("huber:delta=2j", "option 'delta' of 'huber': delta must be a number; got 2j"),
        (
            "binary_focal:from_logits=1",
            "'from_logits' of 'binary_focal': from_logits must be True or False",
        ),
        ("binary_cross_entropy:pos_weight={1:2}", r"option 'pos_weight' .* got \{1: 2\}"),
        ("binary_cross_entropy:pos_weight=['a']", "option 'pos_weight' .* array of finite values"),
        ("binary_cross_entropy:pos_weight=__import__('os')", r"got .__import__\('os'\).$"),
        ("huber,delta=2", "loss must be written name or name:option=value"),
        (":delta=2", "loss must be written name or name:option=value"),
    ],
)
def test_loss_specs_name_the_bad_part(spec, match):
    with pytest.raises(losskit.LossInputError, match=match):
        parse_loss_spec(spec)


def test_loss_spec_values_are_literals_never_code():
    info = get_loss("box_iou")
    assert parse_option_value(info, "variant", "giou") == "giou"  # a string option
    assert parse_option_value(info, "variant", "'giou'") == "giou"
    assert parse_option_value(info, "eps", "1e-6") == 1e-6
    assert parse_option_value(get_loss("dice"), "ignore_index", "None") is None
    assert parse_option_value(get_loss("dice"), "class_weights", "(1, 2.5)") == [1, 2.5]
    # separators inside brackets and quotes belong to the value
    assert parse_loss_spec("dice:class_weights=[1,2],smooth=0.5:axis=1") == (
        "dice",
        {"class_weights": [1, 2], "smooth": 0.5, "axis": 1},
    )


def test_declared_options_parse_their_own_values():
    class Declaration:
        def parse(self, text):
            return ("parsed", text)

    info = SimpleNamespace(
        name="huber", options={"delta": 1.0}, declared_options={"delta": Declaration()}
    )
    assert parse_option_value(info, "delta", "2") == ("parsed", "2")


def test_a_list_of_specs_groups_options_with_their_loss():
    assert parse_loss_specs(
        "mse,binary_focal:gamma=1,alpha=0.5,bce:pos_weight=auto", auto_options=("pos_weight",)
    ) == [
        ("mse", "mse", {}),
        ("binary_focal:gamma=1,alpha=0.5", "binary_focal", {"gamma": 1, "alpha": 0.5}),
        ("bce:pos_weight=auto", "binary_cross_entropy", {"pos_weight": "auto"}),
    ]
    with pytest.raises(
        losskit.LossInputError, match="needs its loss before it: write huber:delta=2"
    ):
        parse_loss_specs("huber,delta=2")
    with pytest.raises(losskit.LossInputError, match=r"pos_weight must be an array .*; got 'auto'"):
        parse_loss_specs("bce:pos_weight=auto")
    with pytest.raises(
        losskit.LossInputError, match="only pos_weight can be 'auto'; got gamma=auto"
    ):
        parse_loss_specs("binary_focal:gamma=auto", auto_options=("pos_weight",))


# ----------------------------------------------------------- generated code


def _plain_options(kwargs: dict) -> dict:
    """Sample options as literals the generated code can spell (arrays as lists)."""
    options = {}
    for key, value in kwargs.items():
        if key in ("reduction", "weights"):
            continue
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, float):
            value = float(f"{value:.6g}")
        options[key] = value
    return options


CODE_CASES = [pytest.param(case, id=case.name) for case in CASES]


@pytest.mark.parametrize("case", CODE_CASES)
def test_generated_numpy_code_computes_the_loss(case):
    """The NumPy example, with the table's first sample bound to its variables."""
    sample = next(iter(case.samples(_rng(case.name))))
    options = _plain_options(sample.kwargs)
    info = get_loss(case.name)
    code = code_examples(case.name, options)["numpy"]
    namespace = dict(zip(info.arrays, sample.args, strict=True))
    exec(code, namespace)
    expected = case.fn(*sample.args, **options)
    np.testing.assert_allclose(namespace["loss"], expected, rtol=1e-12)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize(
    "name, options, make",
    [
        ("huber", {"delta": 2.0}, lambda r: (r.normal(size=8), r.normal(size=8))),
        (
            "binary_cross_entropy",
            {"pos_weight": 50.0, "from_logits": True},
            lambda r: (r.normal(size=8), r.integers(0, 2, 8).astype(float)),
        ),
        (
            "sparse_categorical_cross_entropy",
            {"class_weights": [0.5, 1.0, 4.0], "from_logits": True, "axis": 1},
            lambda r: (r.normal(size=(6, 3, 2)), r.integers(0, 3, (6, 2))),
        ),
    ],
)
def test_generated_pytorch_code_matches_numpy(name, options, make):
    import torch

    pred, target = make(_rng(name))
    namespace = {
        "pred": torch.from_numpy(pred).requires_grad_(),
        "target": torch.from_numpy(target),
    }
    exec(code_examples(name, options)["pytorch"], namespace)
    expected = get_loss(name).fn(pred, target, **options)
    np.testing.assert_allclose(namespace["loss"].detach().numpy(), expected, rtol=1e-10)
    assert namespace["pred"].grad is not None  # the example ends with loss.backward()


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_generated_jax_code_gives_value_and_gradient():
    import jax.numpy as jnp

    rng = _rng("jax-example")
    pred, target = rng.normal(size=8), rng.normal(size=8)
    namespace = {"pred": jnp.asarray(pred), "target": jnp.asarray(target)}
    exec(code_examples("huber", {"delta": 0.5})["jax"], namespace)
    np.testing.assert_allclose(namespace["loss"], losskit.huber(pred, target, delta=0.5), rtol=1e-6)
    error = pred - target
    expected_grad = np.clip(error, -0.5, 0.5) / error.size  # d mean(huber) / d pred
    np.testing.assert_allclose(namespace["grad"], expected_grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", BUILTIN)
def test_examples_name_the_adapter_classes(name):
    examples = code_examples(name)
    assert f"losskit.torch.{class_name(name)}(" in examples["pytorch"]
    assert f"losskit.{name}(" in examples["numpy"]
    assert f"losskit.{name}(" in examples["jax"]
    info = get_loss(name)
    keras_compiles = len(info.arrays) >= 2 and info.arrays[1] == "target"
    expected = f"losskit.keras.{class_name(name)}(" if keras_compiles else f"losskit.{name}("
    assert expected in examples["keras"]


def test_composite_code_sums_weighted_terms():
    terms = (Term("mse", weight=0.5), Term("mae", weight=0.5))
    code = code_for(terms)
    rng = _rng("composite")
    pred, target = rng.normal(size=5), rng.normal(size=5)
    namespace = {"pred": pred, "target": target}
    exec(code["numpy"], namespace)
    expected = 0.5 * losskit.mse(pred, target) + 0.5 * losskit.mae(pred, target)
    np.testing.assert_allclose(namespace["loss"], expected, rtol=1e-12)
    assert "def loss(y_true, y_pred)" in code["keras"]


def test_terms_reject_unknown_options_and_arrays():
    with pytest.raises(losskit.LossInputError, match="options of 'huber' must be among"):
        Term("huber", {"beta": 1.0})
    with pytest.raises(losskit.LossInputError, match="inputs of 'mse' must name its 2 arrays"):
        Term("mse", inputs=("a",))


# ------------------------------------------------------------------- advisor


def test_binary_imbalance_sets_pos_weight_and_focal_alpha_from_the_ratio():
    recs = recommend("binary", imbalance="1:50")
    assert [r.loss for r in recs[:2]] == ["binary_cross_entropy", "binary_focal"]
    assert recs[0].options == {"pos_weight": 50.0, "from_logits": True}
    # alpha weights the rare positives 3:1, as the lab does (not negatives / total)
    assert recs[1].options["alpha"] == 0.75
    assert recs[1].options["gamma"] == 2.0
    assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
    assert "50" in recs[0].reason and "rare positives" in recs[1].reason


def test_the_advisor_wording_and_alpha_follow_which_class_is_rare():
    recs = recommend("binary", imbalance="50:1")
    assert recs[0].options["pos_weight"] == 0.02
    focal = next(r for r in recs if r.loss == "binary_focal")
    assert focal.options["alpha"] == 0.25
    assert "rare negatives" in focal.reason and "plentiful positives" in focal.reason
    assert "easy negatives" not in focal.reason.split("Lin et al.")[0]


def test_the_advisor_focal_alpha_agrees_with_the_lab():
    pytest.importorskip("torch")
    from losskit.lab.scenarios import builtin_scenarios

    lab = next(s for s in builtin_scenarios() if s.name == "imbalanced")
    alphas = {c.options.get("alpha") for c in lab.candidates() if c.name == "binary_focal"}
    focal = next(r for r in recommend("binary", imbalance="1:20") if r.loss == "binary_focal")
    assert focal.options["alpha"] in alphas


def test_extreme_imbalance_ranks_focal_first_and_probabilities_turn_off_logits():
    recs = recommend("binary", imbalance=500, logits=False)
    assert recs[0].loss == "binary_focal"
    assert recs[0].options["from_logits"] is False
    assert recs[1].options["pos_weight"] == 500.0


def test_balanced_binary_needs_no_weighting():
    recs = recommend("binary", imbalance="1:2")
    assert recs[0].loss == "binary_cross_entropy"
    assert "pos_weight" not in recs[0].options
    assert "roughly balanced" in recs[0].reason


def test_noisy_labels_get_label_smoothing_and_no_focal_first():
    recs = recommend("multi-class", outliers=True)
    assert recs[0].loss == "sparse_categorical_cross_entropy"
    assert recs[0].options["label_smoothing"] == 0.1
    assert all(r.loss != "sparse_categorical_focal" for r in recs)


def test_noisy_integer_labels_get_generalized_cross_entropy_second():
    recs = recommend("multi-class", outliers=True)
    assert recs[1].loss == "generalized_cross_entropy"
    assert recs[1].options == {"q": 0.7, "from_logits": True}
    # one-hot targets: it takes integer labels only
    assert all(
        r.loss != "generalized_cross_entropy"
        for r in recommend("multi-class", labels="one-hot", outliers=True)
    )
    assert all(r.loss != "generalized_cross_entropy" for r in recommend("multi-class"))


def test_multi_label_rare_positives_get_the_asymmetric_loss():
    extreme = recommend("multi-label", imbalance="1:500")
    assert extreme[0].loss == "asymmetric_focal"
    assert extreme[0].options["gamma_neg"] == 4.0 and extreme[0].options["clip"] == 0.05
    moderate = [r.loss for r in recommend("multi-label", imbalance="1:20")]
    assert moderate[:2] == ["binary_cross_entropy", "asymmetric_focal"]
    # binary tasks, rare negatives and balanced labels keep their rankings
    assert all(r.loss != "asymmetric_focal" for r in recommend("binary", imbalance="1:500"))
    assert all(r.loss != "asymmetric_focal" for r in recommend("multi-label", imbalance="50:1"))
    assert all(r.loss != "asymmetric_focal" for r in recommend("multi-label"))


def test_sign_labels_get_margin_losses():
    assert [r.loss for r in recommend("binary", labels="sign")][:2] == ["hinge", "squared_hinge"]


def test_regression_with_and_without_outliers():
    clean = [r.loss for r in recommend("regression")]
    noisy = [r.loss for r in recommend("regression", outliers=True)]
    assert clean[0] == "mse"
    assert noisy[:3] == ["huber", "log_cosh", "mae"]
    assert "mse" not in noisy


def test_regression_intervals_use_two_quantiles():
    first = recommend("regression", intervals=True)[0]
    assert [(p.loss, p.options["q"]) for p in first.parts] == [
        ("quantile", 0.05),
        ("quantile", 0.95),
    ]
    assert "gaussian_nll" in [r.loss for r in recommend("regression", intervals=True)]
    rng = _rng("intervals")
    lower, upper, target = rng.normal(size=6) - 1, rng.normal(size=6) + 1, rng.normal(size=6)
    namespace = {"lower": lower, "upper": upper, "target": target}
    exec(first.code["numpy"], namespace)
    expected = losskit.quantile(lower, target, q=0.05) + losskit.quantile(upper, target, q=0.95)
    np.testing.assert_allclose(namespace["loss"], expected, rtol=1e-12)


def test_multi_class_label_formats_and_class_weights_from_counts():
    assert recommend("multi-class", labels="one-hot")[0].loss == "categorical_cross_entropy"
    assert recommend("multi-class")[0].loss == "sparse_categorical_cross_entropy"
    assert "kl_divergence" in [r.loss for r in recommend("multi-class", labels="soft")]
    counts = (900.0, 90.0, 10.0)
    recs = recommend("multi-class", imbalance=counts)
    weights = recs[0].options["class_weights"]
    # inverse frequency n / (C n_c): the weighted count of every class is n / C
    np.testing.assert_allclose(np.array(weights) * counts, sum(counts) / 3, rtol=1e-3)
    assert recs[1].loss == "sparse_categorical_focal"
    assert recs[1].options["alpha"] == weights


def test_multi_class_ratio_without_counts_explains_how_to_weight():
    recs = recommend("multi-class", imbalance="1:20")
    assert "class_weights" not in recs[0].options
    assert "class counts" in recs[0].reason


SEGMENTATION = {"dice", "jaccard", "tversky", "focal_tversky", "lovasz_hinge", "lovasz_softmax"}
needs_segmentation = pytest.mark.skipif(
    not SEGMENTATION <= set(available()), reason="segmentation losses not registered"
)


@needs_segmentation
def test_segmentation_defaults_to_dice_plus_cross_entropy():
    recs = recommend("segmentation")
    assert recs[0].loss == "dice + binary_cross_entropy"
    assert [p.weight for p in recs[0].parts] == [0.5, 0.5]
    multi = recommend("segmentation", labels="integer")
    assert multi[0].loss == "dice + sparse_categorical_cross_entropy"
    assert all(p.options.get("axis") == 1 for p in multi[0].parts)


@needs_segmentation
def test_segmentation_overlap_and_small_foreground():
    overlap = [r.loss for r in recommend("segmentation", overlap=True)]
    assert "lovasz_hinge" in overlap and "jaccard" in overlap
    assert "lovasz_softmax" in [r.loss for r in recommend("segmentation", labels="one-hot")]
    small = recommend("segmentation", imbalance="1:100")
    assert small[0].loss == "tversky"
    assert small[0].options == {"alpha": 0.3, "beta": 0.7, "from_logits": True}
    assert "focal_tversky" in [r.loss for r in small]
    assert "generalized_dice" not in [r.loss for r in small]  # binary masks: it is Dice
    small_classes = recommend("segmentation", labels="integer", imbalance="1:30:500")
    assert small_classes[2].loss == "generalized_dice"
    assert small_classes[2].options == {"axis": 1, "from_logits": True}
    # lovasz_hinge takes scores only: not offered for probabilities
    assert "lovasz_hinge" not in [r.loss for r in recommend("segmentation", logits=False)]


@needs_segmentation
def test_segmentation_composite_code_computes_the_sum():
    rec = recommend("segmentation")[0]
    rng = _rng("segmentation")
    pred = rng.normal(size=(2, 5, 5))
    target = (rng.uniform(size=(2, 5, 5)) > 0.7).astype(float)
    namespace = {"pred": pred, "target": target}
    exec(rec.code["numpy"], namespace)
    expected = 0.5 * losskit.dice(pred, target, from_logits=True) + 0.5 * (
        losskit.binary_cross_entropy(pred, target, from_logits=True)
    )
    np.testing.assert_allclose(namespace["loss"], expected, rtol=1e-12)


@pytest.mark.skipif("box_iou" not in available(), reason="box_iou not registered")
def test_detection_recommends_the_iou_family():
    recs = recommend("detection")
    variants = [r.parts[0].options["variant"] for r in recs if r.parts[0].loss == "box_iou"]
    assert variants == ["giou", "ciou", "diou"]
    assert recommend("detection", overlap=True)[0].parts[0].options["variant"] == "ciou"
    assert recommend("detection", labels="cxcywh")[0].parts[0].options["box_format"] == "cxcywh"


@pytest.mark.skipif(
    not {"gan_discriminator", "gan_generator"} <= set(available()),
    reason="GAN losses not registered",
)
@pytest.mark.parametrize("labels", ["pairs", "pairs-without-reference", "unpaired"])
def test_preference_recommendations_cite_the_contextual_bandit(labels):
    recs = recommend("preference", labels=labels)
    assert recs and all(any("contextual bandit" in e for e in r.evidence) for r in recs)


def test_gan_recommends_discriminator_and_generator_pairs():
    recs = recommend("gan")
    # the lab's top group (hinge, least squares, minimax) before the non-saturating pair,
    # which came last on the lab's ring; each pair cites the ring's numbers
    assert [r.parts[0].options["variant"] for r in recs[:3]] == [
        "hinge",
        "least_squares",
        "minimax",
    ]
    assert recs[2].parts[1].options["variant"] == "non_saturating"
    assert {p.role for p in recs[0].parts} == {"d_loss", "g_loss"}
    assert all(any("ring of Gaussians" in e for e in r.evidence) for r in recs)
    assert {r.parts[0].options["variant"] for r in recs} >= {"hinge", "wasserstein"}
    # on probabilities only the logistic pair is defined
    (only,) = recommend("gan", logits=False)
    assert [p.options for p in only.parts] == [
        {"variant": "minimax", "from_logits": False},
        {"variant": "non_saturating", "from_logits": False},
    ]


def test_embedding_recommendations_follow_the_data():
    pairs = recommend("embedding")
    assert pairs[0].loss == "info_nce (temperature=0.07, symmetric=True)"
    assert pairs[0].options == {"temperature": 0.07, "symmetric": True}
    assert (
        "losskit.torch.InfoNCE(symmetric=True)" in pairs[0].code["pytorch"]
    )  # 0.07 is the default
    assert [r.loss for r in recommend("embedding", labels="classes")][:3] == [
        "supervised_contrastive",
        "arcface",
        "cosface",
    ]
    triplets = recommend("embedding", labels="triplets")
    assert {r.parts[0].loss for r in triplets} == {"triplet_margin"}
    assert len({r.loss for r in triplets}) == len(triplets)  # told apart by their options
    for rec in recommend("embedding", labels="classes"):
        assert "embedding" in losskit.get_loss(rec.parts[0].loss).tasks


def test_distillation_recommendations_follow_the_teacher():
    hinton = recommend("distillation")[0]
    assert [p.loss for p in hinton.parts] == ["distillation", "sparse_categorical_cross_entropy"]
    assert [p.weight for p in hinton.parts] == [0.9, 0.1]
    assert hinton.options["distillation"]["temperature"] > 1
    # the generated code runs: the parts over (pred, target, teacher), the teacher not
    # differentiated by the JAX example
    assert "argnums=0" not in hinton.code["jax"] and "argnums=(0, 2)" not in hinton.code["jax"]
    tokens = recommend("distillation", labels="tokens")
    assert {r.parts[0].options["beta"] for r in tokens if "beta" in r.parts[0].options} == {
        0.5,
        1.0,
    }
    assert all(r.parts[0].options["ignore_index"] == -100 for r in tokens)
    assert [r.loss for r in recommend("distillation", labels="probabilities")] == [
        "kl_divergence",
        "jensen_shannon",
    ]


def test_embedding_losses_are_drawn_against_the_pair_similarity():
    from losskit.guide.plots import loss_curves

    curves = loss_curves(["cosine_similarity", "cosine_embedding", "pair_contrastive"], points=5)
    assert curves.kind == "similarity"
    cos = curves.x
    similarity, embedding, pair = curves.curves
    np.testing.assert_allclose(similarity.loss, -cos, atol=1e-12)
    np.testing.assert_allclose(embedding.loss, 1 - cos, atol=1e-12)
    np.testing.assert_allclose(pair.loss, 1 - cos, atol=1e-12)  # d^2 / 2 of unit vectors
    info_nce = loss_curves(["info_nce:temperature=1.0"], points=5).curves[0]
    np.testing.assert_allclose(info_nce.loss, np.log1p(np.exp(-cos)), rtol=1e-9)
    ranking = loss_curves(["margin_ranking:margin=1.0"], x_range=(-2.0, 2.0), points=5)
    assert ranking.kind == "logit"
    np.testing.assert_allclose(ranking.curves[0].loss, np.maximum(0, 1 - ranking.x), atol=1e-12)


@pytest.mark.skipif("gan_generator" not in available(), reason="GAN losses not registered")
def test_gan_curves_use_the_default_logits():
    from losskit.guide.plots import loss_curves

    curves = loss_curves(["gan_generator"], x_range=(-4.0, 4.0), points=9)
    assert curves.kind == "logit"
    # non-saturating generator loss on logits: -log sigmoid(x) = log(1 + e^-x)
    np.testing.assert_allclose(curves.curves[0].loss, np.log1p(np.exp(-curves.x)), rtol=1e-9)


DESCRIPTIONS = [
    {"task": "regression"},
    {"task": "regression", "outliers": True, "intervals": True},
    {"task": "binary", "imbalance": "1:50"},
    {"task": "binary", "labels": "sign"},
    {"task": "multi-label", "imbalance": 30, "outliers": True},
    {"task": "multi-class", "labels": "one-hot", "imbalance": [50, 5, 1]},
    {"task": "multi-class", "labels": "soft", "logits": False},
    {"task": "segmentation", "labels": "integer", "overlap": True},
    {"task": "segmentation", "imbalance": "1:40", "logits": False},
    {"task": "detection", "labels": "xywh", "imbalance": "1:1000"},
    {"task": "generative"},
    {"task": "embedding"},
    {"task": "contrastive", "labels": "classes"},
    {"task": "embedding", "labels": "triplets"},
    {"task": "embedding", "labels": "pair_labels"},
    {"task": "embedding", "labels": "preferences"},
    {"task": "embedding", "labels": "vectors"},
    {"task": "distillation"},
    {"task": "kd", "labels": "tokens"},
    {"task": "distillation", "labels": "probabilities", "logits": False},
]


@pytest.mark.parametrize("description", DESCRIPTIONS, ids=lambda d: "-".join(map(str, d.values())))
def test_recommendations_use_registered_losses_with_valid_options(description):
    recs = recommend(**description)
    for rec in recs:
        assert rec.reason
        for part in rec.parts:
            assert part.loss in available()
            assert set(part.options) <= set(get_loss(part.loss).options)
        assert set(rec.code) == {"numpy", "pytorch", "jax", "keras"}
        assert rec.to_dict()["loss"] == rec.loss
    if description["task"] not in ("detection", "generative"):
        assert recs, "the core losses always give an answer"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"task": "ranking"}, "task must be one of"),
        ({"task": "binary", "labels": "integer"}, "labels for a binary task must be one of"),
        ({"task": "binary", "imbalance": "a lot"}, "imbalance must be a ratio"),
        ({"task": "binary", "imbalance": "1:0"}, "positive, finite class counts"),
        ({"task": "binary", "imbalance": "1:2:3"}, "positives:negatives, two counts"),
        ({"task": "regression", "imbalance": "1:5"}, "imbalance applies to"),
        ({"task": "binary", "overlap": True}, "overlap applies to segmentation"),
        ({"task": "binary", "intervals": True}, "intervals applies to regression"),
        ({"task": "embedding", "imbalance": "1:5"}, "imbalance applies to"),
        ({"task": "embedding", "outliers": True}, "outliers applies to regression"),
        ({"task": "embedding", "labels": "integer"}, "labels for an embedding task"),
        ({"task": "distillation", "imbalance": "1:5"}, "imbalance applies to"),
        ({"task": "distillation", "outliers": True}, "outliers applies to regression"),
        ({"task": "distillation", "logits": False}, "divides the student's logits"),
    ],
)
def test_advisor_rejects_bad_descriptions(kwargs, match):
    with pytest.raises(losskit.LossInputError, match=match):
        recommend(**kwargs)


def test_parse_imbalance_forms():
    assert parse_imbalance(None) is None
    assert parse_imbalance("1:50") == (1.0, 50.0)
    assert parse_imbalance("50") == (1.0, 50.0)
    assert parse_imbalance("5000/300/40") == (5000.0, 300.0, 40.0)
    with pytest.raises(losskit.LossInputError):
        parse_imbalance(True)


# --------------------------------------------------------------------- plots


def test_curves_differentiate_to_the_known_gradients():
    from losskit.guide.plots import loss_curves

    curves = loss_curves(
        ["mse", "mae", "huber:delta=0.5", "log_cosh"], x_range=(-2.5, 2.5), points=11
    )
    assert curves.kind == "error"
    x = curves.x
    mse, mae, huber, log_cosh = curves.curves
    np.testing.assert_allclose(mse.loss, x**2, rtol=1e-12)
    np.testing.assert_allclose(mse.gradient, 2 * x, atol=1e-6)
    np.testing.assert_allclose(mae.gradient, np.sign(x), atol=1e-6)
    np.testing.assert_allclose(huber.gradient, np.clip(x, -0.5, 0.5), atol=1e-6)
    np.testing.assert_allclose(log_cosh.gradient, np.tanh(x), atol=1e-6)
    assert huber.label == "huber (delta=0.5)"


def test_classification_curves_on_probability_and_logit_axes():
    from losskit.guide.plots import loss_curves

    p = loss_curves(["binary_cross_entropy", "sparse_categorical_cross_entropy"], points=9)
    assert p.kind == "probability"
    for curve in p.curves:  # both are -log p of the true class
        np.testing.assert_allclose(curve.loss, -np.log(p.x), rtol=1e-9)
        np.testing.assert_allclose(curve.gradient, -1 / p.x, rtol=1e-5)
    z = loss_curves(["binary_cross_entropy:from_logits=True", "hinge"], x_range=(-3, 3), points=7)
    assert z.kind == "logit"
    bce, hinge = z.curves
    sigmoid = 1 / (1 + np.exp(-z.x))
    np.testing.assert_allclose(bce.gradient, sigmoid - 1, atol=1e-6)
    np.testing.assert_allclose(hinge.loss, np.maximum(0, 1 - z.x), atol=1e-12)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_loss_can_be_drawn(name):
    from losskit.guide.plots import loss_curves

    curves = loss_curves([name], points=21)
    curve = curves.curves[0]
    assert np.all(np.isfinite(curve.loss)) and np.all(np.isfinite(curve.gradient))
    assert np.ptp(curve.loss) > 0, "the curve must change along the axis"


def test_plot_axes_that_do_not_mix_are_refused():
    from losskit.guide.plots import loss_curves

    with pytest.raises(losskit.LossInputError, match="share one axis"):
        loss_curves(["mse", "binary_cross_entropy"])
    with pytest.raises(losskit.LossInputError, match="takes scores, not probabilities"):
        loss_curves(["hinge"], x="probability")
    with pytest.raises(losskit.LossInputError, match="inside \\(0, 1\\)"):
        loss_curves(["binary_focal"], x_range=(0.0, 1.0))
    with pytest.raises(losskit.LossInputError, match="x_range must be two finite numbers"):
        loss_curves(["mse"], x_range=(1.0, -1.0))


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib not installed")
def test_plot_writes_a_readable_png_and_svg(tmp_path):
    from matplotlib.image import imread

    from losskit.guide.plots import plot_losses

    png = plot_losses(["mse", "mae", "huber:delta=1", "log_cosh"], tmp_path / "c.png")
    image = imread(png)
    assert image.shape[0] >= 300 and image.shape[1] >= 800
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 50  # lines, text
    svg = plot_losses(["binary_focal:gamma=2"], tmp_path / "f.svg", gradient=False).read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    with pytest.raises(losskit.LossInputError, match=r"must end in \.png or \.svg"):
        plot_losses(["mse"], tmp_path / "c.jpg")


def test_guide_does_not_import_matplotlib_or_rich():
    import subprocess
    import sys

    code = (
        "import sys, losskit, losskit.guide; losskit.recommend('binary');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------- docs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _load_docs_module(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed")
def test_generated_docs_pages_carry_every_field():
    hook = _load_docs_module("gen_catalogue")
    for name in BUILTIN:
        info, guide = get_loss(name), guide_entry(name)
        page = hook.loss_page(name)
        assert info.formula in page and info.summary in page and guide.explanation in page
        for item in (*guide.good_for, *guide.not_good_for, *guide.references, *guide.input_forms):
            assert item in page
        for option, declared in info.declared_options.items():
            assert f"| `{option}` |" in page and declared.describe() in page
        assert f"losskit.torch.{class_name(name)}(" in page
        if info.builtin:
            assert f"::: {info.generic.__module__}.{name}" in page
    index = hook.catalogue_index()
    assert all(f"]({name}.md)" in index for name in available())
    choosing = hook.choosing_page()
    assert "Regression with outliers" in choosing and "[huber](losses/huber.md)" in choosing
    assert "`pos_weight=50.0`" in choosing
    cli = hook.cli_page()
    assert all(
        f"## losskit {name}" in cli for name in ("list", "explain", "recommend", "plot", "eval")
    )


def test_rst_math_becomes_mathjax():
    pytest.importorskip("griffe")
    convert = _load_docs_module("griffe_math").rst_math_to_mathjax
    assert convert("loss :math:`\\ell_i` here") == "loss \\(\\ell_i\\) here"
    text = "Intro.\n\n    .. math::\n        a = b\n        + c\n\n    After."
    assert convert(text) == "Intro.\n\n    \\[\n    a = b + c\n    \\]\n\n    After."


@pytest.mark.parametrize("task", ["regression", "binary", "multi-class", "detection"])
def test_single_loss_recommendations_are_registered_for_the_task(task):
    # recommend("detection") used to rank smooth_l1 and binary_focal, which
    # `losskit list --task detection` did not show
    from losskit.guide.advisor import recommend

    for rec in recommend(task):
        if len(rec.parts) == 1:
            assert task in losskit.get_loss(rec.parts[0].loss).tasks, rec.loss


def test_sequence_and_preference_advice_follows_the_labels():
    assert [r.loss for r in recommend("asr")] == ["ctc"]
    ctc = recommend("sequence")[0]
    assert ctc.options == {"zero_infinity": True, "from_logits": True}
    assert recommend("sequence", logits=False)[0].options["from_logits"] is False
    tokens = recommend("sequence", labels="tokens")[0]
    assert tokens.loss.startswith("sparse_categorical_cross_entropy")
    assert tokens.options["ignore_index"] == -100 and "label_smoothing" not in tokens.options
    noisy = recommend("sequence", labels="tokens", outliers=True)[0]
    assert noisy.options["label_smoothing"] == 0.1
    with pytest.raises(losskit.LossInputError, match="logits"):
        recommend("sequence", labels="tokens", logits=False)

    assert recommend("rlhf")[0].options == {"beta": 0.1}
    # noisy preferences put conservative DPO first; clean ones last
    assert recommend("preference", outliers=True)[0].options["label_smoothing"] == 0.1
    assert recommend("preference")[-1].options.get("label_smoothing") == 0.1
    assert [r.loss for r in recommend("preference", labels="pairs-without-reference")] == [
        "simpo",
        "orpo",
    ]
    assert [r.loss for r in recommend("preference", labels="unpaired")] == ["kto"]
    with pytest.raises(losskit.LossInputError, match="imbalance"):
        recommend("preference", imbalance="1:5")
    with pytest.raises(losskit.LossInputError, match="labels for a sequence task"):
        recommend("sequence", labels="pairs")


def test_the_guide_cites_the_recorded_lab_run():
    """explain and recommend quote the recorded full run's numbers for the losses it
    trained, from the record the lab writes, and say so where it trained none."""
    import json

    from losskit.guide.catalogue import entry
    from losskit.guide.evidence import RECORD_PATH

    record = json.loads(RECORD_PATH.read_text(encoding="utf-8"))
    imbalanced = record["imbalanced"]
    focal = [label for label, ran in imbalanced["losses"].items() if "binary_focal" in ran["names"]]
    assert focal
    (sentence,) = entry("binary_focal")["lab_evidence"]
    for label in focal:
        assert f"{label} {imbalanced['means'][label]:.3g}" in sentence
    assert imbalanced["verdict"]["kind"] in sentence
    best = recommend("binary", imbalance="1:50")[0]
    assert any(imbalanced["title"] in e for e in best.evidence)
    assert entry("total_variation")["lab_evidence"] == []


def test_a_sparse_loss_cites_the_lab_runs_of_its_one_hot_namesake():
    """sparse_categorical_focal is categorical_focal given integer labels: the multi-class
    scenario's focal runs (one-hot) speak for both, and for no unrelated loss."""
    from losskit.guide.evidence import lab_evidence

    dense = lab_evidence("categorical_focal")
    assert dense and lab_evidence("sparse_categorical_focal") == dense
    assert lab_evidence("sparse_categorical_cross_entropy") == lab_evidence(
        "categorical_cross_entropy"
    )
    assert lab_evidence("sparse_total_variation") == lab_evidence("total_variation") == []


@pytest.mark.parametrize("task", ADVISOR_TASKS)
def test_every_default_recommendation_cites_the_lab(task):
    """Issue 20's bar: for every built-in task, each recommendation (default options)
    quotes the recorded full run of a scenario that trained it."""
    for rec in recommend(task):
        assert rec.evidence, f"{task}: {rec.loss} cites no lab run"
