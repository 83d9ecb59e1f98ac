/* Service Mail pages: small enhancements. Every page works without it. */
(function () {
  "use strict";

  /* The creation wizard shows only the section of the chosen mode. Without JS all
     sections stay visible, each titled with the modes it serves. */
  document.querySelectorAll("[data-address-wizard]").forEach(function (form) {
    function update() {
      var checked = form.querySelector("input[name=mode]:checked");
      var mode = checked ? checked.value : "";
      form.querySelectorAll("[data-mode-section]").forEach(function (section) {
        section.hidden = section.getAttribute("data-mode-section").split(" ").indexOf(mode) < 0;
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target.name === "mode") update();
    });
    update();
  });

  /* "Also receives mail at ...": repeat the typed local part. */
  document.querySelectorAll("[data-echo]").forEach(function (echo) {
    var input = document.getElementById(echo.getAttribute("data-echo"));
    if (!input) return;
    function update() { echo.textContent = input.value.trim().toLowerCase() || "…"; }
    input.addEventListener("input", update);
    update();
  });

  /* Password strength hint; the service applies the real rules. */
  function strength(value) {
    if (value.length < 10 || !/[a-z]/i.test(value) || !/\d/.test(value)) return "weak";
    var kinds = [/[a-z]/, /[A-Z]/, /\d/, /[^a-zA-Z\d]/].filter(function (re) { return re.test(value); }).length;
    return value.length >= 14 && kinds >= 3 ? "strong" : "fair";
  }
  document.querySelectorAll("[data-strength-for]").forEach(function (hint) {
    var input = document.getElementById(hint.getAttribute("data-strength-for"));
    if (!input) return;
    input.addEventListener("input", function () {
      if (!input.value) { hint.hidden = true; return; }
      var level = strength(input.value);
      hint.hidden = false;
      hint.setAttribute("data-level", level);
      hint.textContent = hint.getAttribute("data-" + level);
    });
  });

  /* The address table: select all, and say how many are selected. */
  document.querySelectorAll("[data-bulk-form]").forEach(function (form) {
    var all = form.querySelector("[data-check-all]");
    var boxes = form.querySelectorAll("input[name=local_parts]");
    var button = form.querySelector("[data-bulk-submit]");
    var count = form.querySelector("[data-bulk-count]");
    function update() {
      var n = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
      if (button) button.disabled = n === 0;
      if (count) count.textContent = n ? n + " ✓" : "";
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  });

  /* Importing another mailbox: switching TLS off suggests port 143, on suggests 993,
     unless someone typed another port. */
  document.querySelectorAll("[data-import-form]").forEach(function (form) {
    var tls = form.querySelector("[data-import-tls]");
    var port = form.querySelector("[data-import-port]");
    var hint = form.querySelector("[data-port-hint]");
    if (!tls || !port) return;
    tls.addEventListener("change", function () {
      var usual = ["", "143", "993"];
      if (usual.indexOf(port.value.trim()) >= 0) port.value = tls.checked ? "993" : "143";
      if (hint) hint.textContent = hint.getAttribute(tls.checked ? "data-tls-on" : "data-tls-off");
    });
  });
})();
