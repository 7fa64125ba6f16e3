/**
 * Entry point: loads the server's facts (models, upload rules, URLs), wires the views to the router, keeps the
 * navigation's current link marked, and shows who is signed in (when the server requires it).
 */
import { getSession, loadConfig, onUnauthorized, signOut } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { lineup } from "./lineup.js";
import { Router } from "./router.js";
import { mountCase } from "./views/case.js";
import { mountCases } from "./views/cases.js";
import { mountModels } from "./views/models.js";
import { mountSignIn } from "./views/sign-in.js";
import { mountUpload } from "./views/upload.js";
import { mountVolume } from "./views/volume.js";

const account = document.getElementById("account");
const accountName = document.getElementById("account-name");

function showAccount(me) {
  account.hidden = !me?.name;
  accountName.textContent = me?.name ?? "";
}

const routes = [
  { pattern: /^\/upload$/, title: "New scan", nav: "upload", mount: mountUpload },
  { pattern: /^\/cases$/, title: "Cases", nav: "cases", mount: mountCases },
  { pattern: /^\/cases\/([^/]+)$/, names: ["id"], title: "Case", nav: "cases", mount: mountCase },
  { pattern: /^\/volumes\/([^/]+)$/, names: ["id"], title: "Volume", nav: "cases", mount: mountVolume },
  { pattern: /^\/models$/, title: "Models", nav: "models", mount: mountModels },
  {
    pattern: /^\/sign-in$/,
    title: "Sign in",
    nav: null,
    mount: (outlet, context) => mountSignIn(outlet, { ...context, onSignedIn: showAccount }),
  },
];

const outlet = document.getElementById("main");
let router = null;

function toSignIn() {
  showAccount(null);
  if (!window.location.hash.startsWith("#/sign-in")) {
    router.navigate(`#/sign-in?next=${encodeURIComponent(window.location.hash || "#/cases")}`);
  }
}

function start(config) {
  router = new Router({
    routes,
    outlet,
    fallback: "#/upload",
    // Every view reads the models (in the server's order, with colours) and the upload rules from here.
    context: { config, models: lineup(config.models) },
    onRoute(route) {
      for (const link of document.querySelectorAll("[data-nav]")) {
        if (link.dataset.nav === route.nav) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    },
  });
  onUnauthorized(toSignIn);
  document.getElementById("sign-out").addEventListener("click", async () => {
    await signOut().catch(() => {});
    toSignIn();
  });
  router.start();
  getSession()
    .then((me) => (me.auth_required && !me.name ? toSignIn() : showAccount(me)))
    .catch(() => showAccount(null));
}

loadConfig()
  .then(start)
  .catch((error) =>
    replaceChildren(
      outlet,
      h(
        "section",
        { class: "page" },
        h("h1", { text: "BrainMets is not available", attrs: { tabindex: "-1" } }),
        h("div", { class: "alert", attrs: { role: "alert" }, text: error.message }),
      ),
    ),
  );
