/**
 * Case view: the original MRI, the ground truth and each model's mask side by side, with live status,
 * overlays, window/level, synced zoom and pan, and the metrics table. This module builds the page and shows
 * what the controller (case-controller.js) asks for; keys go to the controller's actions.
 */
import { append, h, replaceChildren } from "../dom.js";
import { ImagePanel } from "../panel.js";
import { COLOURS } from "../render/palette.js";
import { caseShortcuts, isTypingTarget, overlayChoices, runShortcut, shortcutsDialog } from "../shortcuts.js";
import { SyncedViewport } from "../viewport.js";
import { buildControls } from "./case-controls.js";
import { CaseController } from "./case-controller.js";
import { renderLegend } from "./case-legend.js";
import { renderMetrics } from "./case-metrics.js";
import { caseMeta, panelStatus } from "./case-state.js";
import { statusChip } from "./status.js";

/**
 * The panels in order: [key, title, colour].
 * @param {import("../lineup.js").ModelView[]} models
 */
export function panelList(models) {
  return [
    ["original", "Original MRI", null],
    ["groundTruth", "Ground truth", COLOURS.groundTruth],
    ...models.map((m) => [m.name, m.label, m.colour]),
  ];
}

/** The page when the scan cannot be shown. */
function unavailable(message) {
  return [
    h("div", { class: "page-head" }, h("h1", { text: "Case not available", attrs: { tabindex: "-1" } })),
    h("div", { class: "alert", attrs: { role: "alert" }, text: message }),
    h("a", { class: "button", text: "Back to cases", attrs: { href: "#/cases" } }),
  ];
}

/** A case page's header (the volume view's too): back to the cases, the title and details, the status chips. */
export function caseHead(title, meta, chips) {
  return h(
    "header",
    { class: "case-head" },
    h("a", { class: "back", text: "← Cases", attrs: { href: "#/cases" } }),
    h("div", { class: "case-title" }, title, meta),
    chips,
  );
}

/** The page's frame around the panels and the sidebar. */
function layout({ title, meta, chips, panels, readout, controls, metrics, announcer, dialog }) {
  return [
    caseHead(title, meta, chips),
    h(
      "div",
      { class: "case-layout" },
      h("div", { class: "viewer" }, h("div", { class: "panel-grid" }, panels), readout),
      h(
        "aside",
        { class: "sidebar", attrs: { "aria-label": "Reading controls and metrics" } },
        controls,
        metrics,
      ),
    ),
    announcer,
    dialog,
  ];
}

/**
 * @param {HTMLElement} outlet
 * @param {{params: {id: string}, models: import("../lineup.js").ModelView[]}} context
 * @returns {() => void} cleanup
 */
export function mountCase(outlet, { params, models }) {
  const viewport = new SyncedViewport();
  const choices = overlayChoices(models);
  const announcer = h("p", { class: "visually-hidden", attrs: { "aria-live": "polite" } });
  const title = h("h1", { text: "Case", attrs: { tabindex: "-1" } });
  const meta = h("p", { class: "case-meta muted" });
  const chips = h("div", { class: "chips", attrs: { "aria-label": "Model status" } });
  const readout = h("p", { class: "readout muted", attrs: { "aria-hidden": "true" } }, " ");
  const metrics = h("div", { class: "metrics" });
  const dialog = shortcutsDialog(caseShortcuts(models));
  const root = h("section", { class: "page page-case", dataset: { ready: "false", scanId: params.id } });

  /** @type {CaseController} */
  let controller = null;
  const panels = Object.fromEntries(
    panelList(models).map(([key, name, colour]) => [
      key,
      new ImagePanel({
        key,
        title: name,
        colour,
        viewport,
        onWindowDrag: (dx, dy) => controller.dragWindow(dx, dy),
        onHover: (pixel) => {
          readout.textContent = controller.readout(pixel);
        },
      }),
    ]),
  );
  const controls = buildControls({
    choices,
    onChange: (partial) => controller.update(partial),
    onAutoWindow: () => actions.autoWindow(),
    onResetWindow: () => actions.fullWindow(),
    onResetView: () => actions.fit(),
    onHelp: () => actions.help(),
  });
  controls.setProbabilityAvailable(false, "Available once a model has finished");
  const withMaps = models.filter((m) => m.attentionMap).map((m) => m.label);
  const heatmapWhy = withMaps.length
    ? `Available once the ${withMaps.join(" or ")} result provides its attention map`
    : "No model gives one";
  controls.setHeatmapAvailable(false, heatmapWhy);

  replaceChildren(outlet, root);
  append(
    root,
    layout({
      title,
      meta,
      chips,
      panels: Object.values(panels).map((panel) => panel.element),
      readout,
      controls: controls.element,
      metrics,
      announcer,
      dialog,
    }),
  );

  /** @type {import("./case-controller.js").CaseView} */
  const view = {
    showScan(scan) {
      title.textContent = scan.filename || `Scan ${scan.id}`;
      title.title = title.textContent; // the heading may be cut short on narrow screens
      meta.textContent = caseMeta(scan);
      replaceChildren(
        chips,
        models.map((m) => statusChip(m, scan.results?.[m.name])),
      );
      if (!scan.has_ground_truth) panels.groundTruth.setMessage("No ground truth uploaded");
      for (const model of models) {
        const shown = panelStatus(scan.results?.[model.name]);
        panels[model.name].setStatus(shown.status, shown.statusClass);
        panels[model.name].setMessage(shown.message, { busy: shown.busy });
      }
    },
    announce(text) {
      announcer.textContent = text;
    },
    loaded(kind) {
      panels[kind === "image" ? "original" : kind].setMessage("");
    },
    draw(pixels, width, height) {
      for (const [key, panel] of Object.entries(panels)) {
        if (pixels[key]) panel.setPixels(pixels[key], width, height);
      }
    },
    legend: (entries) => renderLegend(controls.legend, entries),
    metrics: (scan, agreement) => renderMetrics(metrics, scan, agreement, models),
    sync: (settings) => controls.sync(settings),
    available(what) {
      if (what === "probability") controls.setProbabilityAvailable(true);
      else controls.setHeatmapAvailable(true);
    },
    ready(ready) {
      root.dataset.ready = String(ready);
    },
    fail(message) {
      replaceChildren(root, unavailable(message));
    },
    openVolume(id) {
      // A whole study has its own view (views/volume.js); replace, so Back skips this redirect.
      window.location.replace(`#/volumes/${encodeURIComponent(id)}`);
    },
  };
  controller = new CaseController({ id: params.id, models, view });

  const canvasSize = () => ({ width: panels.original.canvas.width, height: panels.original.canvas.height });
  /** @type {import("../shortcuts.js").CaseActions} the controller's, plus what the viewport and dialog do */
  const actions = {
    ...controller.actions,
    zoom: (factor) => {
      const size = canvasSize();
      if (controller.images)
        viewport.zoomAt(factor, size.width / 2, size.height / 2, size, controller.images);
    },
    pan: (dx, dy) => {
      const size = canvasSize();
      const side = Math.min(size.width, size.height);
      if (controller.images) viewport.panBy(dx * side, dy * side, size, controller.images);
    },
    fit: () => viewport.reset(),
    help: () => dialog.showModal(),
  };

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || dialog.open) return;
    if (isTypingTarget(event.target, event.key)) return;
    if (runShortcut(event.key, actions, choices)) event.preventDefault();
  }
  document.addEventListener("keydown", onKey);

  panels.original.setMessage("Loading the scan…", { busy: true });
  controller.start();

  return () => {
    controller.stop();
    document.removeEventListener("keydown", onKey);
    for (const panel of Object.values(panels)) panel.destroy();
  };
}
