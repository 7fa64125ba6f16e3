"""The API roles run without PyTorch (or what else only the networks need); the catalogue says what the networks say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from brainmets import catalog
from brainmets.inference import artifact
from brainmets.networks import DISPLAY_NAMES, MODEL_NAMES
from services.results_api.schemas import ModelPublic

ROOT = Path(__file__).resolve().parents[2]
# The entry points of every role that serves HTTP or manages the database, never a model.
API_MODULES = ("services.gateway.main", "services.results_api.main", "brainmets.db.migrate", "services.accounts")
# Imports each module in turn in a fresh interpreter with the packages the API image leaves out (pyproject.toml
# [tool.brainmets] model-only: torch, scipy, ...) made unimportable, as they are in that image: it names the first
# module that cannot be imported without one. Libraries that merely try one (nibabel tries scipy, pydicom tqdm)
# and carry on without it pass; a real dependency on one fails.
PROBE = """
import importlib, json, sys, tomllib
from importlib.metadata import packages_distributions
left_out = {n.lower() for n in tomllib.load(open("pyproject.toml", "rb"))["tool"]["brainmets"]["model-only"]}
modules = {m for m, dists in packages_distributions().items() if {d.lower() for d in dists} & left_out}
assert {"torch", "scipy", "highdicom"} <= modules
for module in modules:
    sys.modules[module] = None  # "import module" now raises ImportError
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except ImportError as exc:
        print(json.dumps([name, str(exc)]))
        break
else:
    print(json.dumps(None))
"""


def test_api_roles_import_no_model_only_package() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(API_MODULES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) is None, f"importing {done.stdout.strip()}: the API image has no such package"


def test_the_catalogue_names_the_networks() -> None:
    assert catalog.MODEL_NAMES == MODEL_NAMES
    assert catalog.DISPLAY_NAMES == DISPLAY_NAMES


def test_the_catalogue_reads_artifacts_as_the_loader_does(tiny_artifacts: Path) -> None:
    assert (catalog.CARD_FILE, catalog.WEIGHTS_FILE) == (artifact.CARD_FILE, artifact.WEIGHTS_FILE)
    assert catalog.DEFAULT_ARTIFACTS_DIR == artifact.DEFAULT_ARTIFACTS_DIR
    assert catalog.TrainingData.model_json_schema() == artifact.TrainingData.model_json_schema()
    cards = catalog.find_cards(tiny_artifacts)
    found = artifact.find_artifacts(tiny_artifacts)
    assert set(cards) == set(found) == set(MODEL_NAMES)
    for name, folder in found.items():
        assert cards[name] == artifact.read_card(folder).model_dump(mode="json")


def test_a_folder_without_weights_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "unetpp").mkdir()
    (tmp_path / "unetpp" / catalog.CARD_FILE).write_text(json.dumps({"name": "unetpp"}))
    assert catalog.find_cards(tmp_path) == {}


def test_model_descriptions_claim_nothing_they_do_not_know() -> None:
    # ``available`` was always true: a field that cannot be false says nothing.
    assert "available" not in ModelPublic.model_fields


def test_attention_maps_come_from_the_networks_that_have_them() -> None:
    from brainmets.networks import build_model

    with_maps = {
        name for name in MODEL_NAMES if hasattr(build_model(name, widths=[4, 8, 16]), "forward_with_attention")
    }
    assert with_maps == catalog.ATTENTION_MAP_MODELS


def test_the_committed_cards_have_the_evaluation_shape_the_web_app_reads() -> None:
    for name, card in catalog.find_cards().items():
        public = ModelPublic.model_validate({**card, "display_name": DISPLAY_NAMES[name]})
        for evaluation in (public.test_metrics, public.validation_metrics):
            assert evaluation.pooled.dice is not None and evaluation.per_patient_dice_mean is not None
        assert public.test_metrics.inference_ms_per_slice is not None
        assert set(public.test_metrics.lesion_sensitivity_by_size) == {"small", "medium", "large"}
        # Served under the card's own key, "global".
        assert public.model_dump(mode="json", by_alias=True)["test_metrics"]["global"] == card["test_metrics"]["global"]
