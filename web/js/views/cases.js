/**
 * Cases view: recent scans, newest first, with a thumbnail and each model's status.
 */
import { isSettled, listScans, scanUrls } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { formatDate } from "../format.js";
import { statusChip } from "./status.js";

const PAGE_SIZE = 20;
const REFRESH_MS = 4000;

/**
 * @param {HTMLElement} outlet
 * @param {{navigate: (hash: string) => void, query: URLSearchParams,
 *          models: import("../lineup.js").ModelView[]}} context
 * @returns {() => void} cleanup
 */
export function mountCases(outlet, { navigate, query, models }) {
  const offset = Math.max(0, Number.parseInt(query.get("offset") ?? "0", 10) || 0);
  const controller = new AbortController();
  let timer = null;
  const body = h("div", { class: "cases-body", attrs: { "aria-live": "polite", "aria-busy": "true" } });

  replaceChildren(
    outlet,
    h(
      "section",
      { class: "page" },
      h(
        "div",
        { class: "page-head" },
        h("h1", { text: "Cases", attrs: { tabindex: "-1" } }),
        h("a", { class: "button primary", text: "New scan", attrs: { href: "#/upload" } }),
      ),
      body,
    ),
  );

  const row = (scan) => {
    const href = `#/cases/${encodeURIComponent(scan.id)}`;
    return h(
      "tr",
      { dataset: { scanId: scan.id } },
      h(
        "td",
        { class: "thumb-cell" },
        h("img", {
          class: "thumb",
          attrs: {
            src: scanUrls(scan, models).image,
            alt: "",
            loading: "lazy",
            decoding: "async",
            width: 56,
            height: 56,
          },
        }),
      ),
      h("td", {}, h("a", { text: scan.filename || scan.id, attrs: { href } })),
      h("td", { class: "num", text: scan.width && scan.height ? `${scan.width} × ${scan.height}` : "—" }),
      h("td", { text: scan.has_ground_truth ? "Yes" : "No" }),
      h(
        "td",
        {},
        h(
          "div",
          { class: "chips" },
          models.map((model) => statusChip(model, scan.results?.[model.name])),
        ),
      ),
      h("td", { class: "muted", text: formatDate(scan.created_at) }),
    );
  };

  const render = (page) => {
    body.setAttribute("aria-busy", "false");
    if (page.total === 0) {
      replaceChildren(
        body,
        h(
          "div",
          { class: "empty" },
          h("p", { text: "No scans yet." }),
          h("a", { class: "button primary", text: "Upload the first scan", attrs: { href: "#/upload" } }),
        ),
      );
      return;
    }
    const last = Math.min(page.offset + page.items.length, page.total);
    const pager = h(
      "nav",
      { class: "pager", attrs: { "aria-label": "Pages" } },
      h("span", { class: "muted", text: `${page.offset + 1}–${last} of ${page.total}` }),
      h("button", {
        text: "Newer",
        attrs: { type: "button", disabled: page.offset === 0 },
        on: { click: () => navigate(`#/cases?offset=${Math.max(0, page.offset - PAGE_SIZE)}`) },
      }),
      h("button", {
        text: "Older",
        attrs: { type: "button", disabled: last >= page.total },
        on: { click: () => navigate(`#/cases?offset=${page.offset + PAGE_SIZE}`) },
      }),
    );
    replaceChildren(
      body,
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "table cases-table" },
          h("caption", { class: "visually-hidden", text: "Recent scans, newest first" }),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Scan", "File", "Size", "Ground truth", "Models", "Uploaded"].map((title) =>
                h("th", { class: title === "Size" ? "num" : "", text: title, attrs: { scope: "col" } }),
              ),
            ),
          ),
          h("tbody", {}, page.items.map(row)),
        ),
      ),
      pager,
    );
  };

  const load = async () => {
    try {
      const page = await listScans({ limit: PAGE_SIZE, offset }, controller.signal);
      render(page);
      // Keep statuses live while any listed scan is still being segmented.
      if (page.items.some((scan) => !isSettled(scan))) timer = setTimeout(load, REFRESH_MS);
    } catch (error) {
      if (error.name === "AbortError") return;
      body.setAttribute("aria-busy", "false");
      replaceChildren(body, h("div", { class: "alert", attrs: { role: "alert" }, text: error.message }));
    }
  };
  load();

  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
