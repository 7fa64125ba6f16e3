/**
 * Models view: the models compared from the evaluation recorded in their model cards (GET /api/models): test
 * metrics side by side, what they were trained on, generalisation (validation vs test), size, training time and
 * inference speed. A card is the server's ModelPublic (services/results_api/schemas.py); its test_metrics and
 * validation_metrics are brainmets.catalog.Evaluation, the one shape read here.
 */
import { getModels } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import {
  OVERLAP_METRICS as OVERLAP,
  formatCount,
  formatDuration,
  formatInteger,
  formatMetric,
  formatMs,
  formatSize,
} from "../format.js";
import { swatch } from "../swatch.js";

const number = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);

/**
 * A pooled overlap score (an Evaluation's `global` scores).
 * @returns {number|null}
 */
export function pooledMetric(block, key) {
  return number(block?.global?.[key]);
}

/**
 * The per-patient mean of a metric (slices stacked per patient: the evaluation's headline figure).
 * @returns {number|null}
 */
export function perPatientMetric(block, key) {
  return number(block?.[`per_patient_${key}_mean`]);
}

/** Milliseconds per slice: on the test set, else on the validation set. */
export function inferenceMs(card) {
  return (
    number(card.test_metrics?.inference_ms_per_slice) ??
    number(card.validation_metrics?.inference_ms_per_slice)
  );
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

/** "FLAIR, axial": the sequence and plane of the training slices. */
export function describeSequence(trainedOn) {
  const parts = [trainedOn?.sequence, trainedOn?.plane].filter((p) => typeof p === "string" && p);
  return parts.length ? parts.join(", ") : "—";
}

/**
 * The side of the training patches as "128 × 128", or "whole slices" (a null patch size, or one no smaller
 * than the slices: training crops patches to the slice size).
 */
export function formatPatchSize(recipe) {
  if (!recipe || typeof recipe !== "object" || !("patch_size" in recipe)) return "—";
  const patch = recipe.patch_size;
  if (patch === null) return "whole slices";
  if (number(patch) === null) return "—";
  const slice = number(recipe.input_size);
  return slice !== null && patch >= slice ? "whole slices" : `${patch} × ${patch}`;
}

/**
 * What one prediction reads: "single slice (2D)", or the slice with its neighbours as channels,
 * e.g. "slice ± 2 (2.5D)". A 2.5D model segments a whole volume best; a lone slice is its own neighbour.
 */
export function formatInputSlices(contextSlices) {
  const k = number(contextSlices);
  if (k === null) return "—";
  return k === 0 ? "single slice (2D)" : `slice ± ${formatInteger(k)} (2.5D)`;
}

/** Institution codes, comma-joined. */
export function formatInstitutions(codes) {
  const names = Array.isArray(codes) ? codes.filter((c) => typeof c === "string" && c) : [];
  return names.length ? names.join(", ") : "—";
}

/** "3 / 60" from `patients` and `slices` (of test metrics or training data); "—" for a missing one. */
export function formatPatientsSlices(block) {
  const patients = number(block?.patients);
  const slices = number(block?.slices);
  if (patients === null && slices === null) return "—";
  return `${formatInteger(patients)} / ${formatInteger(slices)}`;
}

/**
 * A size class of the pooled lesion sensitivity ("small", "medium", "large"): {true, detected, sensitivity}.
 * @returns {{true: number|null, detected: number|null, sensitivity: number|null}|null}
 */
export function lesionSizeClass(metrics, sizeClass) {
  const block = metrics?.lesion_sensitivity_by_size?.[sizeClass];
  if (!block || typeof block !== "object") return null;
  return {
    true: number(block.true),
    detected: number(block.detected),
    sensitivity: number(block.sensitivity),
  };
}

/** "0.750 (3/4)": the sensitivity and the lesions behind it; "— (0/0)" when the test set has none. */
export function formatLesionSensitivity(block) {
  if (!block) return "—";
  const share = formatMetric(block.sensitivity);
  return block.true === null || block.detected === null
    ? share
    : `${share} (${formatInteger(block.detected)}/${formatInteger(block.true)})`;
}

function bar(value, colour) {
  const percent = number(value) === null ? 0 : Math.max(0, Math.min(1, value)) * 100;
  return h(
    "span",
    { class: "bar", attrs: { "aria-hidden": "true" } },
    h("span", { class: "bar-fill", style: { width: `${percent.toFixed(1)}%`, "--swatch": colour } }),
  );
}

/**
 * Rows of the comparison: [heading, key for data-metric, value of a card, format, drawn as a bar].
 * The bar is true (the value is its fraction), false, or a function giving the fraction from the value.
 * A heading row is [title] alone.
 */
const ROWS = [
  ["Test set, per patient"],
  ["Dice (mean)", "per_patient_dice", (c) => perPatientMetric(c.test_metrics, "dice"), formatMetric, true],
  [
    "Dice (median)",
    "per_patient_dice_median",
    (c) => number(c.test_metrics?.per_patient_dice_median),
    formatMetric,
    true,
  ],
  ["Test set, pooled over all pixels"],
  ...OVERLAP.map(([key, title]) => [
    title,
    key,
    (c) => pooledMetric(c.test_metrics, key),
    formatMetric,
    true,
  ]),
  ["Lesions and boundaries"],
  [
    "Lesion sensitivity",
    "lesion_sensitivity",
    (c) => number(c.test_metrics?.lesion_sensitivity),
    formatMetric,
    true,
  ],
  [
    "Small-lesion sensitivity (< 100 px)",
    "small_lesion_sensitivity",
    (c) => lesionSizeClass(c.test_metrics, "small"),
    formatLesionSensitivity,
    (block) => block?.sensitivity ?? null,
  ],
  [
    "False-positive lesions / patient",
    "false_positive_lesions_per_patient",
    (c) => number(c.test_metrics?.false_positive_lesions_per_patient),
    (v) => (v === null ? "—" : v.toFixed(2)),
    false,
  ],
  [
    "HD95 (px)",
    "hd95_mean",
    (c) => number(c.test_metrics?.hd95_mean),
    (v) => (v === null ? "—" : v.toFixed(1)),
    false,
  ],
  // What the networks saw: they segment best slices like these.
  ["Training data"],
  ["MRI sequence", "trained_sequence", (c) => c.trained_on, describeSequence, false],
  ["In-plane size", "trained_in_plane_size", (c) => c.trained_on?.in_plane_size, formatSize, false],
  ["Training patches", "patch_size", (c) => c.recipe, formatPatchSize, false],
  ["Input slices", "context_slices", (c) => c.context_slices ?? 0, formatInputSlices, false],
  [
    "Dataset",
    "trained_dataset",
    (c) => c.trained_on?.dataset,
    (v) => (typeof v === "string" && v ? v : "—"),
    false,
  ],
  ["Institutions", "trained_institutions", (c) => c.trained_on?.institutions, formatInstitutions, false],
  ["Patients / slices", "trained_size", (c) => c.trained_on, formatPatientsSlices, false],
  ["Generalisation"],
  [
    "Validation Dice (per patient)",
    "validation_dice",
    (c) => perPatientMetric(c.validation_metrics, "dice") ?? pooledMetric(c.validation_metrics, "dice"),
    formatMetric,
    true,
  ],
  // Calibration chooses its post-processing on the validation patients and scores it on them; held out, each is
  // scored with the setting chosen on the others: the honest figure.
  [
    "Validation Dice (held out)",
    "validation_dice_held_out",
    (c) => number(c.validation_metrics?.postprocessing_search?.held_out?.per_patient_dice_mean),
    formatMetric,
    true,
  ],
  ["Test patients / slices", "test_size", (c) => c.test_metrics, formatPatientsSlices, false],
  ["Cost"],
  ["Parameters", "parameters", (c) => number(c.parameters), formatCount, false],
  [
    "GFLOPs per slice",
    "gflops",
    (c) => number(c.test_metrics?.gflops),
    (v) => (v === null ? "—" : v.toFixed(2)),
    false,
  ],
  ["Inference per slice", "inference_ms", inferenceMs, formatMs, false],
  ["Training time", "training_time_s", (c) => number(c.training_time_s), formatDuration, false],
  ["Epochs (best)", "epochs", (c) => c, formatEpochs, false],
  ["Training hardware", "hardware", (c) => c.hardware, describeHardware, false],
  ["Prediction"],
  [
    "Decision threshold",
    "threshold",
    (c) => number(c.threshold),
    (v) => (v === null ? "—" : v.toFixed(2)),
    false,
  ],
  [
    "Smallest lesion kept (px)",
    "min_component_pixels",
    (c) => number(c.min_component_pixels),
    (v) => (v === null ? "—" : formatInteger(v)),
    false,
  ],
  [
    "Least peak probability kept",
    "min_component_peak",
    (c) => number(c.min_component_peak),
    // Up to four decimals: 0.995 and 0.999 are different rules, and toFixed(2) shows both as 1.00.
    (v) => (v === null ? "—" : v > 0 ? String(Number(v.toFixed(4))) : "off"),
    false,
  ],
  [
    "Peak looked for in volumes",
    "volume_peak",
    (c) => c.volume_peak,
    (v) => (v === undefined || v === null ? "—" : v ? "over each 3D lesion" : "on each slice"),
    false,
  ],
  [
    "Flip averaging",
    "flip_averaging",
    (c) => c.flip_averaging,
    (v) => (v === undefined || v === null ? "—" : v ? "on" : "off"),
    false,
  ],
  ["Input size", "input_size", (c) => c.input_size, formatSize, false],
  ["Version", "version", (c) => c.version, (v) => v ?? "—", false],
];

function formatEpochs(card) {
  if (!card.epochs) return "—";
  return card.best_epoch ? `${card.epochs} (${card.best_epoch})` : String(card.epochs);
}

/**
 * @param {HTMLElement} outlet
 * @param {{models: import("../lineup.js").ModelView[]}} context
 * @returns {() => void} cleanup
 */
export function mountModels(outlet, { models }) {
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
          "The networks on the held-out test patients, from the evaluation recorded in each model card. " +
          "Per-patient figures stack each patient's slices into one volume; pooled figures count every test pixel.",
      }),
      body,
    ),
  );

  const render = (cards) => {
    body.setAttribute("aria-busy", "false");
    const byName = Object.fromEntries(cards.map((card) => [card.name, card]));
    // In the server's order, each in the colour it has everywhere in the app.
    const shown = models.filter((m) => byName[m.name]);
    if (!shown.length) {
      replaceChildren(
        body,
        h("div", { class: "alert", attrs: { role: "alert" }, text: "No model is loaded on the server." }),
      );
      return;
    }
    const rows = ROWS.map(([title, key, get, format, drawBar]) => {
      if (!key) {
        return h(
          "tr",
          { class: "group" },
          h("th", { text: title, attrs: { scope: "colgroup", colspan: shown.length + 1 } }),
        );
      }
      return h(
        "tr",
        {},
        h("th", { text: title, attrs: { scope: "row" } }),
        shown.map(({ name, colour }) => {
          const value = get(byName[name]);
          const text = format(value);
          return h(
            "td",
            { class: "num", dataset: { model: name, metric: key } },
            drawBar
              ? h(
                  "span",
                  { class: "metric-cell" },
                  text,
                  bar(typeof drawBar === "function" ? drawBar(value) : value, colour),
                )
              : text,
          );
        }),
      );
    });
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
            shown.map(({ name, colour }) =>
              h("th", { class: "num", attrs: { scope: "col" } }, swatch(colour), byName[name].display_name),
            ),
          ),
        ),
        h("tbody", {}, rows),
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
