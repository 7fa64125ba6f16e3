import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  FULL_WINDOW,
  applyWindow,
  autoWindow,
  buildWindowLut,
  greyFromRgba,
  windowRange,
} from "../../../web/js/render/windowing.js";

describe("buildWindowLut", () => {
  test("the full window is the identity", () => {
    const lut = buildWindowLut(FULL_WINDOW.level, FULL_WINDOW.width);
    for (let v = 0; v < 256; v += 1) assert.equal(lut[v], v);
  });

  test("a narrow window clamps below and above and stretches inside", () => {
    const lut = buildWindowLut(100, 50); // 75..125
    assert.equal(lut[0], 0);
    assert.equal(lut[75], 0);
    assert.equal(lut[100], 128);
    assert.equal(lut[125], 255);
    assert.equal(lut[200], 255);
  });

  test("raising the level darkens the image", () => {
    assert.ok(buildWindowLut(160, 128)[128] < buildWindowLut(128, 128)[128]);
  });

  test("a width below 1 is treated as 1", () => {
    assert.deepEqual(windowRange(10, 0), { low: 9.5, high: 10.5 });
    const lut = buildWindowLut(10, 0);
    assert.equal(lut[9], 0);
    assert.equal(lut[11], 255);
  });
});

describe("applyWindow", () => {
  test("three grey pixels become opaque RGBA through the table", () => {
    const lut = buildWindowLut(127.5, 256);
    const rgba = applyWindow(new Uint8Array([0, 128, 255]), lut);
    assert.deepEqual([...rgba], [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255]);
  });
});

describe("greyFromRgba", () => {
  test("grey pixels keep their value and colour uses luma", () => {
    const grey = greyFromRgba(new Uint8ClampedArray([7, 7, 7, 255, 255, 0, 0, 255]));
    assert.deepEqual([...grey], [7, 76]);
  });
});

describe("autoWindow", () => {
  test("spans the non-zero pixels and ignores the black background", () => {
    const grey = new Uint8Array(1000);
    for (let i = 500; i < 1000; i += 1) grey[i] = 50 + ((i - 500) % 101); // 50..150
    const { level, width } = autoWindow(grey, 0, 1);
    const { low, high } = windowRange(level, width);
    assert.equal(Math.round(low + 0.5), 50);
    assert.equal(Math.round(high - 0.5), 150);
  });

  test("an all-black image gets the full window", () => {
    assert.deepEqual(autoWindow(new Uint8Array(16)), { ...FULL_WINDOW });
  });
});
