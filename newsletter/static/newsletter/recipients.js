// The recipients step: the exact count of the selection as it is being chosen, asked of
// the panel (the same rule as the send), shown in the live region above the form.
(function () {
  "use strict";
  const form = document.querySelector("form[data-count-url]");
  if (!form) return;
  const figure = form.querySelector("[data-testid=recipient-count]");
  const label = form.querySelector(".nl-count-label");
  const labels = (document.getElementById("count-labels")?.innerHTML || "").split("|");
  const plural = new Intl.PluralRules(document.documentElement.lang || "en");
  let pending = null;

  function selection() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (name === "lists" || name === "include_groups" || name === "exclude_groups") {
        params.append(name, value);
      }
    }
    return params;
  }

  async function refresh() {
    if (pending) pending.abort();
    pending = new AbortController();
    form.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.dataset.countUrl + "?" + selection(), {
        headers: { Accept: "application/json" },
        signal: pending.signal,
      });
      if (!response.ok) return;
      const { count } = await response.json();
      figure.textContent = count.toLocaleString(document.documentElement.lang || undefined);
      if (labels.length === 2) {
        label.textContent = plural.select(count) === "one" ? labels[0].trim() : labels[1].trim();
      }
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("change", refresh);
})();
