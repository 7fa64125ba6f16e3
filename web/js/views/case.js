/**
 * Case view: the original MRI, the ground truth and both models' masks side by side, with live status,
 * overlays, window/level, synced zoom and pan, and the metrics table.
 */
import { MODELS, MODEL_LABELS, getScan, isSettled, scanUrls, watchScan } from "../api.js";
import { append, h, replaceChildren } from "../dom.js";
import { formatDate, formatMetric } from "../format.js";
import { ImagePanel } from "../panel.js";
import { differenceLabels, differenceSummary } from "../render/difference.js";
import { composePanels } from "../render/compose.js";
import { loadPixels } from "../render/image.js";
import { maskFromRgba } from "../render/overlay.js";
import { COLOURS } from "../render/palette.js";
import { FULL_WINDOW, autoWindow, greyFromRgba } from "../render/windowing.js";
import { isTypingTarget, runShortcut, shortcutsDialog } from "../shortcuts.js";
import { SyncedViewport } from "../viewport.js";
import { buildControls } from "./case-controls.js";
import { legendEntries, readoutText, renderLegend } from "./case-legend.js";
import { renderMetrics } from "./case-metrics.js";
import { statusChip } from "./status.js";

const PANELS = [
  ["original", "Original MRI", null],
  ["groundTruth", "Ground truth", COLOURS.groundTruth],
  ["unetpp", MODEL_LABELS.unetpp, COLOURS.unetpp],
  ["attention_unet", MODEL_LABELS.attention_unet, COLOURS.attention_unet],
];

const WAITING = { queued: "Waiting for a worker…", running: "Segmenting…" };

/**
 * @param {HTMLElement} outlet
 * @param {{params: {id: string}}} context
 * @returns {() => void} cleanup
 */
export function mountCase(outlet, { params }) {
  const controller = new AbortController();
  const viewport = new SyncedViewport();
  const settings = {
    overlay: "none",
    opacity: 0.5,
    style: "fill",
    ...FULL_WINDOW,
    heatmap: false,
    probability: false,
  };
  /** @type {import("../render/compose.js").CaseImages|null} */
  let images = null;
  const requested = new Set(); // assets already being fetched
  let scan = null;
  let stopWatching = () => {};
  let frame = 0;
  /** What the last render put on screen, for data-ready. */
  let drawn = { image: false, groundTruth: false, unetpp: false, attention_unet: false };

  const announcer = h("p", { class: "visually-hidden", attrs: { "aria-live": "polite" } });
  const title = h("h1", { text: "Case", attrs: { tabindex: "-1" } });
  const meta = h("p", { class: "case-meta muted" });
  const chips = h("div", { class: "chips", attrs: { "aria-label": "Model status" } });
  const readout = h("p", { class: "readout muted", attrs: { "aria-hidden": "true" } }, " ");
  const metrics = h("div", { class: "metrics" });
  const dialog = shortcutsDialog();
  const root = h("section", { class: "page page-case", dataset: { ready: "false" } });

  const panels = Object.fromEntries(
    PANELS.map(([key, name, colour]) => [
      key,
      new ImagePanel({
        key,
        title: name,
        colour,
        viewport,
        onWindowDrag: (dx, dy) =>
          update({ width: clampWidth(settings.width + dx), level: clampLevel(settings.level + dy) }),
        onHover: showReadout,
      }),
    ]),
  );

  const controls = buildControls({
    onChange: (partial) => update(partial),
    onAutoWindow: () => actions.autoWindow(),
    onResetWindow: () => actions.fullWindow(),
    onResetView: () => actions.fit(),
    onHelp: () => actions.help(),
  });
  controls.setProbabilityAvailable(false, "Available once a model has finished");
  controls.setHeatmapAvailable(false, "Available once the Attention U-Net result provides its attention map");

  replaceChildren(outlet, root);
  append(root, [
    h(
      "header",
      { class: "case-head" },
      h("a", { class: "back", text: "← Cases", attrs: { href: "#/cases" } }),
      h("div", { class: "case-title" }, title, meta),
      chips,
    ),
    h(
      "div",
      { class: "case-layout" },
      h(
        "div",
        { class: "viewer" },
        h(
          "div",
          { class: "panel-grid" },
          PANELS.map(([k]) => panels[k].element),
        ),
        readout,
      ),
      h(
        "aside",
        { class: "sidebar", attrs: { "aria-label": "Reading controls and metrics" } },
        controls.element,
        metrics,
      ),
    ),
    announcer,
    dialog,
  ]);
  root.dataset.scanId = params.id;

  function clampLevel(v) {
    return Math.min(255, Math.max(0, Math.round(v)));
  }
  function clampWidth(v) {
    return Math.min(256, Math.max(1, Math.round(v)));
  }

  function update(partial) {
    Object.assign(settings, partial);
    // Two heat maps at once would be unreadable: the newer choice wins.
    if (partial.probability) settings.heatmap = false;
    else if (partial.heatmap) settings.probability = false;
    controls.sync(settings);
    scheduleRender();
  }

  function scheduleRender() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  }

  function render() {
    if (!images) return;
    const pixels = composePanels(images, settings);
    for (const [key] of PANELS) {
      if (pixels[key]) panels[key].setPixels(pixels[key], images.width, images.height);
    }
    drawn = {
      image: true,
      groundTruth: Boolean(images.groundTruth),
      unetpp: Boolean(images.masks.unetpp),
      attention_unet: Boolean(images.masks.attention_unet),
    };
    renderLegend(controls.legend, legendEntries(settings.overlay, images.masks));
    markReady();
  }

  function showReadout(pixel) {
    readout.textContent = pixel && images ? readoutText(images, pixel) : " ";
  }

  async function fetchOnce(key, url, use) {
    if (requested.has(key)) return;
    requested.add(key);
    try {
      use(await loadPixels(url, controller.signal));
      scheduleRender();
    } catch (error) {
      if (error.name === "AbortError") return;
      requested.delete(key); // let the next scan update retry it
      announce(`Could not load an image: ${error.message}`);
    }
  }

  function sameSize(picture, what) {
    if (picture.width === images.width && picture.height === images.height) return true;
    announce(
      `The ${what} is ${picture.width}×${picture.height}, not ${images.width}×${images.height}; not shown.`,
    );
    return false;
  }

  function loadAssets() {
    if (!scan) return;
    const urls = scanUrls(scan);
    if (!images) {
      fetchOnce("image", urls.image, (picture) => {
        images = {
          width: picture.width,
          height: picture.height,
          grey: greyFromRgba(picture.rgba),
          groundTruth: null,
          masks: { unetpp: null, attention_unet: null },
          attention: null,
        };
        panels.original.setMessage("");
        loadAssets();
      });
      return;
    }
    if (scan.has_ground_truth) {
      fetchOnce("groundTruth", urls.groundTruth, (picture) => {
        if (sameSize(picture, "ground truth")) images.groundTruth = maskFromRgba(picture.rgba);
        panels.groundTruth.setMessage("");
      });
    }
    for (const model of MODELS) {
      if (scan.results?.[model]?.status !== "done") continue;
      fetchOnce(`mask:${model}`, urls.masks[model], (picture) => {
        if (sameSize(picture, `${MODEL_LABELS[model]} mask`))
          images.masks[model] = maskFromRgba(picture.rgba);
        refreshMetrics();
      });
    }
    for (const model of MODELS) {
      const url = scan.results?.[model]?.status === "done" ? urls.probability[model] : null;
      if (!url) continue;
      fetchOnce(`probability:${model}`, url, (picture) => {
        if (!sameSize(picture, `${MODEL_LABELS[model]} probability map`)) return;
        images.probability = { ...images.probability, [model]: greyFromRgba(picture.rgba) };
        controls.setProbabilityAvailable(true);
      });
    }
    if (urls.attention && scan.results?.attention_unet?.status === "done") {
      fetchOnce("attention", urls.attention, (picture) => {
        if (!sameSize(picture, "attention map")) return;
        images.attention = greyFromRgba(picture.rgba);
        controls.setHeatmapAvailable(true);
      });
    }
  }

  /** data-ready tells readers and tests that every finished result is drawn and no model is still working. */
  function markReady() {
    if (!scan) return;
    const pending = MODELS.some((m) => {
      const r = scan.results?.[m];
      return r && (r.status === "queued" || r.status === "running" || (r.status === "done" && !drawn[m]));
    });
    const ready = drawn.image && !pending && (!scan.has_ground_truth || drawn.groundTruth);
    root.dataset.ready = String(ready);
  }

  function refreshMetrics() {
    const { unetpp, attention_unet: attention } = images?.masks ?? {};
    renderMetrics(
      metrics,
      scan,
      unetpp && attention ? differenceSummary(differenceLabels(unetpp, attention)) : null,
    );
  }

  function announce(text) {
    announcer.textContent = text;
  }

  function showScan(next) {
    const previous = scan;
    scan = next;
    title.textContent = scan.filename || `Scan ${scan.id}`;
    title.title = title.textContent; // the heading may be cut short on narrow screens
    meta.textContent = [
      scan.width && scan.height ? `${scan.width} × ${scan.height} px` : null,
      scan.has_ground_truth ? "with ground truth" : "no ground truth",
      `uploaded ${formatDate(scan.created_at)}`,
    ]
      .filter(Boolean)
      .join(" · ");
    replaceChildren(
      chips,
      MODELS.map((m) => statusChip(m, scan.results?.[m])),
    );
    if (!scan.has_ground_truth) panels.groundTruth.setMessage("No ground truth uploaded");
    for (const model of MODELS) {
      const result = scan.results?.[model];
      const panel = panels[model];
      if (!result) {
        panel.setStatus("not requested", "muted");
        panel.setMessage("Not requested for this scan");
        continue;
      }
      panel.setStatus(result.status, `is-${result.status}`);
      if (result.status === "failed") panel.setMessage(`Failed: ${result.error ?? "unknown error"}`);
      else if (WAITING[result.status]) panel.setMessage(WAITING[result.status], { busy: true });
      else panel.setMessage("");
      const was = previous?.results?.[model]?.status;
      if (was && was !== result.status && (result.status === "done" || result.status === "failed")) {
        const dice = result.metrics?.dice;
        announce(
          `${MODEL_LABELS[model]} ${result.status}${typeof dice === "number" ? `, Dice ${formatMetric(dice)}` : ""}.`,
        );
      }
    }
    refreshMetrics();
    loadAssets();
    markReady();
  }

  const canvasSize = () => ({ width: panels.original.canvas.width, height: panels.original.canvas.height });
  /** @type {import("../shortcuts.js").CaseActions} */
  const actions = {
    setOverlay: (overlay) => update({ overlay }),
    toggleStyle: () => update({ style: settings.style === "fill" ? "outline" : "fill" }),
    // Round to the slider's 5 % steps so repeated presses do not drift.
    nudgeOpacity: (delta) =>
      update({ opacity: Math.min(1, Math.max(0, Math.round((settings.opacity + delta) * 20) / 20)) }),
    toggleHeatmap: () => images?.attention && update({ heatmap: !settings.heatmap }),
    toggleProbability: () => images?.probability && update({ probability: !settings.probability }),
    autoWindow: () => images && update(autoWindow(images.grey)),
    fullWindow: () => update({ ...FULL_WINDOW }),
    zoom: (factor) => {
      const size = canvasSize();
      if (images) viewport.zoomAt(factor, size.width / 2, size.height / 2, size, images);
    },
    pan: (dx, dy) => {
      const size = canvasSize();
      const side = Math.min(size.width, size.height);
      if (images) viewport.panBy(dx * side, dy * side, size, images);
    },
    fit: () => viewport.reset(),
    help: () => dialog.showModal(),
  };

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || dialog.open) return;
    if (isTypingTarget(event.target, event.key)) return;
    if (runShortcut(event.key, actions)) event.preventDefault();
  }
  document.addEventListener("keydown", onKey);

  controls.sync(settings);
  panels.original.setMessage("Loading the scan…", { busy: true });
  getScan(params.id, controller.signal)
    .then((first) => {
      // A whole study has its own view (views/volume.js).
      if (first.kind === "volume") return window.location.replace(`#/volumes/${encodeURIComponent(first.id)}`);
      showScan(first);
      if (!isSettled(first)) stopWatching = watchScan(params.id, showScan);
    })
    .catch((error) => {
      if (error.name === "AbortError") return;
      replaceChildren(
        root,
        h("div", { class: "page-head" }, h("h1", { text: "Case not available", attrs: { tabindex: "-1" } })),
        h("div", { class: "alert", attrs: { role: "alert" }, text: error.message }),
        h("a", { class: "button", text: "Back to cases", attrs: { href: "#/cases" } }),
      );
    });

  return () => {
    controller.abort();
    stopWatching();
    cancelAnimationFrame(frame);
    document.removeEventListener("keydown", onKey);
    for (const panel of Object.values(panels)) panel.destroy();
  };
}
