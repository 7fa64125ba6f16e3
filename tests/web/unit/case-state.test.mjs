// The case view's state rules, apart from the DOM: settings, panel status, announcements, assets, readiness.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { scanUrls } from "../../../web/js/api.js";
import {
  announcement,
  assetsToFetch,
  initialSettings,
  isReady,
  nextSettings,
  panelStatus,
  stepOpacity,
} from "../../../web/js/views/case-state.js";
import { ATTENTION, MODELS, UNETPP } from "./fixtures.mjs";

const scan = (unetpp, attention, extra = {}) => ({
  id: "s1",
  has_ground_truth: true,
  results: {
    unetpp: { status: unetpp, links: unetpp === "done" ? { mask: "/m/u", probability: "/p/u" } : {} },
    attention_unet: {
      status: attention,
      links: attention === "done" ? { mask: "/m/a", attention: "/att" } : {},
    },
  },
  ...extra,
});

describe("settings", () => {
  test("one heat map at a time: the newer choice wins", () => {
    const both = nextSettings({ ...initialSettings(), heatmap: true }, { probability: true });
    assert.deepEqual([both.probability, both.heatmap], [true, false]);
    const back = nextSettings(both, { heatmap: true });
    assert.deepEqual([back.probability, back.heatmap], [false, true]);
  });
  test("opacity moves in 5 % steps between 0 and 1", () => {
    assert.equal(stepOpacity(0.5, 0.1), 0.6);
    assert.equal(stepOpacity(0.95, 0.1), 1);
    assert.equal(stepOpacity(0.02, -0.1), 0);
  });
});

describe("panels and announcements", () => {
  test("each state of a result reads as the reader expects", () => {
    assert.equal(panelStatus(undefined).message, "Not requested for this scan");
    assert.deepEqual(panelStatus({ status: "running" }), {
      status: "running",
      statusClass: "is-running",
      message: "Segmenting…",
      busy: true,
    });
    assert.equal(panelStatus({ status: "failed", error: "out of memory" }).message, "Failed: out of memory");
    assert.equal(panelStatus({ status: "done" }).message, "");
  });
  test("a model's end is announced once, with its Dice, under its display name", () => {
    const done = { status: "done", metrics: { dice: 0.8123 } };
    assert.equal(announcement(ATTENTION, { status: "running" }, done), "Attention U-Net done, Dice 0.812.");
    assert.equal(announcement(UNETPP, done, done), null);
    assert.equal(announcement(UNETPP, undefined, done), null);
    assert.equal(announcement(UNETPP, { status: "queued" }, { status: "running" }), null);
  });
});

describe("assets", () => {
  test("the slice first, then the ground truth and what each finished model links", () => {
    const s = scan("done", "done");
    const urls = scanUrls(s, MODELS);
    assert.deepEqual(
      assetsToFetch(s, null, urls, MODELS).map((a) => a.key),
      ["image"],
    );
    const images = { width: 1, height: 1 };
    assert.deepEqual(
      assetsToFetch(s, images, urls, MODELS).map((a) => `${a.key} ${a.url}`),
      [
        "groundTruth /api/scans/s1/ground-truth",
        "mask:unetpp /m/u",
        "mask:attention_unet /m/a",
        "probability:unetpp /p/u",
        "attention /att",
      ],
    );
    const waiting = scan("running", "queued", { has_ground_truth: false });
    assert.deepEqual(assetsToFetch(waiting, images, scanUrls(waiting, MODELS), MODELS), []);
  });

  test("ready once every finished mask and the ground truth are drawn and no model works", () => {
    const all = { image: true, groundTruth: true, unetpp: true, attention_unet: true };
    assert.equal(isReady(scan("done", "failed"), all, MODELS), true);
    assert.equal(isReady(scan("done", "done"), { ...all, attention_unet: false }, MODELS), false);
    assert.equal(isReady(scan("done", "running"), all, MODELS), false);
    assert.equal(isReady(scan("done", "done"), { ...all, groundTruth: false }, MODELS), false);
    assert.equal(isReady(null, all, MODELS), false);
  });
});
