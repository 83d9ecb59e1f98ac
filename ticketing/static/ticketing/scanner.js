/* The door scanner (scanner.html): reads QR codes with the camera through qr-scanner
   (served by the panel from node_modules, see settings STATICFILES_DIRS), or takes a code
   typed in, and shows the panel's answer in large. Without a camera the page says so and
   the typed code and the search still work.

   Every scan is made once, with its own id and the device's clock (`newScan`), before it
   is sent: sending the same scan again is safe (the server answers the first decision),
   which is what an offline queue will rely on to keep scans and upload them later.
   `window.panelScanner.submit(code)` is what the camera calls with each code it reads. */
(function () {
  "use strict";

  var root = document.querySelector("[data-scanner]");
  if (!root) return;
  var texts = JSON.parse(document.getElementById("scanner-texts").textContent);
  var csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  var scanUrl = root.getAttribute("data-scan-url");
  var searchUrl = root.getAttribute("data-search-url");

  var panel = root.querySelector("[data-testid=scan-result]");
  var title = panel.querySelector("[data-result-title]");
  var reason = panel.querySelector("[data-result-reason]");
  var ticketBox = panel.querySelector("[data-result-ticket]");
  var ticketName = panel.querySelector("[data-ticket-name]");
  var ticketWhere = panel.querySelector("[data-ticket-where]");
  var ticketAnswers = panel.querySelector("[data-ticket-answers]");
  var gateInput = root.querySelector("[data-gate]");
  var directionInput = root.querySelector("[data-direction]");

  var GATE_KEY = "panel.scanner.gate";
  var DEVICE_KEY = "panel.scanner.device";
  // The camera reads one code several times a second: the same code again this soon is
  // the same scan.
  var REPEAT_MS = 3000;

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not kept */ }
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  var device = stored(DEVICE_KEY);
  if (!device) {
    device = "browser-" + uuid().slice(0, 8);
    store(DEVICE_KEY, device);
  }
  gateInput.value = stored(GATE_KEY) || "";
  gateInput.addEventListener("change", function () { store(GATE_KEY, gateInput.value.trim()); });

  function newScan(what) {
    var scan = {
      scan_id: uuid(),
      scanned_at: new Date().toISOString(),
      direction: directionInput ? directionInput.value : "entry",
      gate: gateInput.value.trim(),
      device: device,
    };
    Object.keys(what).forEach(function (key) { scan[key] = what[key]; });
    return scan;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] == null ? all : values[name];
    });
  }

  function showTicket(ticket) {
    ticketAnswers.textContent = "";
    if (!ticket) {
      ticketBox.hidden = true;
      return;
    }
    ticketBox.hidden = false;
    ticketName.textContent = ticket.name || "";
    ticketWhere.textContent = [ticket.zone, ticket.tariff, ticket.date].filter(Boolean).join(" · ") +
      (ticket.order_code ? " · " + texts.order + " " + ticket.order_code : "");
    (ticket.answers || []).forEach(function (answer) {
      var term = document.createElement("dt");
      term.textContent = answer.label;
      var value = document.createElement("dd");
      value.textContent = answer.value;
      ticketAnswers.appendChild(term);
      ticketAnswers.appendChild(value);
    });
  }

  function show(state, headline, sentence, ticket) {
    panel.setAttribute("data-result", state);
    title.textContent = headline;
    reason.textContent = sentence;
    showTicket(ticket);
  }

  function reasonOf(answer) {
    var reasons = texts.reasons;
    if (answer.result === "valid") {
      return answer.direction === "exit" ? reasons.valid_exit : reasons.valid;
    }
    if (answer.result === "already_used" && answer.first_entry_time) {
      var values = { time: answer.first_entry_time, gate: answer.first_entry_gate };
      return fill(answer.first_entry_gate ? reasons.already_used_at_gate : reasons.already_used_at, values);
    }
    return reasons[answer.result] || "";
  }

  function showAnswer(answer) {
    var state = answer.result === "valid" ? "valid" : "refused";
    show(state, texts.titles[answer.result] || answer.result, reasonOf(answer), answer.ticket);
    panel.setAttribute("data-code", answer.result);
  }

  function showProblem(body) {
    var details = [];
    if (body && body.fields) {
      Object.keys(body.fields).forEach(function (name) { details = details.concat(body.fields[name]); });
    }
    var sentence = details.length ? details.join(" ") : (body && body.detail) || texts.invalid;
    show("error", texts.invalid, sentence, null);
    panel.setAttribute("data-code", (body && body.code) || "error");
  }

  function post(scan) {
    return fetch(scanUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify(scan),
    }).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.status === 201, body: body };
      });
    });
  }

  function deliver(scan) {
    show("pending", texts.checking, "", null);
    panel.setAttribute("data-code", "");
    return post(scan).then(function (reply) {
      if (reply.ok) showAnswer(reply.body);
      else showProblem(reply.body);
      return reply.body;
    }, function () {
      // The place where an offline queue will keep `scan` and decide locally.
      show("error", texts.invalid, texts.network_error, null);
      panel.setAttribute("data-code", "network");
      return null;
    });
  }

  var last = { code: null, at: 0 };

  function submit(code) {
    code = String(code == null ? "" : code).trim();
    if (!code) return Promise.resolve(null);
    last = { code: code, at: Date.now() };
    return deliver(newScan({ secret: code }));
  }

  function checkIn(ticketId) {
    panel.scrollIntoView({ block: "start", behavior: "smooth" });
    return deliver(newScan({ ticket: ticketId }));
  }

  root.querySelector("[data-manual]").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = event.target.elements.code;
    var code = input.value;
    input.value = "";
    submit(code).then(function () { panel.scrollIntoView({ block: "start", behavior: "smooth" }); });
  });

  // -- search -------------------------------------------------------------------------------

  var results = root.querySelector("[data-search-results]");

  function foundItem(ticket) {
    var item = document.createElement("li");
    item.className = "sc-found-item";
    var about = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = ticket.name || ticket.buyer;
    var where = document.createElement("span");
    where.className = "sc-found-where";
    var parts = [texts.order + " " + ticket.order_code, ticket.zone, ticket.tariff];
    if (ticket.checked_in) parts.push(fill(texts.checked_in, { time: ticket.checked_in }));
    else if (ticket.cancelled) parts.push(texts.titles.cancelled);
    else parts.push(ticket.status);
    where.textContent = parts.join(" · ");
    about.appendChild(name);
    about.appendChild(where);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary";
    button.textContent = texts.check_in;
    button.addEventListener("click", function () { checkIn(ticket.id); });
    item.appendChild(about);
    item.appendChild(button);
    return item;
  }

  root.querySelector("[data-search]").addEventListener("submit", function (event) {
    event.preventDefault();
    var query = event.target.elements.q.value.trim();
    results.textContent = "";
    if (query.length < 2) return;
    fetch(searchUrl + "?q=" + encodeURIComponent(query), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (response) { return response.json(); }).then(function (body) {
      results.textContent = "";
      if (!body.results.length) {
        var none = document.createElement("li");
        none.className = "sc-found-none";
        none.textContent = texts.no_match;
        results.appendChild(none);
        return;
      }
      body.results.forEach(function (ticket) { results.appendChild(foundItem(ticket)); });
    }, function () {
      var failed = document.createElement("li");
      failed.className = "sc-found-none";
      failed.textContent = texts.network_error;
      results.appendChild(failed);
    });
  });

  // -- camera -------------------------------------------------------------------------------

  var notice = root.querySelector("[data-camera-notice]");
  var camera = root.querySelector("[data-camera]");

  function noCamera(sentence) {
    camera.classList.add("sc-camera-off");
    notice.textContent = sentence;
    notice.hidden = false;
  }

  function onRead(result) {
    var code = result && typeof result === "object" ? result.data : result;
    if (!code) return;
    if (code === last.code && Date.now() - last.at < REPEAT_MS) return;
    submit(code);
  }

  function startCamera() {
    var QrScanner = window.QrScanner;
    if (!QrScanner || !navigator.mediaDevices) {
      noCamera(texts.no_camera);
      return;
    }
    QrScanner.hasCamera().then(function (has) {
      if (!has) {
        noCamera(texts.no_camera);
        return;
      }
      var video = root.querySelector("[data-video]");
      var reader = new QrScanner(video, onRead, {
        returnDetailedScanResult: true,
        highlightScanRegion: true,
        maxScansPerSecond: 8,
        preferredCamera: "environment",
      });
      reader.start().catch(function () { noCamera(texts.camera_denied); });
    }, function () { noCamera(texts.no_camera); });
  }

  window.panelScanner = { submit: submit, checkIn: checkIn, newScan: newScan };
  startCamera();
})();
