/* The public shop: small enhancements. Every page works without it: the basket then
   shows the time its hold ends instead of a countdown, and the event page no running
   total. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");
  var lang = document.documentElement.lang || "en";

  function money(currency, amount) {
    var text = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
      .format(amount);
    return currency + "\u00a0" + text;
  }

  /* A numbered zone's plan: how many seats are picked. */
  function countSeats(plan) {
    var picked = plan.querySelectorAll("input[type=checkbox]:checked").length;
    var out = plan.querySelector("[data-seat-count]");
    if (out) {
      out.textContent = !picked ? out.getAttribute("data-none")
        : picked === 1 ? out.getAttribute("data-one")
        : out.getAttribute("data-many").replace("{n}", String(picked));
    }
    return picked;
  }

  /* The event page: how many tickets are chosen and what they cost; a zone sold through
     one tariff counts the seats picked on its plan. */
  document.querySelectorAll("[data-choose]").forEach(function (form) {
    var summary = form.querySelector("[data-summary]");
    if (!summary) return;
    function update() {
      var count = 0;
      var total = 0;
      form.querySelectorAll("select[data-price]").forEach(function (select) {
        var quantity = parseInt(select.value, 10) || 0;
        count += quantity;
        total += quantity * parseFloat(select.getAttribute("data-price"));
      });
      form.querySelectorAll("[data-seat-plan]").forEach(function (plan) {
        var picked = countSeats(plan);
        if (plan.hasAttribute("data-price")) {
          count += picked;
          total += picked * parseFloat(plan.getAttribute("data-price"));
        }
      });
      if (!count) {
        summary.textContent = form.getAttribute("data-none");
        return;
      }
      var label = count === 1 ? form.getAttribute("data-one")
        : form.getAttribute("data-many").replace("{n}", String(count));
      summary.textContent = label + " · " + money(form.getAttribute("data-currency"), total);
    }
    form.addEventListener("change", update);
    update();
  });

  /* The basket: the hold's countdown, from the seconds the server counted (the phone's
     clock may be wrong). */
  document.querySelectorAll("[data-countdown]").forEach(function (box) {
    var text = box.querySelector("[data-countdown-text]");
    var ends = Date.now() + (parseInt(box.getAttribute("data-seconds"), 10) || 0) * 1000;
    var timer = null;
    function pad(n) { return (n < 10 ? "0" : "") + n; }
    function tick() {
      var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      if (left === 0) {
        box.classList.add("is-expired");
        text.textContent = box.getAttribute("data-expired");
        if (timer) window.clearInterval(timer);
        return;
      }
      var time = Math.floor(left / 60) + ":" + pad(left % 60);
      text.textContent = box.getAttribute("data-held").replace("{time}", time);
    }
    tick();
    if (!box.classList.contains("is-expired")) timer = window.setInterval(tick, 1000);
  });

  /* A guest's page: as many sets of answers as places chosen. Without it every place
     offered shows its set and only the first ones chosen count. */
  document.querySelectorAll("select[data-guest-places]").forEach(function (select) {
    var sets = select.form.querySelectorAll("[data-guest-place]");
    function update() {
      var wanted = parseInt(select.value, 10) || 0;
      sets.forEach(function (set) {
        set.hidden = parseInt(set.getAttribute("data-guest-place"), 10) > wanted;
      });
    }
    select.addEventListener("change", update);
    update();
  });

  /* After a refused form, the list of problems is the first thing read. */
  var problems = document.getElementById("problems");
  if (problems) problems.focus();
})();
