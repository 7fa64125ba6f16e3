"""The volume view in a real browser (Debian's Chromium via Playwright) against the real embedded app: slices
scrub with the slider, Shift + wheel, Page Up/Down, Home and End, every panel following; a click on a lesion
jumps to its largest slice. Shares the app, the browser and the helpers of ``test_browser``."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainmets.volumes.orientation import stack_axial
from tests.synthetic import make_slice
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    PANELS,
    ConsoleLog,
    _poll,
    _shoot,
    _stats,
    _wait_for_change,
    app_url,
    browser,
    page,
    tiny_artifacts,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]
SLICES = 16
LESION_SLICES = range(3, 7)


def _volume() -> bytes:
    """Axial slices like the ones the tiny models learnt, one lesion through slices 3-6, as .nii.gz."""
    rng = np.random.default_rng(3)
    with_lesion, _mask = make_slice(rng, size=64, lesion=True)
    slices = [with_lesion if k in LESION_SLICES else make_slice(rng, size=64, lesion=False)[0] for k in range(SLICES)]
    return gzip.compress(nib.Nifti1Image(stack_axial(slices).astype(np.int16), np.eye(4)).to_bytes())


def _ready_at(tab: object, k: int, timeout_s: float = 10) -> None:
    _poll(
        lambda: (
            tab.locator(".page-volume").get_attribute("data-slice"),
            tab.locator(".page-volume").get_attribute("data-ready"),
        ),
        lambda now: now == (str(k), "true"),
        f"slice {k} was not drawn",
        timeout_s=timeout_s,
    )


def test_upload_scrub_slices_and_jump_to_a_lesion(page: object, app_url: str, tmp_path: Path) -> None:  # noqa: F811
    console = ConsoleLog(page)
    study = tmp_path / "study.nii.gz"
    study.write_bytes(_volume())
    page.goto(f"{app_url}/#/upload")
    page.set_input_files("#image", str(study))
    page.get_by_role("button", name="Upload and segment").click()
    # The upload opens the case, which hands a volume over to the volume view.
    page.wait_for_url(re.compile(r".*#/volumes/[0-9a-f]{32}$"))
    _ready_at(page, SLICES // 2, timeout_s=60)  # both models done, the middle slice drawn
    before = {panel: _stats(page, panel) for panel in PANELS if panel != "groundTruth"}

    page.keyboard.press("PageUp")
    _ready_at(page, SLICES // 2 + 1)
    for panel in before:  # every panel follows the slice
        _wait_for_change(page, panel, before[panel], "Page Up")
    page.keyboard.press("Home")
    _ready_at(page, 0)
    page.keyboard.press("End")
    _ready_at(page, SLICES - 1)
    page.keyboard.press("PageDown")
    _ready_at(page, SLICES - 2)

    page.locator("#slice-slider").fill("3")
    _ready_at(page, 3)
    assert page.locator("#slice-label").text_content() == f"4 / {SLICES}"
    box = page.locator('canvas[data-panel="original"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.down("Shift")
    page.mouse.wheel(0, -120)
    page.keyboard.up("Shift")
    _ready_at(page, 4)

    # The tiny models find the true lesion, and may add false positives elsewhere.
    lesions = page.locator("button.lesion")
    found = [
        lesions.nth(i)
        for i in range(lesions.count())
        if int(lesions.nth(i).get_attribute("data-slice")) in LESION_SLICES
    ]
    assert found, "neither tiny model lists the lesion"
    target = int(found[0].get_attribute("data-slice"))
    zoomed_out = _stats(page, "original")
    found[0].click()
    _ready_at(page, target)
    _wait_for_change(page, "original", zoomed_out, "centring on the lesion")
    assert page.locator("#volume-metrics").count() == 0  # no ground truth, no metrics table
    assert page.locator(".downloads a", has_text="NIfTI mask").count() == 2
    plain = _stats(page, "attention_unet")
    page.locator("#volume-heatmap").check()
    _wait_for_change(page, "attention_unet", plain, "the attention map")
    _shoot(page, "volume-view.png")
    assert console.errors == [], console.errors
