/**
 * Models view: the two models compared from their evaluation (GET /api/models): test metrics side by side,
 * training time, size and inference speed.
 */
import { MODELS, MODEL_LABELS, getModels } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { formatCount, formatDuration, formatMetric, formatMs } from "../format.js";
import { COLOURS } from "../render/palette.js";

const OVERLAP = [
  ["dice", "Dice"],
  ["iou", "IoU"],
  ["precision", "Precision"],
  ["recall", "Recall"],
  ["f1", "F1"],
];

/**
 * A metric from an evaluation block. The training evaluation writes per-patient means
 * (`per_patient_dice_mean`) and pooled scores (`global.f1`); simpler cards hold plain numbers or {mean}.
 * The per-patient mean wins, as it is the headline figure of the evaluation report.
 * @returns {number|null}
 */
export function metricValue(block, key) {
  if (!block || typeof block !== "object") return null;
  const candidates = [block[`per_patient_${key}_mean`], block[key], block.mean?.[key], block.global?.[key]];
  for (const value of candidates) {
    if (typeof value === "number") return value;
    if (value && typeof value.mean === "number") return value.mean;
  }
  return null;
}

/** Milliseconds per slice, wherever the card records it. */
export function inferenceMs(card) {
  const candidates = [
    card.test_metrics?.inference_ms_per_slice,
    card.inference_ms,
    card.benchmark?.inference_ms,
    card.benchmark?.ms_per_image,
    card.test_metrics?.inference_ms,
    card.hardware?.inference_ms,
  ];
  return candidates.find((v) => typeof v === "number") ?? null;
}

/** "NVIDIA H100", "x86_64 CPU, 16 threads" or the device type. */
export function describeHardware(hardware) {
  if (!hardware || typeof hardware !== "object") return "—";
  if (typeof hardware.gpu === "string") return hardware.gpu;
  if (typeof hardware.cpu === "string") {
    return `${hardware.cpu} CPU${hardware.threads ? `, ${hardware.threads} threads` : ""}`;
  }
  return typeof hardware.device === "string" ? hardware.device : "—";
}

function bar(value, colour) {
  const percent = typeof value === "number" ? Math.max(0, Math.min(1, value)) * 100 : 0;
  return h(
    "span",
    { class: "bar", attrs: { "aria-hidden": "true" } },
    h("span", { class: "bar-fill", attrs: { style: `width: ${percent.toFixed(1)}%; --swatch: ${colour}` } }),
  );
}

/**
 * @param {HTMLElement} outlet
 * @returns {() => void} cleanup
 */
export function mountModels(outlet) {
  const controller = new AbortController();
  const body = h(
    "div",
    { attrs: { "aria-busy": "true" } },
    h("p", { class: "muted", text: "Loading the model cards…" }),
  );
  replaceChildren(
    outlet,
    h(
      "section",
      { class: "page" },
      h("div", { class: "page-head" }, h("h1", { text: "Models", attrs: { tabindex: "-1" } })),
      h("p", {
        class: "lede",
        text:
          "Both networks on the held-out test patients, from the evaluation recorded in each model card: " +
          "per-patient means where the card has them, otherwise scores pooled over all slices.",
      }),
      body,
    ),
  );

  const render = (cards) => {
    body.setAttribute("aria-busy", "false");
    const byName = Object.fromEntries(cards.map((card) => [card.name, card]));
    const shown = [
      ...MODELS.filter((m) => byName[m]),
      ...cards.map((c) => c.name).filter((n) => !MODELS.includes(n)),
    ];
    if (!shown.length) {
      replaceChildren(
        body,
        h("div", { class: "alert", attrs: { role: "alert" }, text: "No model is loaded on the server." }),
      );
      return;
    }
    const label = (name) => byName[name].display_name ?? MODEL_LABELS[name] ?? name;
    const colour = (name) => COLOURS[name] ?? "#9aa7b4";
    const row = (title, cell) =>
      h(
        "tr",
        {},
        h("th", { text: title, attrs: { scope: "row" } }),
        shown.map((name) => cell(byName[name], name)),
      );
    const text = (value, extra = "") => h("td", { class: extra, text: value });

    const metricRows = OVERLAP.map(([key, title]) =>
      row(`Test ${title}`, (card, name) => {
        const value = metricValue(card.test_metrics, key);
        return h(
          "td",
          { class: "num", dataset: { model: name, metric: key } },
          h("span", { class: "metric-cell" }, formatMetric(value), bar(value, colour(name))),
        );
      }),
    );
    replaceChildren(
      body,
      h(
        "table",
        { class: "table models-table" },
        h("caption", { class: "visually-hidden", text: "Model comparison" }),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("td"),
            shown.map((name) =>
              h(
                "th",
                { attrs: { scope: "col" } },
                h("span", {
                  class: "swatch",
                  attrs: { style: `--swatch: ${colour(name)}`, "aria-hidden": "true" },
                }),
                label(name),
              ),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          metricRows,
          row("Validation Dice", (card) =>
            text(formatMetric(metricValue(card.validation_metrics, "dice")), "num"),
          ),
          row("Parameters", (card) => text(formatCount(card.parameters), "num")),
          row("Training time", (card) => text(formatDuration(card.training_time_s), "num")),
          row("Epochs (best)", (card) =>
            text(
              card.epochs ? `${card.epochs}${card.best_epoch ? ` (${card.best_epoch})` : ""}` : "—",
              "num",
            ),
          ),
          row("Inference per slice", (card) => text(formatMs(inferenceMs(card)), "num")),
          row("Input size", (card) =>
            text(Array.isArray(card.input_size) ? card.input_size.join(" × ") : "—", "num"),
          ),
          row("Trained on", (card) => text(describeHardware(card.hardware))),
          row("Version", (card) => text(card.version ?? "—", "mono")),
        ),
      ),
    );
  };

  getModels(controller.signal)
    .then((payload) => render(payload.models ?? []))
    .catch((error) => {
      if (error.name === "AbortError") return;
      body.setAttribute("aria-busy", "false");
      replaceChildren(body, h("div", { class: "alert", attrs: { role: "alert" }, text: error.message }));
    });
  return () => controller.abort();
}
