// The theme's text colours meet WCAG 2.1 AA contrast (4.5:1) on the backgrounds they are used on.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { parseHexColor } from "../../../web/js/render/overlay.js";
import { COLOURS, MODEL_COLOURS } from "../../../web/js/render/palette.js";

const css = readFileSync(new URL("../../../web/css/app.css", import.meta.url), "utf8");
const variables = Object.fromEntries(
  [...css.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]),
);

function luminance(hex) {
  const [r, g, b] = parseHexColor(hex).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const PAIRS = [
  ["text", "bg"],
  ["text", "surface"],
  ["text", "surface-2"],
  ["muted", "bg"],
  ["muted", "surface"],
  ["muted", "surface-2"],
  ["accent", "bg"],
  ["accent-text", "accent"],
  ["ok", "surface"],
  ["warn", "surface"],
  ["danger", "surface"],
];

for (const [fore, back] of PAIRS) {
  test(`--${fore} on --${back} reaches 4.5:1`, () => {
    assert.ok(variables[fore] && variables[back], `--${fore} or --${back} is not defined in app.css`);
    const ratio = contrast(variables[fore], variables[back]);
    assert.ok(ratio >= 4.5, `${ratio.toFixed(2)}:1`);
  });
}

test("legend swatches stand out from the panel background (3:1 for graphics)", () => {
  for (const [name, colour] of [...Object.entries(COLOURS), ...MODEL_COLOURS.entries()]) {
    assert.ok(contrast(colour, variables.surface) >= 3, name);
  }
});
