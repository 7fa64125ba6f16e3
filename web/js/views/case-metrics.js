/**
 * The metrics table of a case: one column per model, one row per figure, so the two models read side by side.
 */
import { h, replaceChildren } from "../dom.js";
import { OVERLAP_METRICS as OVERLAP, formatInteger, formatMetric, formatMs } from "../format.js";
import { swatch } from "../swatch.js";

/** The model with the strictly highest value of an overlap metric, if any. */
export function leader(scan, key, names) {
  const values = names.map((m) => scan.results?.[m]?.metrics?.[key]).filter((v) => typeof v === "number");
  if (values.length < 2) return null;
  const best = Math.max(...values);
  const leaders = names.filter((m) => scan.results?.[m]?.metrics?.[key] === best);
  return leaders.length === 1 ? leaders[0] : null;
}

/**
 * @param {HTMLElement} container replaced with the table
 * @param {object} scan the scan JSON
 * @param {{agreementDice: number}|null} agreement Dice between the compared masks, once both are loaded
 * @param {import("../lineup.js").ModelView[]} lineup the models in the server's order
 */
export function renderMetrics(container, scan, agreement, lineup) {
  const shown = lineup.filter((m) => scan.results?.[m.name]);
  const models = shown.map((m) => m.name);
  const cell = (model, key, text, extra = "") =>
    h("td", { class: `num ${extra}`.trim(), text, dataset: { model, metric: key } });

  const rows = [];
  if (scan.has_ground_truth) {
    for (const [key, label] of OVERLAP) {
      const best = leader(scan, key, models);
      rows.push(
        h(
          "tr",
          {},
          h("th", { text: label, attrs: { scope: "row" } }),
          models.map((m) =>
            cell(m, key, formatMetric(scan.results[m].metrics?.[key]), best === m ? "best" : ""),
          ),
        ),
      );
    }
  }
  const plain = [
    [
      "lesion_area_px",
      "Lesion area",
      (r) => (r.lesion_area_px == null ? "—" : `${formatInteger(r.lesion_area_px)} px`),
    ],
    ["inference_ms", "Inference", (r) => formatMs(r.inference_ms)],
    ["model_version", "Version", (r) => r.model_version ?? "—"],
    ["device", "Device", (r) => r.device ?? "—"],
  ];
  for (const [key, label, show] of plain) {
    rows.push(
      h(
        "tr",
        {},
        h("th", { text: label, attrs: { scope: "row" } }),
        models.map((m) => cell(m, key, show(scan.results[m]))),
      ),
    );
  }

  replaceChildren(
    container,
    h(
      "table",
      { class: "table metrics-table", attrs: { id: "metrics-table" } },
      h("caption", { text: "Metrics" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("td"),
          shown.map((m) => h("th", { attrs: { scope: "col" } }, swatch(m.colour), m.label)),
        ),
      ),
      h("tbody", {}, rows),
    ),
    h(
      "p",
      { class: "note" },
      !scan.has_ground_truth
        ? "No ground truth uploaded: overlap metrics are not available."
        : models.length > 1
          ? "Overlap with the ground truth; the higher value in green."
          : "Overlap with the ground truth.",
      agreement
        ? [
            " Models agree at Dice ",
            h("strong", { text: formatMetric(agreement.agreementDice), attrs: { id: "agreement" } }),
            ".",
          ]
        : null,
    ),
  );
}
