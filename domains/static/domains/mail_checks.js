/* The mail DNS diagnostic fills in as the answers come: each pending record
 * (tbody[data-check-url]) is asked on its own, and its row replaced by the answer;
 * the progress line counts them. A failed request says so in its row. */
(function () {
  "use strict";
  var table = document.querySelector("[data-mail-checks-live]");
  if (!table) return;
  var box = document.querySelector("[data-mail-checks-progress]");
  var text = box && box.querySelector("[data-progress-text]");
  var bar = box && box.querySelector(".progress");
  var pending = Array.prototype.slice.call(table.querySelectorAll("tbody[data-check-url]"));
  var total = pending.length;
  var done = 0;

  function label(name) {
    var ok = table.querySelectorAll("tr[data-status=ok]").length;
    var all = table.querySelectorAll("tr[data-check]").length;
    return (box.getAttribute(name) || "")
      .replace("%(done)s", String(done))
      .replace("%(total)s", String(total))
      .replace("%(ok)s", String(ok))
      .replace("%(problems)s", String(all - ok));
  }

  function progress() {
    if (!box) return;
    var percent = total ? Math.round((100 * done) / total) : 100;
    bar.setAttribute("aria-valuenow", String(percent));
    bar.firstElementChild.style.width = percent + "%";
    if (done === total) {
      var problems = table.querySelectorAll("tr[data-check]:not([data-status=ok])").length;
      bar.setAttribute("data-status", problems ? "failed" : "succeeded");
      text.textContent = label(problems ? "data-finished-label" : "data-all-ok-label");
    } else {
      text.textContent = label("data-done-label");
    }
  }

  pending.forEach(function (body) {
    fetch(body.getAttribute("data-check-url"), {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = "<table>" + html + "</table>";
        var fresh = holder.content.querySelector("tbody");
        if (fresh) body.replaceWith(fresh);
      })
      .catch(function () {
        var cell = body.querySelector("[data-status-cell]");
        if (cell) cell.textContent = table.getAttribute("data-failed-label") || "—";
      })
      .finally(function () {
        done += 1;
        progress();
      });
  });
})();
