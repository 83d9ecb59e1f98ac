/* Panel: small progressive enhancements. Every page works without it. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* Dropdown menus (<details data-menu>): one open at a time, close on outside click/Escape. */
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("toggle", function (event) {
    var target = event.target;
    if (target.matches && target.matches("details[data-menu]") && target.open) closeMenus(target);
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details[data-menu]")) closeMenus(null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  /* Phone top bar: the Menu button (aria-expanded) opens the links, organisations and account;
     a click outside the bar or Escape closes them. The CSS shows the button on phones only. */
  var navToggle = document.querySelector("[data-nav-toggle]");
  if (navToggle) {
    var setNavOpen = function (open) { navToggle.setAttribute("aria-expanded", String(open)); };
    navToggle.addEventListener("click", function () {
      setNavOpen(navToggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("click", function (event) {
      if (!event.target.closest(".topbar")) setNavOpen(false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || navToggle.getAttribute("aria-expanded") !== "true") return;
      setNavOpen(false);
      navToggle.focus();
    });
  }

  /* <select data-autosubmit> submits its form on change; the fallback button hides. */
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
  });
  document.querySelectorAll("[data-js-hide]").forEach(function (el) { el.hidden = true; });

  /* Copy buttons: <button data-copy="#selector">. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  /* Live Job progress. Any element with data-job="<id>" data-job-url="<status url>" is
     refreshed every second until the job finishes. Inside it:
       [data-job-progress]      the role=progressbar element (aria-valuenow, data-status)
       [data-job-badge]         the status badge
       [data-job-text="x"]      text from field x of the status answer
       [data-job-show="x"]      shown once field x is non-empty (href set for download_url) */
  var POLL_MS = 1000;

  function render(container, state) {
    container.querySelectorAll("[data-job-progress]").forEach(function (bar) {
      bar.setAttribute("aria-valuenow", String(state.percent));
      bar.setAttribute("aria-valuetext", state.percent + "% · " + state.status_label);
      bar.setAttribute("data-status", state.status);
      var fill = bar.querySelector(".progress-bar");
      if (fill) fill.style.width = state.percent + "%";
    });
    container.querySelectorAll("[data-job-badge]").forEach(function (badge) {
      badge.className = badge.className.replace(/\bstatus-\w+/, "status-" + state.status);
      badge.textContent = state.status_label;
    });
    container.querySelectorAll("[data-job-text]").forEach(function (el) {
      var value = state[el.getAttribute("data-job-text")];
      if (value !== undefined && value !== null && value !== "") el.textContent = String(value);
    });
    container.querySelectorAll("[data-job-show]").forEach(function (el) {
      var field = el.getAttribute("data-job-show");
      var value = state[field];
      el.hidden = !value;
      if (value && field === "download_url") el.setAttribute("href", value);
      if (value && el.hasAttribute("data-job-fill")) el.textContent = String(value);
    });
    container.querySelectorAll("[data-job-while-running]").forEach(function (el) {
      el.hidden = state.finished;
    });
    container.setAttribute("data-job-status", state.status);
  }

  function poll(url, containers) {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        containers.forEach(function (c) { render(c, state); });
        if (state.finished) settleActiveCount(containers);
        else setTimeout(function () { poll(url, containers); }, POLL_MS);
      })
      .catch(function () { setTimeout(function () { poll(url, containers); }, POLL_MS * 3); });
  }

  /* The top bar counts running jobs: a job of the Jobs menu that finishes leaves it. */
  function settleActiveCount(containers) {
    var inMenu = containers.some(function (c) { return c.closest(".jobs-menu"); });
    var count = document.querySelector("[data-jobs-active-count]");
    if (!inMenu || !count) return;
    var left = Math.max(parseInt(count.textContent, 10) - 1, 0);
    count.textContent = String(left);
    count.hidden = left === 0;
  }

  var byUrl = {};
  document.querySelectorAll("[data-job-url]").forEach(function (el) {
    var url = el.getAttribute("data-job-url");
    (byUrl[url] = byUrl[url] || []).push(el);
  });
  Object.keys(byUrl).forEach(function (url) { poll(url, byUrl[url]); });
})();
