/**
 * Entry point: wires the views to the router and keeps the navigation's current link marked.
 */
import { Router } from "./router.js";
import { mountCase } from "./views/case.js";
import { mountCases } from "./views/cases.js";
import { mountModels } from "./views/models.js";
import { mountUpload } from "./views/upload.js";

const routes = [
  { pattern: /^\/upload$/, title: "New scan", nav: "upload", mount: mountUpload },
  { pattern: /^\/cases$/, title: "Cases", nav: "cases", mount: mountCases },
  { pattern: /^\/cases\/([^/]+)$/, names: ["id"], title: "Case", nav: "cases", mount: mountCase },
  { pattern: /^\/models$/, title: "Models", nav: "models", mount: mountModels },
];

const router = new Router({
  routes,
  outlet: document.getElementById("main"),
  fallback: "#/upload",
  onRoute(route) {
    for (const link of document.querySelectorAll("[data-nav]")) {
      if (link.dataset.nav === route.nav) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  },
});
router.start();
