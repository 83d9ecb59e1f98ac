// A campaign's report page: the live progress of its sending, refreshed every few seconds
// from the panel (the page reloads once the status changes: paused, sent, cancelled; and
// once the recipients are all listed, to show them and the email's links),
// and its charts drawn with Chart.js from the #report-data JSON. Without JavaScript the
// page shows the figures of the moment it was loaded, and the tables the exact values.
(function () {
  "use strict";
  const lang = document.documentElement.lang || "en";
  const texts = document.querySelector("[data-report-texts]")?.dataset || {};
  const number = new Intl.NumberFormat(lang);
  const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  const plural = new Intl.PluralRules(lang);
  const SENDING_MS = 2500;
  const PAUSED_MS = 5000;
  const PARTS_MS = 10000;
  const charts = {};
  // The panel writes times on a 24-hour clock in every language (panel/formats/).
  const CLOCK = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };

  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, (all, name) => (name in values ? values[name] : all));
  }

  function color(name, fallback) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // -- time axes: the start of each slot, as people read a clock or a calendar --------------

  function slotLabels(points, step) {
    const first = points.length ? new Date(points[0].at) : new Date();
    const last = points.length ? new Date(points[points.length - 1].at) : first;
    const sameDay = first.toDateString() === last.toDateString();
    const options = step >= 86400
      ? { day: "numeric", month: "short" }
      : sameDay
        ? { ...CLOCK, ...(step < 60 ? { second: "2-digit" } : {}) }
        : { day: "numeric", month: "short", ...CLOCK };
    const format = new Intl.DateTimeFormat(lang, options);
    return points.map((point) => format.format(new Date(point.at)));
  }

  function baseOptions() {
    const muted = color("--muted", "#5f6b7a");
    const grid = color("--border", "#e2e5ea");
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 300 },
      locale: lang,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { labels: { color: muted, boxWidth: 12, boxHeight: 12 } } },
      scales: {
        x: { grid: { display: false }, ticks: { color: muted, maxRotation: 0, autoSkip: true, autoSkipPadding: 14 } },
        y: { beginAtZero: true, grid: { color: grid }, ticks: { color: muted, precision: 0 } },
      },
    };
  }

  function draw(name, config) {
    const canvas = document.querySelector(`canvas[data-chart="${name}"]`);
    if (!canvas || !window.Chart) return null;
    if (charts[name]) charts[name].destroy();
    charts[name] = new window.Chart(canvas, config);
    return charts[name];
  }

  function sendingConfig(series) {
    const points = series.points || [];
    return {
      type: "bar",
      data: {
        labels: slotLabels(points, series.step),
        datasets: [{
          label: texts.sent,
          data: points.map((point) => point.sent),
          backgroundColor: color("--success", "#137a52"),
          borderRadius: 3,
          maxBarThickness: 28,
        }],
      },
      options: { ...baseOptions(), plugins: { legend: { display: false } } },
    };
  }

  function activityConfig(series) {
    const points = series.points || [];
    const datasets = [];
    const line = (label, key, hue) => ({
      label, data: points.map((point) => point[key]), borderColor: hue, backgroundColor: hue,
      pointRadius: points.length > 24 ? 0 : 3, pointHoverRadius: 4, borderWidth: 2, tension: 0.25,
    });
    if (texts.opensTracked) datasets.push(line(texts.opens, "opens", color("--primary", "#2f5be0")));
    if (texts.clicksTracked) datasets.push(line(texts.clicks, "clicks", color("--violet", "#6a3fc8")));
    return {
      type: points.length > 1 ? "line" : "bar",
      data: { labels: slotLabels(points, series.step), datasets },
      options: baseOptions(),
    };
  }

  function linksConfig(links) {
    const options = baseOptions();
    options.indexAxis = "y";
    options.interaction = { mode: "index", intersect: false, axis: "y" };
    options.scales = {
      x: { beginAtZero: true, grid: { color: color("--border", "#e2e5ea") }, ticks: { color: options.scales.x.ticks.color, precision: 0 } },
      y: {
        grid: { display: false },
        ticks: {
          color: options.scales.y.ticks.color,
          // A long address is cut on the axis; the tooltip and the table give it whole.
          callback(value) {
            const label = this.getLabelForValue(value);
            const room = window.innerWidth < 600 ? 18 : 34;
            return label.length > room ? label.slice(0, room - 1) + "…" : label;
          },
        },
      },
    };
    return {
      type: "bar",
      data: {
        labels: links.map((link) => link.label),
        datasets: [
          { label: texts.people, data: links.map((link) => link.unique), backgroundColor: color("--violet", "#6a3fc8"), borderRadius: 3, maxBarThickness: 14 },
          { label: texts.clicks, data: links.map((link) => link.total), backgroundColor: "#c4b3ee", borderRadius: 3, maxBarThickness: 14 },
        ],
      },
      options,
    };
  }

  function drawReport({ sending = true } = {}) {
    const source = document.getElementById("report-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    draw("activity", activityConfig(data.activity));
    draw("links", linksConfig(data.links));
    if (sending) draw("sending", sendingConfig(data.sending));
  }

  // While it is sent, the figures, charts and recipients under the progress card are
  // fetched again now and then, as the whole page, and put in place of the old ones;
  // not the recipients while someone is typing in their search.
  function edited(part) {
    if (part.contains(document.activeElement) && document.activeElement !== document.body) return true;
    return [...part.querySelectorAll("input, select")].some((field) => {
      if (field.tagName !== "SELECT") return field.value !== field.defaultValue;
      const initial = [...field.options].find((option) => option.defaultSelected) || field.options[0];
      return field.value !== (initial ? initial.value : "");
    });
  }

  async function refreshParts() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-report-part]").forEach((part) => {
      const name = part.dataset.reportPart;
      const replacement = fresh.querySelector(`[data-report-part="${name}"]`);
      if (!replacement || edited(part)) return;
      part.querySelectorAll("details[open]").forEach((details, index) => {
        const twin = replacement.querySelectorAll("details")[index];
        if (twin) twin.open = true;
      });
      part.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
        const chart = canvas.dataset.chart;
        if (charts[chart]) { charts[chart].destroy(); delete charts[chart]; }
      });
      part.replaceWith(document.adoptNode(replacement));
    });
    const data = fresh.getElementById("report-data");
    const old = document.getElementById("report-data");
    if (data && old) old.textContent = data.textContent;
    drawReport({ sending: false });
  }

  // -- the live progress -----------------------------------------------------------------------

  function endText(iso) {
    if (!iso) return "—";
    const end = new Date(iso);
    const now = new Date();
    const sameDay = end.toDateString() === now.toDateString();
    const clock = new Intl.DateTimeFormat(lang, sameDay
      ? CLOCK : { weekday: "short", day: "numeric", month: "short", ...CLOCK }).format(end);
    const minutes = Math.max(1, Math.round((end - now) / 60000));
    const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    const away = minutes < 90 ? relative.format(minutes, "minute")
      : minutes < 48 * 60 ? relative.format(Math.round(minutes / 60), "hour")
        : relative.format(Math.round(minutes / 1440), "day");
    return `${clock} (${away})`;
  }

  function showProgress(card, state) {
    const set = (name, text) => {
      const el = card.querySelector(`[data-figure="${name}"]`);
      if (el) el.textContent = text;
    };
    ["sent", "pending", "failed", "skipped"].forEach((name) => set(name, number.format(state[name])));
    set("percent", percent.format(state.percent / 100));
    const doneTemplate = plural.select(state.total) === "one" ? texts.doneOne : texts.doneOther;
    set("done-of-total", fill(doneTemplate, { done: number.format(state.done), total: number.format(state.total) }));
    set("rate", state.status === "sending" ? fill(texts.rate, { rate: number.format(state.rate_per_hour) }) : "—");
    set("end", endText(state.estimated_end));
    const bar = card.querySelector('[data-figure="bar"]');
    if (bar) {
      bar.setAttribute("aria-valuenow", String(state.percent));
      Object.entries(state.shares).forEach(([name, share]) => {
        const part = bar.querySelector(`[data-share="${name}"]`);
        if (part) part.style.width = `${share}%`;
      });
    }
    if (charts.sending && state.sending) {
      const config = sendingConfig(state.sending);
      charts.sending.data.labels = config.data.labels;
      charts.sending.data.datasets[0].data = config.data.datasets[0].data;
      charts.sending.update("none");
    }
  }

  function follow(card) {
    const shown = card.dataset.status;
    const poll = async () => {
      let wait = shown === "paused" ? PAUSED_MS : SENDING_MS;
      try {
        const response = await fetch(card.dataset.url, {
          headers: { Accept: "application/json" }, credentials: "same-origin",
        });
        if (response.ok) {
          const state = await response.json();
          if (state.status !== shown || String(state.ready) !== card.dataset.ready) {
            window.location.reload();
            return;
          }
          showProgress(card, state);
        } else {
          wait *= 3;
        }
      } catch (error) {
        wait *= 3;  // the network is away for a moment: try again later
      }
      setTimeout(poll, wait);
    };
    setTimeout(poll, shown === "paused" ? PAUSED_MS : SENDING_MS);
  }

  drawReport();
  const card = document.querySelector("[data-report-progress]");
  if (card) {
    // The server's figures, in this language's number and time forms.
    const end = card.querySelector('[data-figure="end"] time');
    if (end) card.querySelector('[data-figure="end"]').textContent = endText(end.getAttribute("datetime"));
    follow(card);
    const again = () => refreshParts().catch(() => {}).finally(() => setTimeout(again, PARTS_MS));
    setTimeout(again, PARTS_MS);
  }
})();
