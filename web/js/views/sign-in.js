/**
 * Sign-in view: exchange the access token an administrator issued (`python -m services.accounts create NAME`)
 * for a session cookie, then go back to where the reader was.
 */
import { signIn } from "../api.js";
import { h, replaceChildren } from "../dom.js";

/** Only hashes of this app's own pages are followed after signing in. */
export function safeNext(next) {
  return typeof next === "string" && /^#\/[\w\-/?=&%.]*$/.test(next) && !next.startsWith("#/sign-in")
    ? next
    : "#/cases";
}

/**
 * @param {HTMLElement} outlet
 * @param {{navigate: (hash: string) => void, query: URLSearchParams, onSignedIn: (me: object) => void}} context
 * @returns {() => void} cleanup
 */
export function mountSignIn(outlet, { navigate, query, onSignedIn }) {
  const token = h("input", {
    attrs: {
      type: "password",
      id: "token",
      name: "token",
      autocomplete: "off",
      required: true,
      spellcheck: "false",
    },
  });
  const error = h("div", { class: "alert", attrs: { role: "alert", hidden: true } });
  const submit = h("button", { class: "primary", text: "Sign in", attrs: { type: "submit" } });
  const form = h(
    "form",
    { class: "sign-in-form", attrs: { novalidate: true } },
    h("label", { class: "field-label", text: "Access token", attrs: { for: "token" } }),
    token,
    error,
    h("div", { class: "form-actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!token.value.trim()) {
      replaceChildren(error, "Enter your access token.");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      onSignedIn(await signIn(token.value.trim()));
      navigate(safeNext(query.get("next")));
    } catch (failure) {
      replaceChildren(error, failure.message);
      error.hidden = false;
      submit.disabled = false;
      token.select();
    }
  });
  replaceChildren(
    outlet,
    h(
      "section",
      { class: "page page-narrow sign-in" },
      h("h1", { text: "Sign in", attrs: { tabindex: "-1" } }),
      h("p", {
        class: "lede",
        text: "This server keeps each reader's scans private. Enter the access token your administrator gave you.",
      }),
      form,
    ),
  );
  return () => {};
}
