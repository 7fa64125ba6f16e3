"""The API roles run without PyTorch, and the torch-free catalogue says what the networks and artifacts say."""

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
# Imports each module in turn in a fresh interpreter and names the first one after which torch is loaded.
PROBE = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    if "torch" in sys.modules:
        print(json.dumps(name))
        break
else:
    print(json.dumps(None))
"""


def test_api_roles_import_without_torch() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(API_MODULES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) is None, f"importing {done.stdout.strip()} loads torch"


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
