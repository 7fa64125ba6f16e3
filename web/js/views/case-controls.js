/**
 * The reading controls of a case: overlay choice, opacity, fill/outline, attention heat map, window/level and
 * view. Each control calls `onChange(partialSettings)` or a named action; `sync(settings)` shows the settings.
 */
import { h } from "../dom.js";

function radioGroup(name, legend, choices, onPick) {
  const inputs = [];
  const group = h(
    "fieldset",
    { class: "segmented" },
    h("legend", { text: legend }),
    choices.map(([value, label, key]) => {
      const input = h("input", { attrs: { type: "radio", name, value, id: `${name}-${value}` } });
      input.addEventListener("change", () => input.checked && onPick(value));
      inputs.push(input);
      return h(
        "label",
        { attrs: { for: `${name}-${value}`, title: key ? `Shortcut: ${key}` : null } },
        input,
        h("span", { text: label }),
      );
    }),
  );
  const sync = (value) => {
    for (const input of inputs) input.checked = input.value === value;
  };
  return { group, sync };
}

/** A labelled checkbox; unavailable ones are disabled and say why in their tooltip. */
function toggle(id, text, key, onToggle) {
  const input = h("input", { attrs: { type: "checkbox", id } });
  input.addEventListener("change", () => onToggle(input.checked));
  const label = h(
    "label",
    { class: "check", attrs: { title: `Shortcut: ${key}` } },
    input,
    h("span", { text }),
  );
  return {
    label,
    sync: (on) => {
      input.checked = on;
    },
    setAvailable: (yes, why = "") => {
      input.disabled = !yes;
      label.classList.toggle("is-disabled", !yes);
      label.title = yes ? `Shortcut: ${key}` : why;
    },
  };
}

function slider({ id, label, min, max, step, onInput, format }) {
  const input = h("input", { attrs: { type: "range", id, min, max, step } });
  const output = h("output", { attrs: { for: id } });
  input.addEventListener("input", () => onInput(Number(input.value)));
  const row = h("div", { class: "slider" }, h("label", { text: label, attrs: { for: id } }), input, output);
  const sync = (value) => {
    input.value = String(value);
    output.textContent = format(value);
  };
  return { row, sync };
}

/**
 * @param {{choices: Array<[string, string, string]>, onChange: (partial: object) => void,
 *          onAutoWindow: () => void, onResetWindow: () => void, onResetView: () => void, onHelp: () => void}} handlers
 *   choices: the overlay choices (shortcuts.js overlayChoices)
 * @returns {{element: HTMLElement, sync: (settings: object) => void, legend: HTMLElement,
 *            setHeatmapAvailable: (yes: boolean, why?: string) => void,
 *            setProbabilityAvailable: (yes: boolean, why?: string) => void}}
 */
export function buildControls({ choices, onChange, onAutoWindow, onResetWindow, onResetView, onHelp }) {
  const overlay = radioGroup("overlay", "Drawn on the original MRI panel", choices, (v) =>
    onChange({ overlay: v }),
  );
  const style = radioGroup(
    "style",
    "Mask style",
    [
      ["fill", "Filled", "O"],
      ["outline", "Outline", "O"],
    ],
    (v) => onChange({ style: v }),
  );
  const opacity = slider({
    id: "opacity",
    label: "Opacity",
    min: 0,
    max: 100,
    step: 5,
    onInput: (v) => onChange({ opacity: v / 100 }),
    format: (v) => `${v} %`,
  });
  const level = slider({
    id: "window-level",
    label: "Level",
    min: 0,
    max: 255,
    step: 1,
    onInput: (v) => onChange({ level: v }),
    format: (v) => String(Math.round(v)),
  });
  const width = slider({
    id: "window-width",
    label: "Width",
    min: 1,
    max: 256,
    step: 1,
    onInput: (v) => onChange({ width: v }),
    format: (v) => String(Math.round(v)),
  });
  const probability = toggle("probability", "Probability", "P", (on) => onChange({ probability: on }));
  const heatmap = toggle("heatmap", "Attention map", "H", (on) => onChange({ heatmap: on }));

  const legend = h("ul", {
    class: "legend",
    attrs: { "aria-label": "Colour legend", "aria-live": "polite" },
  });

  const button = (text, title, action) =>
    h("button", { text, attrs: { type: "button", title }, on: { click: action } });

  const element = h(
    "div",
    { class: "controls" },
    h(
      "section",
      { class: "control-group", attrs: { "aria-labelledby": "overlay-heading" } },
      h("h2", { text: "Overlay on the original", attrs: { id: "overlay-heading" } }),
      overlay.group,
      style.group,
      h(
        "div",
        { class: "control-row", attrs: { role: "group", "aria-label": "Model panels show" } },
        probability.label,
        heatmap.label,
      ),
      opacity.row,
      legend,
    ),
    h(
      "section",
      { class: "control-group", attrs: { "aria-labelledby": "window-heading" } },
      h("h2", { text: "Window and view", attrs: { id: "window-heading" } }),
      level.row,
      width.row,
      h(
        "div",
        { class: "button-row" },
        button("Auto window", "Fit the window to the brain (A)", onAutoWindow),
        button("Full range", "Show the full range (W)", onResetWindow),
        button("Fit", "Reset zoom and pan (F)", onResetView),
        button("?", "Keyboard shortcuts (?)", onHelp),
      ),
    ),
  );

  return {
    element,
    legend,
    sync(settings) {
      overlay.sync(settings.overlay);
      style.sync(settings.style);
      opacity.sync(Math.round(settings.opacity * 100));
      level.sync(settings.level);
      width.sync(settings.width);
      heatmap.sync(settings.heatmap);
      probability.sync(Boolean(settings.probability));
    },
    setHeatmapAvailable: heatmap.setAvailable,
    setProbabilityAvailable: probability.setAvailable,
  };
}
