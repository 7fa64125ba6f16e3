/**
 * A model's status as a small labelled chip, shared by the case list and the case view.
 */
import { h } from "../dom.js";

const WORDS = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" };

/**
 * @param {{name: string, label: string}} model from the lineup
 * @param {{status: string, error?: string}|undefined} result undefined when the model was not requested
 * @returns {HTMLElement}
 */
export function statusChip(model, result) {
  const status = result?.status ?? "skipped";
  const word = WORDS[status] ?? "Not requested";
  return h(
    "span",
    {
      class: `chip chip-${status}`,
      attrs: { title: result?.error ?? `${model.label}: ${word}` },
      dataset: { model: model.name, status },
    },
    h("span", { class: "chip-dot", attrs: { "aria-hidden": "true" } }),
    `${model.label} · ${word}`,
  );
}
