/**
 * Volume view: a whole study slice by slice. The four panels (image, ground truth, both models) follow one
 * slice; a slider, Shift + mouse wheel, Page Up/Down, Home and End scrub. The synced zoom, pan and
 * window/level are the case view's. Beside them: each model's progress while it runs, its lesion list (a click
 * jumps to the lesion's largest slice and centres it), the 3D metrics of the models, and the downloads. The
 * models, their names, colours and which gives an attention map are the server's (GET /api/config).
 */
import { getScan, isSettled, watchScan } from "../api.js";
import { append, h, replaceChildren } from "../dom.js";
import { ImagePanel } from "../panel.js";
import { composePanels } from "../render/compose.js";
import { loadPixels } from "../render/image.js";
import { maskFromRgba } from "../render/overlay.js";
import { FULL_WINDOW, greyFromRgba } from "../render/windowing.js";
import { swatch } from "../swatch.js";
import { SyncedViewport } from "../viewport.js";
import { caseHead, panelList } from "./case.js";
import { clampLevel, clampWidth } from "./case-state.js";
import { statusChip } from "./status.js";
import {
  VOLUME_METRICS,
  clampSlice,
  isMeasurable,
  lesionText,
  progressText,
  sliceForKey,
  sliceForWheel,
  sliceUrl,
} from "./volume-logic.js";

/**
 * @param {HTMLElement} outlet
 * @param {{params: {id: string}, models: import("../lineup.js").ModelView[]}} context the models in the
 *   server's order (GET /api/config)
 * @returns {() => void} cleanup
 */
export function mountVolume(outlet, { params, models }) {
  const PANELS = panelList(models);
  // The model whose results come with an attention map (the server says which), if any.
  const attentive = models.find((model) => model.attentionMap) ?? null;
  const controller = new AbortController();
  const viewport = new SyncedViewport();
  const settings = { overlay: "none", opacity: 0.5, style: "fill", ...FULL_WINDOW, heatmap: false };
  let scan = null;
  let k = 0;
  let stopWatching = () => {};
  let shown = -1; // the slice on screen
  let loading = 0; // a counter, so that only the latest slice request draws

  const title = h("h1", { text: "Volume", attrs: { tabindex: "-1" } });
  const meta = h("p", { class: "case-meta muted" });
  const chips = h("div", { class: "chips", attrs: { "aria-label": "Model status" } });
  const slider = h("input", {
    attrs: { type: "range", min: "0", max: "0", value: "0", id: "slice-slider", "aria-label": "Slice" },
  });
  const sliceLabel = h("output", { attrs: { for: "slice-slider", id: "slice-label" } });
  const heatmap = h("input", { attrs: { type: "checkbox", id: "volume-heatmap", disabled: true } });
  const side = h("div", { class: "volume-side" });
  const root = h("section", { class: "page page-case page-volume", dataset: { ready: "false", slice: "0" } });
  const panels = Object.fromEntries(
    PANELS.map(([key, name, colour]) => [
      key,
      new ImagePanel({
        key,
        title: name,
        colour,
        viewport,
        onWindowDrag: (dx, dy) => {
          settings.width = clampWidth(settings.width + dx);
          settings.level = clampLevel(settings.level + dy);
          draw(current);
        },
      }),
    ]),
  );
  const grid = h(
    "div",
    { class: "panel-grid" },
    PANELS.map(([key]) => panels[key].element),
  );
  let current = null; // the images of the slice on screen

  replaceChildren(outlet, root);
  append(root, [
    caseHead(title, meta, chips),
    h(
      "div",
      { class: "case-layout" },
      h(
        "div",
        { class: "viewer" },
        h(
          "div",
          { class: "slice-scrubber" },
          h("label", { text: "Slice ", attrs: { for: "slice-slider" } }),
          slider,
          sliceLabel,
          attentive
            ? h(
                "label",
                { attrs: { for: "volume-heatmap" } },
                heatmap,
                ` Attention map on the ${attentive.label}`,
              )
            : null,
        ),
        grid,
      ),
      h("aside", { class: "sidebar", attrs: { "aria-label": "Lesions, metrics and downloads" } }, side),
    ),
  ]);

  slider.addEventListener("input", () => goTo(Number(slider.value)));
  heatmap.addEventListener("change", () => {
    settings.heatmap = heatmap.checked;
    draw(current);
  });
  // Shift + wheel scrubs; the plain wheel keeps zooming, as in the case view. Capture runs before the panel's.
  grid.addEventListener(
    "wheel",
    (event) => {
      if (!event.shiftKey || !scan) return;
      event.preventDefault();
      event.stopPropagation();
      goTo(sliceForWheel(k, event.deltaY || event.deltaX, scan.slices));
    },
    { capture: true, passive: false },
  );
  function onKey(event) {
    if (!scan || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement && event.target !== slider) return;
    const next = sliceForKey(k, event.key, scan.slices);
    if (next === null) return;
    event.preventDefault();
    goTo(next);
  }
  document.addEventListener("keydown", onKey);

  function goTo(next) {
    k = clampSlice(next, scan.slices);
    slider.value = String(k);
    sliceLabel.textContent = `${k + 1} / ${scan.slices}`;
    root.dataset.slice = String(k);
    loadSlice();
  }

  async function loadSlice() {
    const ticket = ++loading;
    const links = scan.links;
    root.dataset.ready = "false";
    const fetchMask = (url) => (url ? loadPixels(sliceUrl(url, k), controller.signal) : null);
    const attentionUrl = attentive ? scan.results?.[attentive.name]?.links?.slice_attention : null;
    try {
      const [image, truth, attention, ...masks] = await Promise.all([
        loadPixels(sliceUrl(links.slice_image, k), controller.signal),
        scan.has_ground_truth ? fetchMask(links.slice_ground_truth) : null,
        fetchMask(attentionUrl),
        ...models.map(({ name }) =>
          scan.results?.[name]?.status === "done" ? fetchMask(scan.results[name].links.slice_mask) : null,
        ),
      ]);
      if (ticket !== loading) return; // a newer slice was asked for meanwhile
      current = {
        width: image.width,
        height: image.height,
        grey: greyFromRgba(image.rgba),
        groundTruth: truth ? maskFromRgba(truth.rgba) : null,
        masks: Object.fromEntries(
          models.map(({ name }, i) => [name, masks[i] ? maskFromRgba(masks[i].rgba) : null]),
        ),
        attention: attention ? greyFromRgba(attention.rgba) : null,
      };
      heatmap.disabled = !attention;
      shown = k;
      draw(current);
    } catch (error) {
      if (error.name !== "AbortError")
        panels.original.setMessage(`Could not load slice ${k}: ${error.message}`);
    }
  }

  function draw(images) {
    if (!images) return;
    const pixels = composePanels(images, settings, models);
    for (const [key] of PANELS) {
      if (pixels[key]) panels[key].setPixels(pixels[key], images.width, images.height);
    }
    panels.original.setMessage("");
    const pending = models.some(({ name }) => ["queued", "running"].includes(scan.results?.[name]?.status));
    root.dataset.ready = String(shown === k && !pending);
  }

  /** Jump to a lesion's largest slice and centre it, magnified so that it stands out. */
  function showLesion(lesion) {
    goTo(lesion.largest_slice);
    const [column, row] = lesion.centre_px;
    viewport.set({
      zoom: Math.max(2, viewport.view.zoom),
      u: (column + 0.5) / scan.width,
      v: (row + 0.5) / scan.height,
    });
  }

  function renderSide() {
    const blocks = [];
    for (const model of models) {
      const result = scan.results?.[model.name];
      if (!result) continue;
      const progress = progressText(result);
      const lesions = result.lesions ?? [];
      blocks.push(
        h(
          "section",
          { class: "lesion-block", dataset: { model: model.name } },
          h("h2", {}, swatch(model.colour), ` ${model.label}`),
          progress
            ? h("p", { class: "progress muted", text: progress, dataset: { model: model.name } })
            : null,
          result.status === "done"
            ? [
                h("p", {
                  class: "muted",
                  text: `${lesions.length} lesion${lesions.length === 1 ? "" : "s"}`,
                }),
                h(
                  "ol",
                  { class: "lesion-list", dataset: { model: model.name } },
                  lesions.map((lesion) =>
                    h(
                      "li",
                      {},
                      h("button", {
                        class: `lesion${isMeasurable(lesion) ? " measurable" : ""}`,
                        text: lesionText(lesion),
                        dataset: { lesion: String(lesion.id), slice: String(lesion.largest_slice) },
                        attrs: { type: "button", title: "Show this lesion" },
                        on: { click: () => showLesion(lesion) },
                      }),
                    ),
                  ),
                ),
                h(
                  "p",
                  { class: "downloads" },
                  h("a", {
                    class: "button",
                    text: "NIfTI mask",
                    attrs: { href: result.links.mask, download: "" },
                  }),
                  result.links.seg
                    ? h("a", {
                        class: "button",
                        text: "DICOM SEG",
                        attrs: { href: result.links.seg, download: "" },
                      })
                    : null,
                ),
              ]
            : null,
        ),
      );
    }
    const done = models.filter((m) => scan.results?.[m.name]?.metrics);
    if (done.length) {
      blocks.push(
        h(
          "table",
          { class: "table metrics-table", attrs: { id: "volume-metrics" } },
          h("caption", { text: "3D metrics" }),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("td"),
              done.map((m) => h("th", { text: m.label, attrs: { scope: "col" } })),
            ),
          ),
          h(
            "tbody",
            {},
            VOLUME_METRICS.map(([label, key, format]) =>
              h(
                "tr",
                {},
                h("th", { text: label, attrs: { scope: "row" } }),
                done.map((m) =>
                  h("td", {
                    class: "num",
                    text: format(scan.results[m.name].metrics[key]),
                    dataset: { model: m.name, metric: key },
                  }),
                ),
              ),
            ),
          ),
        ),
      );
    }
    replaceChildren(side, blocks);
  }

  function showScan(next) {
    const first = scan === null;
    const finished = models.filter(
      ({ name }) => next.results?.[name]?.status === "done" && scan?.results?.[name]?.status !== "done",
    );
    scan = next;
    title.textContent = scan.filename || `Scan ${scan.id}`;
    meta.textContent = [
      scan.shape ? `${scan.shape.join(" × ")} voxels` : null,
      scan.spacing_mm ? `${scan.spacing_mm.map((s) => s.toFixed(2)).join(" × ")} mm` : null,
      scan.has_ground_truth ? "with ground truth" : "no ground truth",
    ]
      .filter(Boolean)
      .join(" · ");
    replaceChildren(
      chips,
      models.map((m) => statusChip(m, scan.results?.[m.name])),
    );
    if (!scan.has_ground_truth) panels.groundTruth.setMessage("No ground truth uploaded");
    for (const { name } of models) {
      const result = scan.results?.[name];
      const panel = panels[name];
      if (!result) panel.setMessage("Not requested for this scan");
      else if (result.status === "failed") panel.setMessage(`Failed: ${result.error ?? "unknown error"}`);
      else if (result.status !== "done")
        panel.setMessage(progressText(result) || "Waiting for a worker…", { busy: true });
      else panel.setMessage("");
    }
    renderSide();
    slider.max = String(scan.slices - 1);
    if (first) goTo(Math.floor(scan.slices / 2));
    else if (finished.length) loadSlice(); // the new masks of the slice on screen
  }

  panels.original.setMessage("Loading the volume…", { busy: true });
  getScan(params.id, controller.signal)
    .then((first) => {
      showScan(first);
      if (!isSettled(first)) stopWatching = watchScan(params.id, showScan);
    })
    .catch((error) => {
      if (error.name === "AbortError") return;
      replaceChildren(root, h("div", { class: "alert", attrs: { role: "alert" }, text: error.message }));
    });

  return () => {
    controller.abort();
    stopWatching();
    document.removeEventListener("keydown", onKey);
    for (const panel of Object.values(panels)) panel.destroy();
  };
}
