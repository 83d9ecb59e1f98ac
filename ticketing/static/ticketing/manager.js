/* The shop address follows the name until it is typed by hand; the options of a question
   show only for the types that have options. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-slug-source]").forEach(function (source) {
    var form = source.form;
    var slug = form && form.querySelector("[data-slug-input]");
    if (!slug) return;
    var made = function (text) {
      return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
        .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60).replace(/-+$/, "");
    };
    var touched = slug.value !== "" && slug.value !== made(source.value);
    slug.addEventListener("input", function () { touched = slug.value !== ""; });
    source.addEventListener("input", function () { if (!touched) slug.value = made(source.value); });
  });
  document.querySelectorAll("[data-field-type]").forEach(function (select) {
    var form = select.form;
    var options = form && form.querySelector("[data-options-field]");
    if (!options) return;
    var choice = ["select", "radio", "checkboxes"];
    var sync = function () { options.hidden = choice.indexOf(select.value) < 0; };
    select.addEventListener("change", sync);
    sync();
  });
});
