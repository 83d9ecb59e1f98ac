/* Live numbers of a date: every few seconds, read the date's availability (JSON) and
   update the figures and bars in place. Without JavaScript the numbers of the page load
   are there; with it they follow sales and holds as they happen. */
(function () {
  "use strict";
  var EVERY_MS = 5000;

  function setNumbers(root, numbers) {
    if (!root) return;
    Object.keys(numbers).forEach(function (name) {
      root.querySelectorAll("[data-n='" + name + "']").forEach(function (node) {
        node.textContent = numbers[name];
      });
    });
  }

  function setShares(zoneNode, shares) {
    ["sold", "held", "left"].forEach(function (part) {
      var bar = zoneNode.querySelector("[data-share='" + part + "']");
      if (bar) bar.style.width = shares[part] + "%";
    });
  }

  function apply(card, data) {
    setNumbers(card.querySelector("[data-live-date]"), {
      capacity: data.capacity, held: data.held, sold: data.sold, available: data.available
    });
    data.zones.forEach(function (zone) {
      var node = card.querySelector("[data-live-zone='" + zone.id + "']");
      if (!node) return;
      var head = node.querySelector(".tk-live-zone-head");
      setNumbers(head, {
        capacity: zone.capacity, held: zone.held, sold: zone.sold, available: zone.available
      });
      setShares(node, zone.shares);
      zone.tariffs.forEach(function (tariff) {
        setNumbers(node.querySelector("[data-live-tariff='" + tariff.id + "']"), {
          held: tariff.held, sold: tariff.sold, available: tariff.available
        });
      });
    });
  }

  function watch(card) {
    var status = card.querySelector("[data-live-status]");
    var url = card.getAttribute("data-live-url");
    var busy = false;

    function refresh() {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          apply(card, data);
          card.classList.remove("is-stale");
          if (status) status.textContent = card.getAttribute("data-live-updated") + " " +
            new Date().toLocaleTimeString(document.documentElement.lang || [], {
              hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
            });
        })
        .catch(function () {
          card.classList.add("is-stale");
          if (status) status.textContent = card.getAttribute("data-live-failed");
        })
        .then(function () { busy = false; });
    }

    window.setInterval(refresh, EVERY_MS);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch) return;
    document.querySelectorAll("[data-live-url]").forEach(watch);
  });
})();
