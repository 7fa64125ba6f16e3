// Following a scan live: Server-Sent Events first, polling when the stream is refused.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import { watchScan } from "../../../web/js/api.js";
import "./fixtures.mjs"; // the server's config: its URL templates

/** Just enough of the browser's EventSource to drive watchScan. */
class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static last = null;

  constructor(url) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = {};
    FakeEventSource.last = this;
  }
  addEventListener(type, listener) {
    (this.listeners[type] ??= []).push(listener);
  }
  emit(type, event = {}) {
    for (const listener of this.listeners[type] ?? []) listener(event);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
}

/** Let pending promises (fetch, JSON parsing) run. */
async function settle() {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const scan = (unetpp, attention) => ({
  id: "s1",
  results: { unetpp: { status: unetpp }, attention_unet: { status: attention } },
});

describe("watchScan", () => {
  beforeEach(() => {
    globalThis.EventSource = FakeEventSource;
  });
  afterEach(() => {
    delete globalThis.EventSource;
    mock.restoreAll();
    mock.timers?.reset();
  });

  test("delivers each scan event and closes the stream once every model is final", () => {
    const seen = [];
    watchScan("s1", (s) => seen.push(s.results.unetpp.status));
    const source = FakeEventSource.last;
    assert.equal(source.url, "/api/scans/s1/events");
    source.emit("scan", { data: JSON.stringify(scan("running", "queued")) });
    source.emit("message", { data: "not json" });
    assert.equal(source.readyState, FakeEventSource.CONNECTING);
    source.emit("scan", { data: JSON.stringify(scan("done", "failed")) });
    assert.deepEqual(seen, ["running", "done"]);
    assert.equal(source.readyState, FakeEventSource.CLOSED);
  });

  test("stops delivering after the caller stops", () => {
    const seen = [];
    const stop = watchScan("s1", (s) => seen.push(s));
    stop();
    FakeEventSource.last.emit("scan", { data: JSON.stringify(scan("done", "done")) });
    assert.deepEqual(seen, []);
  });

  // mock.timers came with Node 20.4.
  test(
    "polls the scan when the server refuses the stream",
    { skip: !mock.timers && "needs Node >= 20.4" },
    async () => {
      mock.timers.enable({ apis: ["setTimeout"] });
      const answers = [scan("running", "running"), scan("done", "done")];
      const fetchMock = mock.method(globalThis, "fetch", async () => Response.json(answers.shift()));
      const seen = [];
      watchScan("s1", (s) => seen.push(s.results.attention_unet.status));
      const source = FakeEventSource.last;
      source.readyState = FakeEventSource.CLOSED;
      source.emit("error");
      await settle();
      assert.deepEqual(seen, ["running"]);
      mock.timers.tick(2000);
      await settle();
      assert.deepEqual(seen, ["running", "done"]);
      mock.timers.tick(10_000);
      await settle();
      assert.equal(fetchMock.mock.callCount(), 2, "polling stops once the scan is settled");
    },
  );
});
