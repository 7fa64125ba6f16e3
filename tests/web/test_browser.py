"""The web app in a real browser (Debian's headless Chromium via Playwright) against the real embedded app.

The app runs as a subprocess (``python -m services.embedded``) on tiny model artifacts trained here for a few
seconds on synthetic slices, so that both masks are plausible and differ. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.web.tiny_models import PATCH_SIZE, synthetic_slice, write_tiny_artifacts

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_OUT = REPO_ROOT / "test-artifacts"
PANELS = ("original", "groundTruth", "unetpp", "attention_unet")
SIGN_IN_URL = re.compile(r".*#/sign-in\?next=.+")

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (.ci/services.sh installs it)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

# Statistics of one panel's canvas: size, non-black and coloured pixels, and a checksum to detect changes.
CANVAS_STATS_JS = """
(panel) => {
  const canvas = document.querySelector(`canvas[data-panel="${panel}"]`);
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let nonBlack = 0, coloured = 0, checksum = 0;
  for (let p = 0; p < data.length; p += 4) {
    const r = data[p], g = data[p + 1], b = data[p + 2];
    if (r + g + b > 30) nonBlack += 1;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured += 1;
    checksum = (checksum * 31 + r * 7 + g * 3 + b) % 2147483647;
  }
  return { pixels: data.length / 4, nonBlack, coloured, checksum };
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tiny_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_artifacts(tmp_path_factory.mktemp("artifacts"))


def _app_env(root: Path, artifacts: Path, port: int, **extra: str) -> dict[str, str]:
    threads = os.environ.get("BRAINMETS_TEST_THREADS", "1")
    env = {
        **os.environ,
        "ARTIFACTS_DIR": str(artifacts),
        "VAR_DIR": str(root / "var"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DEVICE": "cpu",
        "LOG_LEVEL": "WARNING",
        # The policy production serves; a violation shows as a console error, which the tests refuse.
        "CSP_ENFORCE": "true",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        **extra,
    }
    for name in ("DATABASE_URL", "AMQP_URL", "S3_ENDPOINT"):
        env.pop(name, None)
    return env


@contextlib.contextmanager
def _embedded_app(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``python -m services.embedded`` (API, both workers, the web app) until the block ends."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.embedded"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{env['PORT']}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the embedded app exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the embedded app did not answer /healthz in 90 s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, tiny_artifacts: Path) -> Iterator[str]:
    """The embedded app in its open development mode, with its data in a temporary folder."""
    root = tmp_path_factory.mktemp("embedded")
    with _embedded_app(_app_env(root, tiny_artifacts, _free_port()), root / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def private_app(tmp_path_factory: pytest.TempPathFactory, tiny_artifacts: Path) -> Iterator[tuple[str, str]]:
    """The embedded app with sign-in required, and the token of its one account."""
    root = tmp_path_factory.mktemp("embedded-auth")
    env = _app_env(root, tiny_artifacts, _free_port(), AUTH_ENABLED="true")
    created = subprocess.run(
        [sys.executable, "-m", "services.accounts", "create", "dr-reader"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if created.returncode != 0:
        pytest.fail(f"could not create an account:\n{created.stderr}")
    with _embedded_app(env, root / "server.log") as url:
        yield url, created.stdout.strip()


# A server configured unlike the defaults: the app must show what it reports, not what the JavaScript assumes.
SMALL_LIMIT = 50_000


@pytest.fixture(scope="module")
def configured_app(tmp_path_factory: pytest.TempPathFactory, tiny_artifacts: Path) -> Iterator[str]:
    """The embedded app with a small upload limit and only the Attention U-Net queued by default."""
    root = tmp_path_factory.mktemp("embedded-configured")
    env = _app_env(root, tiny_artifacts, _free_port(), MAX_UPLOAD_BYTES=str(SMALL_LIMIT), MODELS="attention_unet")
    with _embedded_app(env, root / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ConsoleLog:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: object) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: object) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url', '')})")


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def scan_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("upload")
    image, lesion = synthetic_slice(160, seed=7)
    paths = {"image": folder / "flair-slice.png", "ground_truth": folder / "flair-slice-mask.png"}
    Image.fromarray(image).save(paths["image"])
    Image.fromarray(np.where(lesion, 255, 0).astype(np.uint8)).save(paths["ground_truth"])
    return paths


def _stats(page: object, panel: str) -> dict[str, int]:
    return page.evaluate(CANVAS_STATS_JS, panel)


def _poll(read: Callable[[], T], done: Callable[[T], bool], what: str, timeout_s: float = 5.0) -> T:
    """Read until ``done`` holds. Polls from Python: predicates evaluated in the page would need
    'unsafe-eval', which the app's Content Security Policy refuses."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} (last seen: {value!r})")
        time.sleep(0.05)


def _wait_for_change(page: object, panel: str, before: dict[str, int], what: str) -> dict[str, int]:
    return _poll(
        lambda: _stats(page, panel),
        lambda now: now["checksum"] != before["checksum"],
        f"{what} did not change the pixels of the {panel} panel",
    )


def _shoot(page: object, name: str) -> None:
    ARTIFACTS_OUT.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS_OUT / name), full_page=False)


# Controls a screen reader could not name (no label, aria-label, title or text).
UNNAMED_CONTROLS_JS = """
() => [...document.querySelectorAll("input, button, select, textarea, a[href], canvas")]
  .filter((el) => {
    const labels = el.labels ? [...el.labels].map((l) => l.textContent).join("").trim() : "";
    return !(labels || el.getAttribute("aria-label") || el.getAttribute("title") || el.textContent.trim());
  })
  .map((el) => el.outerHTML.slice(0, 120))
"""

DROP_FILE_JS = """
([bytes, name]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
  return transfer;
}
"""


def _upload(page: object, app_url: str, scan_files: dict[str, Path], drop: bool = False) -> str:
    page.goto(f"{app_url}/#/upload")
    if drop:
        # Drag and drop, as from a file manager.
        image = scan_files["image"]
        transfer = page.evaluate_handle(DROP_FILE_JS, [list(image.read_bytes()), image.name])
        page.dispatch_event(".drop-zone:has(#image)", "drop", {"dataTransfer": transfer})
        assert image.name in (page.locator(".drop-zone:has(#image) .drop-chosen").text_content() or "")
    else:
        page.set_input_files("#image", str(scan_files["image"]))
    page.set_input_files("#ground_truth", str(scan_files["ground_truth"]))
    page.get_by_role("button", name="Upload and segment").click()
    page.wait_for_url(re.compile(r".*#/cases/[0-9a-f]{32}$"))
    return page.url.rsplit("/", 1)[-1]


def test_upload_then_compare_both_models_side_by_side(page: object, app_url: str, scan_files: dict[str, Path]) -> None:
    console = ConsoleLog(page)
    scan_id = _upload(page, app_url, scan_files)

    # Live status: the page fills in by itself once both workers are done.
    page.wait_for_selector('.page-case[data-ready="true"]', timeout=120_000)
    for model in ("unetpp", "attention_unet"):
        chip = page.locator(f'.case-head .chip[data-model="{model}"]')
        assert chip.get_attribute("data-status") == "done", chip.text_content()

    stats = {panel: _stats(page, panel) for panel in PANELS}
    for panel, s in stats.items():
        assert s["nonBlack"] > 0.1 * s["pixels"], f"the {panel} panel is (nearly) empty: {s}"
    for panel in ("groundTruth", "unetpp", "attention_unet"):
        assert stats[panel]["coloured"] > 0, f"no mask drawn on the {panel} panel: {stats[panel]}"
    assert stats["original"]["coloured"] == 0, "the original is drawn without overlay by default"

    # The model toggle draws each model's mask on the original, then both.
    page.locator('label[for="overlay-unetpp"]').click()
    with_unetpp = _wait_for_change(page, "original", stats["original"], "showing U-Net++")
    assert with_unetpp["coloured"] > 0
    page.locator('label[for="overlay-attention_unet"]').click()
    with_attention = _wait_for_change(page, "original", with_unetpp, "switching to Attention U-Net")
    assert with_attention["coloured"] > 0
    page.keyboard.press("3")
    assert page.locator("#overlay-both").is_checked()
    both = _wait_for_change(page, "original", with_attention, "showing both models (key 3)")

    # The opacity slider reblends every overlay.
    page.locator("#opacity").focus()
    page.keyboard.press("End")
    assert page.locator('output[for="opacity"]').text_content() == "100 %"
    opaque = _wait_for_change(page, "original", both, "moving the opacity slider")
    _wait_for_change(page, "groundTruth", stats["groundTruth"], "moving the opacity slider")
    assert opaque["coloured"] >= both["coloured"]

    # Metrics: overlap figures for both models, lesion area and inference time.
    for model in ("unetpp", "attention_unet"):
        for metric in ("dice", "iou", "precision", "recall", "f1"):
            text = page.locator(f'#metrics-table td[data-model="{model}"][data-metric="{metric}"]').text_content()
            assert re.fullmatch(r"[01]\.\d{3}", text or ""), f"{model} {metric}: {text!r}"
        area = page.locator(f'#metrics-table td[data-model="{model}"][data-metric="lesion_area_px"]').text_content()
        assert re.fullmatch(r"[\d,]+ px", area or ""), area
        speed = page.locator(f'#metrics-table td[data-model="{model}"][data-metric="inference_ms"]').text_content()
        assert re.fullmatch(r"\d\.\d ms|\d+ ms|\d+\.\d\d s", speed or ""), speed
    scan = httpx.get(f"{app_url}/api/scans/{scan_id}").json()
    dice = scan["results"]["unetpp"]["metrics"]["dice"]
    shown = page.locator('#metrics-table td[data-model="unetpp"][data-metric="dice"]').text_content()
    assert shown == f"{dice:.3f}"

    page.keyboard.press("[")
    page.keyboard.press("[")
    page.keyboard.press("[")
    page.keyboard.press("[")
    page.keyboard.press("[")
    assert page.locator('output[for="opacity"]').text_content() == "50 %"
    page.wait_for_timeout(200)
    _shoot(page, "web-case-1280x800.png")

    # The difference view colours disagreement and counts it in the legend.
    page.keyboard.press("d")
    assert page.locator("#overlay-difference").is_checked()
    page.locator(".legend", has_text="Only U-Net++").wait_for()
    difference = _stats(page, "original")
    assert difference["coloured"] > 0
    _shoot(page, "web-case-difference.png")

    # The attention heat map tints the Attention U-Net panel.
    assert page.locator("#heatmap").is_enabled()
    before_heat = _stats(page, "attention_unet")
    page.keyboard.press("h")
    assert page.locator("#heatmap").is_checked()
    _wait_for_change(page, "attention_unet", before_heat, "the attention heat map")

    # Probability maps replace the attention map (one heat map at a time) and change the model panels.
    probability = page.locator("#probability")
    _poll(probability.is_enabled, bool, "the probability maps did not load")
    before_soft = _stats(page, "unetpp")
    page.keyboard.press("p")
    assert probability.is_checked() and not page.locator("#heatmap").is_checked()
    _wait_for_change(page, "unetpp", before_soft, "the probability view")
    page.keyboard.press("p")
    assert not probability.is_checked()

    # The outline switch by keyboard (its pixels are checked in the tablet test).
    page.keyboard.press("o")
    assert page.locator("#style-outline").is_checked()

    # Window/level changes the image itself; zoom on one panel moves all four.
    before_window = _stats(page, "attention_unet")
    page.keyboard.press("a")
    _wait_for_change(page, "attention_unet", before_window, "the auto window")
    before_zoom = {panel: _stats(page, panel) for panel in PANELS}
    box = page.locator('canvas[data-panel="original"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    for panel in PANELS:
        _wait_for_change(page, panel, before_zoom[panel], "zooming on the original")

    # The case list shows the scan with both models done.
    page.goto(f"{app_url}/#/cases")
    row = page.locator(f'tr[data-scan-id="{scan_id}"]')
    row.wait_for()
    assert "flair-slice.png" in (row.text_content() or "")
    assert row.locator('.chip[data-status="done"]').count() == 2
    thumb = row.locator("img.thumb")
    _poll(lambda: thumb.evaluate("img => img.naturalWidth"), lambda w: w == 160, "the thumbnail did not load")

    # Opening a finished case from the list draws it straight away.
    row.get_by_role("link", name="flair-slice.png").click()
    page.wait_for_url(f"**/#/cases/{scan_id}")
    page.wait_for_selector('.page-case[data-ready="true"]')
    assert _stats(page, "unetpp")["coloured"] > 0

    assert console.errors == [], console.errors


def test_outline_style_and_tablet_layout(page: object, app_url: str, scan_files: dict[str, Path]) -> None:
    console = ConsoleLog(page)
    page.set_viewport_size({"width": 820, "height": 1180})
    _upload(page, app_url, scan_files, drop=True)
    page.wait_for_selector('.page-case[data-ready="true"]', timeout=120_000)
    filled = _stats(page, "unetpp")
    page.locator('label[for="style-outline"]').click()
    outlined = _wait_for_change(page, "unetpp", filled, "switching to outlines")
    assert 0 < outlined["coloured"] < filled["coloured"], (filled, outlined)
    # At tablet width the panels stay two abreast and the controls move below them.
    boxes = [page.locator(f'canvas[data-panel="{panel}"]').bounding_box() for panel in PANELS]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[2]["y"] > boxes[0]["y"]
    assert all(b["width"] > 300 for b in boxes), boxes
    sidebar = page.locator(".sidebar").bounding_box()
    assert sidebar["y"] > boxes[3]["y"]
    _shoot(page, "web-case-tablet.png")
    assert page.evaluate(UNNAMED_CONTROLS_JS) == []
    assert console.errors == [], console.errors


def test_models_view_compares_the_model_cards(page: object, app_url: str) -> None:
    console = ConsoleLog(page)
    page.goto(f"{app_url}/#/models")
    table = page.locator(".models-table")
    table.wait_for()
    header = table.locator("thead").text_content() or ""
    assert "U-Net++" in header and "Attention U-Net" in header
    for model, dice in (("unetpp", 0.812), ("attention_unet", 0.798)):
        cell = table.locator(f'td[data-model="{model}"]')
        assert cell.and_(page.locator('[data-metric="dice"]')).text_content() == f"{dice:.3f}"
        assert cell.and_(page.locator('[data-metric="per_patient_dice"]')).text_content() == f"{dice - 0.05:.3f}"
        assert cell.and_(page.locator('[data-metric="inference_ms"]')).text_content() == "3.5 ms"
        assert cell.and_(page.locator('[data-metric="test_size"]')).text_content() == "3 / 60"
        assert cell.and_(page.locator('[data-metric="flip_averaging"]')).text_content() == "off"
        assert cell.and_(page.locator('[data-metric="min_component_peak"]')).text_content() == "off"
        assert cell.and_(page.locator('[data-metric="volume_peak"]')).text_content() == "on each slice"
        # What the networks were trained on, from the cards' trained_on and recipe.
        assert cell.and_(page.locator('[data-metric="trained_sequence"]')).text_content() == "FLAIR, axial"
        assert cell.and_(page.locator('[data-metric="trained_in_plane_size"]')).text_content() == "256 × 256"
        assert cell.and_(page.locator('[data-metric="trained_institutions"]')).text_content() == "CS, DU, HT"
        assert cell.and_(page.locator('[data-metric="trained_size"]')).text_content() == "68 / 2,548"
        assert cell.and_(page.locator('[data-metric="context_slices"]')).text_content() == "single slice (2D)"
        assert cell.and_(page.locator('[data-metric="small_lesion_sensitivity"]')).text_content() == "0.750 (9/12)"
    held_out = {m: table.locator(f'td[data-model="{m}"][data-metric="validation_dice_held_out"]') for m in PATCH_SIZE}
    assert held_out["unetpp"].text_content() == "0.700" and held_out["attention_unet"].text_content() == "—"
    patches = {model: table.locator(f'td[data-model="{model}"][data-metric="patch_size"]') for model in PATCH_SIZE}
    assert patches["unetpp"].text_content() == f"{PATCH_SIZE['unetpp']} × {PATCH_SIZE['unetpp']}"
    assert patches["attention_unet"].text_content() == "whole slices"
    assert "Parameters" in (table.text_content() or "")
    _shoot(page, "web-models.png")

    # The upload view says, from the same cards, which slices the models expect.
    page.goto(f"{app_url}/#/upload")
    lede = page.locator("#upload-help", has_text="256 × 256 pixels")
    lede.wait_for()
    assert "trained on axial FLAIR slices of 256 × 256 pixels" in (lede.text_content() or "")
    assert console.errors == [], console.errors


def test_upload_explains_what_is_wrong(page: object, app_url: str, tmp_path: Path) -> None:
    console = ConsoleLog(page)
    page.goto(f"{app_url}/#/upload")
    alert = page.locator(".upload-form [role=alert]")

    assert page.evaluate(UNNAMED_CONTROLS_JS) == []
    page.get_by_role("button", name="Upload and segment").click()
    assert "Choose an MRI slice" in (alert.text_content() or "")

    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    page.set_input_files("#image", str(notes))
    page.get_by_role("button", name="Upload and segment").click()
    assert "is not a PNG, JPEG or TIFF image" in (alert.text_content() or "")

    # A file that claims to be a PNG passes the browser's check; the server's message is shown as it is.
    fake = tmp_path / "broken.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.set_input_files("#image", str(fake))
    page.get_by_role("button", name="Upload and segment").click()
    page.locator(".upload-form [role=alert]", has_text="could not").wait_for()
    assert page.url.endswith("#/upload")
    # Chromium logs the 4xx response itself; anything else is a fault of the app.
    unexpected = [e for e in console.errors if "status of 4" not in e or "/api/scans" not in e]
    assert unexpected == [], unexpected


def test_sign_in_guards_every_view(page: object, private_app: tuple[str, str], scan_files: dict[str, Path]) -> None:
    url, token = private_app
    if httpx.get(f"{url}/api/auth/me").status_code == 404:
        pytest.skip("this server has no accounts")
    console = ConsoleLog(page)

    # Not signed in: any view sends the reader to the sign-in page, which knows where to come back to.
    page.goto(f"{url}/#/cases")
    page.wait_for_url(SIGN_IN_URL)
    assert page.locator("#account").is_hidden()

    _shoot(page, "web-sign-in.png")
    page.fill("#token", "not-a-token")
    page.get_by_role("button", name="Sign in").click()
    page.locator(".sign-in-form [role=alert]", has_text="not valid").wait_for()

    page.fill("#token", token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/#/cases")
    assert page.locator("#account-name").text_content() == "dr-reader"

    # Signed in, the cookie carries the uploads, the images and the live events.
    scan_id = _upload(page, url, scan_files)
    page.wait_for_selector('.page-case[data-ready="true"]', timeout=120_000)
    assert _stats(page, "unetpp")["nonBlack"] > 0
    assert httpx.get(f"{url}/api/scans/{scan_id}").status_code == 401, "the API itself stays closed"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(SIGN_IN_URL)
    page.goto(f"{url}/#/cases/{scan_id}")
    page.wait_for_url(SIGN_IN_URL)

    # Only the refusals before signing in and after signing out may be logged.
    unexpected = [e for e in console.errors if "status of 401" not in e]
    assert unexpected == [], unexpected


def test_the_app_shows_the_models_and_limits_the_server_reports(
    page: object, configured_app: str, scan_files: dict[str, Path], tmp_path: Path
) -> None:
    console = ConsoleLog(page)
    config = httpx.get(f"{configured_app}/api/config").json()
    names = {m["name"]: m["display_name"] for m in config["models"]}
    assert config["upload"]["max_bytes"] == SMALL_LIMIT
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.method) if "/api/scans" in request.url else None)

    # The upload view: the server's limit in the hint, its models by their names, its default choice ticked.
    page.goto(f"{configured_app}/#/upload")
    hint = page.locator(".drop-zone:has(#image) .drop-label")
    hint.wait_for()
    assert "up to 48.8 KB" in (hint.text_content() or "")
    for name, label in names.items():
        assert page.locator(f"label:has(#model-{name})").text_content() == label
    assert page.locator("#model-attention_unet").is_checked()
    assert not page.locator("#model-unetpp").is_checked()

    # A file over the server's limit is refused before anything is sent.
    big = tmp_path / "big.png"
    big.write_bytes(scan_files["image"].read_bytes() + bytes(SMALL_LIMIT))
    page.set_input_files("#image", str(big))
    page.get_by_role("button", name="Upload and segment").click()
    alert = page.locator(".upload-form [role=alert]", has_text="the limit is 48.8 KB")
    alert.wait_for()
    assert "POST" not in sent

    # Within it, the upload goes to the default model only; the case names each model as the server does.
    page.set_input_files("#image", str(scan_files["image"]))
    page.get_by_role("button", name="Upload and segment").click()
    page.wait_for_url(re.compile(r".*#/cases/[0-9a-f]{32}$"))
    page.wait_for_selector('.page-case[data-ready="true"]', timeout=120_000)
    for name, label in names.items():
        title = page.locator(f'canvas[data-panel="{name}"]').get_attribute("aria-label")
        assert title == label
    chips = {c.get_attribute("data-model"): c.text_content() for c in page.locator(".case-head .chip").all()}
    assert chips == {
        "unetpp": f"{names['unetpp']} · Not requested",
        "attention_unet": f"{names['attention_unet']} · Done",
    }
    assert _stats(page, "attention_unet")["nonBlack"] > 0
    assert console.errors == [], console.errors
