// Small pure helpers of the views: API error messages, file checks, routing, shortcuts, formatting, model cards.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { errorMessage, isSettled, scanUrls } from "../../../web/js/api.js";
import { formatBytes, formatDuration, formatMetric, formatMs } from "../../../web/js/format.js";
import { matchRoute } from "../../../web/js/router.js";
import { caseShortcuts, overlayChoices, runShortcut } from "../../../web/js/shortcuts.js";
import {
  describeHardware,
  inferenceMs,
  perPatientMetric,
  pooledMetric,
} from "../../../web/js/views/models.js";
import { legendEntries, readoutText } from "../../../web/js/views/case-legend.js";
import { safeNext } from "../../../web/js/views/sign-in.js";
import { acceptList, checkFile, formatNames } from "../../../web/js/views/upload.js";
import { CARD, CONFIG, MODELS } from "./fixtures.mjs";

describe("errorMessage", () => {
  test("shows the API's detail as a sentence", () => {
    assert.equal(errorMessage({ detail: "the image file is empty" }, 422), "The image file is empty");
  });
  test("joins validation errors with where they are", () => {
    const body = { detail: [{ loc: ["body", "image"], msg: "Field required" }] };
    assert.equal(errorMessage(body, 422), "image: Field required");
  });
  test("falls back on the status", () => {
    assert.match(errorMessage(null, 413), /too large/);
    assert.match(errorMessage(null, 502), /HTTP 502/);
  });
});

describe("checkFile, with the server's upload rules", () => {
  const rules = CONFIG.upload;
  test("accepts the server's formats by name or type", () => {
    assert.equal(checkFile({ name: "slice.TIF", type: "", size: 10 }, rules), null);
    assert.equal(checkFile({ name: "upload", type: "image/png", size: 10 }, rules), null);
    assert.equal(formatNames(rules), "PNG, JPEG or TIFF");
    assert.equal(
      acceptList(rules),
      ".png,.jpg,.jpeg,.tif,.tiff,.nii,.nii.gz,.zip," +
        "image/png,image/jpeg,image/tiff,application/x-nifti,application/zip",
    );
  });
  test("refuses other files, empty files and files over the server's limit", () => {
    assert.match(
      checkFile({ name: "notes.txt", type: "text/plain", size: 10 }, rules),
      /not a PNG, JPEG or TIFF/,
    );
    assert.match(checkFile({ name: "a.png", type: "image/png", size: 0 }, rules), /empty/);
    assert.equal(checkFile({ name: "a.png", type: "image/png", size: rules.max_bytes }, rules), null);
    assert.match(
      checkFile({ name: "a.png", type: "image/png", size: rules.max_bytes + 1 }, rules),
      /limit is 20/,
    );
    const small = { ...rules, max_bytes: 1000, media_types: { "image/png": [".png"] } };
    assert.match(checkFile({ name: "a.png", type: "image/png", size: 1001 }, small), /the limit is 1000 B/);
    assert.match(checkFile({ name: "a.tif", type: "image/tiff", size: 10 }, small), /not a PNG image/);
  });
});

describe("scans", () => {
  const scan = {
    id: "abc",
    links: { image: "/api/scans/abc/image" },
    results: {
      unetpp: { status: "done", links: { mask: "/m/u" } },
      attention_unet: { status: "running", links: {} },
    },
  };
  test("a scan is settled only when every result is done or failed", () => {
    assert.equal(isSettled(scan), false);
    assert.equal(
      isSettled({ results: { unetpp: { status: "done" }, attention_unet: { status: "failed" } } }),
      true,
    );
    assert.equal(isSettled({ results: {} }), false);
  });
  test("image URLs prefer the scan's links, else fill the server's templates", () => {
    const urls = scanUrls(scan, MODELS);
    assert.equal(urls.masks.unetpp, "/m/u");
    assert.equal(urls.masks.attention_unet, "/api/scans/abc/masks/attention_unet");
    assert.equal(urls.groundTruth, "/api/scans/abc/ground-truth");
    assert.equal(urls.attention, null);
  });
  test("the attention map comes from whichever result links one", () => {
    const done = { ...scan, results: { attention_unet: { status: "done", links: { attention: "/a" } } } };
    assert.equal(scanUrls(done, MODELS).attention, "/a");
  });
});

describe("matchRoute", () => {
  const routes = [
    { pattern: /^\/cases$/, title: "Cases" },
    { pattern: /^\/cases\/([^/]+)$/, names: ["id"], title: "Case" },
  ];
  test("extracts parameters and the query", () => {
    const found = matchRoute("#/cases/ab%20c?offset=20", routes);
    assert.equal(found.route.title, "Case");
    assert.deepEqual(found.params, { id: "ab c" });
    assert.equal(matchRoute("#/cases?offset=20", routes).query.get("offset"), "20");
  });
  test("returns null for unknown paths", () => {
    assert.equal(matchRoute("#/nowhere", routes), null);
  });
});

describe("runShortcut", () => {
  /** Actions that record what they were asked to do. */
  function recorder() {
    const calls = [];
    const record =
      (name) =>
      (...args) =>
        calls.push([name, ...args]);
    const names = [
      "setOverlay",
      "toggleStyle",
      "nudgeOpacity",
      "toggleHeatmap",
      "autoWindow",
      "fullWindow",
      "zoom",
      "pan",
      "fit",
      "help",
    ];
    return { calls, actions: Object.fromEntries(names.map((n) => [n, record(n)])) };
  }

  const choices = overlayChoices(MODELS);

  test("runs the documented shortcuts", () => {
    const { calls, actions } = recorder();
    for (const key of ["1", "2", "3", "4", "D", "]", "ArrowLeft", "O", "?"]) {
      assert.equal(runShortcut(key, actions, choices), true);
    }
    assert.deepEqual(calls, [
      ["setOverlay", "unetpp"],
      ["setOverlay", "attention_unet"],
      ["setOverlay", "both"],
      ["setOverlay", "difference"],
      ["setOverlay", "difference"],
      ["nudgeOpacity", 0.1],
      ["pan", 0.1, 0],
      ["toggleStyle"],
      ["help"],
    ]);
  });

  test("ignores other keys", () => {
    const { calls, actions } = recorder();
    assert.equal(runShortcut("x", actions, choices), false);
    assert.equal(runShortcut("Enter", actions, choices), false);
    assert.equal(runShortcut("5", actions, choices), false);
    assert.deepEqual(calls, []);
  });

  test("the digits and the help follow the server's models", () => {
    const three = [...MODELS, { ...MODELS[0], name: "swin_unetr", label: "Swin UNETR", key: "3" }];
    assert.deepEqual(
      overlayChoices(three).map(([value, label, key]) => `${key} ${value} ${label}`),
      [
        "0 none Off",
        "1 unetpp U-Net++",
        "2 attention_unet Attention U-Net",
        "3 swin_unetr Swin UNETR",
        "4 both All",
        "5 difference Difference",
      ],
    );
    const help = Object.fromEntries(caseShortcuts(three));
    assert.equal(help["3"], "Overlay Swin UNETR");
    assert.equal(help["5 or D"], "Difference between U-Net++ and Attention U-Net");
    assert.equal(Object.fromEntries(caseShortcuts(MODELS)).H, "Attention map on the Attention U-Net panel");
    // One model: nothing to compare, so no "both", no difference and no D.
    const { calls, actions } = recorder();
    assert.equal(runShortcut("d", actions, overlayChoices(MODELS.slice(0, 1))), false);
    assert.deepEqual(calls, []);
  });
});

describe("format", () => {
  test("metrics, times and sizes", () => {
    assert.equal(formatMetric(0.81234), "0.812");
    assert.equal(formatMetric(null), "—");
    assert.equal(formatMs(3.46), "3.5 ms");
    assert.equal(formatMs(83.4), "83 ms");
    assert.equal(formatMs(1240), "1.24 s");
    assert.equal(formatDuration(3725), "1 h 2 min");
    assert.equal(formatBytes(1536), "1.5 KB");
  });
});

describe("model cards, in the server's schema", () => {
  test("pooled metrics are the evaluation's global scores", () => {
    assert.equal(pooledMetric(CARD.test_metrics, "dice"), CARD.test_metrics.global.dice);
    assert.equal(pooledMetric({ global: { dice: null } }, "dice"), null);
    assert.equal(pooledMetric(undefined, "dice"), null);
  });
  test("inference time is the test set's, else the validation set's", () => {
    assert.equal(inferenceMs(CARD), CARD.test_metrics.inference_ms_per_slice);
    assert.equal(inferenceMs({ test_metrics: {}, validation_metrics: { inference_ms_per_slice: 12 } }), 12);
    assert.equal(inferenceMs({ test_metrics: {}, validation_metrics: {} }), null);
  });
});

describe("model cards from the training evaluation", () => {
  const block = {
    per_patient_dice_mean: 0.71,
    global: { dice: 0.75, f1: 0.75 },
    inference_ms_per_slice: 9.5,
  };
  test("keep per-patient and pooled figures apart", () => {
    assert.equal(perPatientMetric(block, "dice"), 0.71);
    assert.equal(pooledMetric(block, "dice"), 0.75);
    assert.equal(perPatientMetric(block, "f1"), null);
    assert.equal(inferenceMs({ test_metrics: block }), 9.5);
  });
  test("describe the hardware a reader cares about", () => {
    assert.equal(describeHardware({ device: "cuda", gpu: "NVIDIA H100" }), "NVIDIA H100");
    assert.equal(describeHardware({ device: "cpu", cpu: "x86_64", threads: 2 }), "x86_64 CPU, 2 threads");
  });
});

describe("safeNext", () => {
  test("follows only this app's own pages after signing in", () => {
    assert.equal(safeNext("#/cases/0123abcd"), "#/cases/0123abcd");
    assert.equal(safeNext("#/cases?offset=20"), "#/cases?offset=20");
    assert.equal(safeNext("https://elsewhere.example/"), "#/cases");
    assert.equal(safeNext("#/sign-in?next=%23%2Fcases"), "#/cases");
    assert.equal(safeNext(null), "#/cases");
  });
});

describe("case legend and readout", () => {
  const masks = { unetpp: new Uint8Array([1, 1, 0]), attention_unet: new Uint8Array([0, 1, 0]) };

  test("the difference legend counts each kind of pixel", () => {
    const texts = legendEntries("difference", masks, MODELS).map(([, text]) => text);
    assert.deepEqual(texts, ["Only U-Net++ · 1 px", "Only Attention U-Net · 0 px", "Both · 1 px"]);
  });

  test("other overlays name the three colours; a difference without both masks says it waits", () => {
    assert.equal(legendEntries("both", masks, MODELS).length, 3);
    const waiting = legendEntries("difference", { unetpp: masks.unetpp, attention_unet: null }, MODELS);
    assert.deepEqual(waiting.at(-1), [null, "Difference: waiting for both masks"]);
  });

  test("the readout says what is under the cursor", () => {
    const images = {
      width: 3,
      height: 1,
      grey: new Uint8Array([5, 200, 7]),
      groundTruth: new Uint8Array([0, 1, 0]),
      masks,
      probability: { unetpp: new Uint8Array([0, 204, 0]) },
    };
    const text = readoutText(images, { x: 1, y: 0 }, MODELS);
    assert.match(text, /value 200/);
    assert.match(text, /ground truth lesion/);
    assert.match(text, /U-Net\+\+ lesion \(p 0\.80\)/);
    assert.match(text, /Attention U-Net lesion$/);
  });
});
