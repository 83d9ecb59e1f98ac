/* The door scanner (scanner.html): reads QR codes with the camera through qr-scanner
   (served by the panel from node_modules, see settings STATICFILES_DIRS), or takes a code
   typed in, and shows the panel's answer in large. Without a camera the page says so and
   the typed code and the search still work.

   Every scan is made once, with its own id and the device's clock (`newScan`), before it
   is sent: sending the same scan again is safe (the server answers the first decision).
   `window.panelScanner.submit(code)` is what the camera calls with each code it reads.

   Offline: the page keeps the list's offline data in localStorage (the SHA-256 of each
   ticket's code, never the code; about 200 bytes a ticket, so some 20,000 tickets fit
   in the usual 5 MB), downloaded on load and every minute while online. When the
   browser is offline, or a scan gets no answer, the code is hashed with
   crypto.subtle (which needs a secure context: HTTPS, or localhost) and checked
   against that data; the answer carries an "Offline" badge, the device remembers what
   it let in (so it refuses its own second entry) and queues the scan, kept in
   localStorage until the server has answered it. The queue is uploaded when the
   network returns, on load and every minute; the server recognises each scan by its
   id, so a reload or a lost answer mid-upload only sends it again. What the server
   finds in conflict (a ticket let in here that came in elsewhere first) is counted on
   the page. */
(function () {
  "use strict";

  var root = document.querySelector("[data-scanner]");
  if (!root) return;
  var texts = JSON.parse(document.getElementById("scanner-texts").textContent);
  var csrf = root.querySelector("[name=csrfmiddlewaretoken]").value;
  var scanUrl = root.getAttribute("data-scan-url");
  var searchUrl = root.getAttribute("data-search-url");
  var offlineUrl = root.getAttribute("data-offline-url");
  var uploadUrl = root.getAttribute("data-upload-url");

  var panel = root.querySelector("[data-testid=scan-result]");
  var title = panel.querySelector("[data-result-title]");
  var reason = panel.querySelector("[data-result-reason]");
  var ticketBox = panel.querySelector("[data-result-ticket]");
  var ticketName = panel.querySelector("[data-ticket-name]");
  var ticketWhere = panel.querySelector("[data-ticket-where]");
  var ticketAnswers = panel.querySelector("[data-ticket-answers]");
  var gateInput = root.querySelector("[data-gate]");
  var directionInput = root.querySelector("[data-direction]");
  var badge = panel.querySelector("[data-offline-badge]");
  var offlineStatus = root.querySelector("[data-offline-status]");
  var syncStatus = root.querySelector("[data-sync-status]");

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
      ticketAnswers.appendChild(answerLine(answer, "p", "sc-answer"));
    });
    ticketAnswers.hidden = !(ticket.answers || []).length;
  }

  // An answer shown at check-in: "Diet: Vegan" (the colon as the language writes it).
  function answerLine(answer, tag, className) {
    var line = document.createElement(tag);
    line.className = className;
    var label = document.createElement("span");
    label.className = "sc-answer-label";
    // A space before a colon (French) does not break the line there.
    label.textContent = fill(texts.answer_label, { label: answer.label }).replace(/ ([:;!?])/g, "\u00a0$1");
    var value = document.createElement("strong");
    value.className = "sc-answer-value";
    value.textContent = answer.value;
    line.appendChild(label);
    line.appendChild(document.createTextNode(" "));
    line.appendChild(value);
    return line;
  }

  function show(state, headline, sentence, ticket) {
    panel.setAttribute("data-result", state);
    panel.removeAttribute("data-offline");
    badge.hidden = true;
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

  // A door device revoked by the organiser: say so, and keep nothing that would let it
  // go on checking tickets offline.
  function revoked() {
    offline.data = null;
    offline.byHash = {};
    offline.problem = texts.device_revoked;
    try { window.localStorage.removeItem(DATA_KEY); } catch (e) { /* nothing kept */ }
    show("error", texts.device_revoked, texts.device_revoked_reason, null);
    panel.setAttribute("data-code", "device_revoked");
    setLine(offlineStatus, texts.device_revoked, "warning");
  }

  function showProblem(body) {
    if (body && body.code === "device_revoked") return revoked();
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
    var hashing = scan.secret && canHash ? codeHash(scan.secret) : Promise.resolve(null);
    return hashing.then(function (hash) {
      if (navigator.onLine === false) return offlineScan(scan, hash);
      return post(scan).then(function (reply) {
        if (reply.ok) {
          if (hash) remember(hash, reply.body, scan.gate);
          showAnswer(reply.body);
          upload();
        } else {
          showProblem(reply.body);
        }
        return reply.body;
      }, function () {
        // No answer: perhaps recorded, perhaps not. Decided here and queued with the
        // same scan_id, which the server recognises if it did record it.
        return offlineScan(scan, hash);
      });
    });
  }

  // -- offline ------------------------------------------------------------------------------

  var listId = root.getAttribute("data-list");
  var DATA_KEY = "panel.scanner." + listId + ".data";
  var QUEUE_KEY = "panel.scanner." + listId + ".queue";
  var LOCAL_KEY = "panel.scanner." + listId + ".local";
  var CONFLICTS_KEY = "panel.scanner." + listId + ".conflicts";
  var REFRESH_MS = 60000;
  var UPLOAD_PART = 50;
  // crypto.subtle exists only in a secure context (HTTPS, localhost): on plain http to a
  // LAN address nothing can be checked offline, and the page says so.
  var canHash = !!(window.isSecureContext && window.crypto && window.crypto.subtle);
  var offline = { data: null, byHash: {}, problem: null, uploaded: false };

  function readJson(key, fallback) {
    var raw = stored(key);
    if (!raw) return fallback;
    try { return JSON.parse(raw); } catch (e) { return fallback; }
  }
  function writeJson(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch (e) {
      return false;
    }
  }

  function codeHash(code) {
    // As the server hashes it (ticketing/secrets.py): the code as printed, upper case.
    var bytes = new TextEncoder().encode(String(code).trim().toUpperCase());
    return window.crypto.subtle.digest("SHA-256", bytes).then(function (buffer) {
      return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
        return (b + 0x100).toString(16).slice(1);
      }).join("");
    });
  }

  function setLine(element, sentence, state) {
    element.textContent = sentence || "";
    element.hidden = !sentence;
    if (state) element.setAttribute("data-state", state);
    else element.removeAttribute("data-state");
  }

  function showOfflineStatus() {
    if (!canHash) return setLine(offlineStatus, texts.offline_insecure, "warning");
    if (offline.problem) return setLine(offlineStatus, offline.problem, "warning");
    if (!offline.data) return setLine(offlineStatus, texts.offline_no_data, "warning");
    setLine(offlineStatus, fill(texts.offline_ready, {
      count: offline.data.tickets.length, time: offline.data.generated_time,
    }), "ready");
  }

  function useData(data) {
    if (!data || !data.tickets) return;
    offline.data = data;
    offline.byHash = {};
    data.tickets.forEach(function (ticket) { offline.byHash[ticket.hash] = ticket; });
  }

  function refresh() {
    if (!canHash || navigator.onLine === false) {
      showOfflineStatus();
      return Promise.resolve(false);
    }
    return fetch(offlineUrl, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then(function (response) {
      if (response.status === 403) {
        return response.json().then(function (body) {
          if (body && body.code === "device_revoked") revoked();
          throw new Error("HTTP 403");
        });
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (data) {
      useData(data);
      offline.problem = writeJson(DATA_KEY, data) ? null : texts.offline_full;
      showOfflineStatus();
      return true;
    }, function () {
      showOfflineStatus(); // the data kept so far stays in use
      return false;
    });
  }

  // What this device let in, by code hash: {entered: {time, gate}, inside}.
  function remember(hash, answer, gate) {
    if (answer.result !== "valid") return;
    var local = readJson(LOCAL_KEY, {});
    var mine = local[hash] || { entered: null, inside: false };
    if (answer.direction === "exit") {
      mine.inside = false;
    } else {
      mine.inside = true;
      if (!mine.entered) mine.entered = { time: clock(new Date()), gate: gate || "" };
    }
    local[hash] = mine;
    writeJson(LOCAL_KEY, local);
  }

  // The hour as the panel writes it: 24-hour, in the time zone the server answers in.
  function clock(date) {
    var options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    var zone = root.getAttribute("data-time-zone");
    try {
      return date.toLocaleTimeString(undefined, zone ? Object.assign({ timeZone: zone }, options) : options);
    } catch (e) {
      return date.toLocaleTimeString(undefined, options);
    }
  }

  function decideOffline(scan, hash) {
    var data = offline.data;
    var ticket = offline.byHash[hash];
    var mine = readJson(LOCAL_KEY, {})[hash];
    function answer(result, entry) {
      return {
        result: result, direction: scan.direction, scan_id: scan.scan_id,
        ticket: ticket ? {
          name: ticket.name, zone: ticket.zone, tariff: ticket.tariff, answers: ticket.answers,
        } : null,
        first_entry_time: entry ? entry.time : null,
        first_entry_gate: entry ? entry.gate || null : null,
      };
    }
    if (!ticket) return answer("unknown");
    if (ticket.status === "cancelled") return answer("cancelled");
    if (ticket.status === "unpaid" && !data.admit_unpaid) return answer("unpaid");
    var known = ticket.checked_in_at ? { time: ticket.checked_in_time, gate: "" } : null;
    var entry = (mine && mine.entered) || known;
    if (scan.direction === "exit") {
      var inside = mine ? mine.inside : !!known;
      return answer(data.allow_reentry && inside ? "valid" : "exit_refused", entry);
    }
    if (data.allow_reentry) {
      return mine && mine.inside ? answer("already_used", mine.entered) : answer("valid", entry);
    }
    return entry ? answer("already_used", entry) : answer("valid");
  }

  function offlineScan(scan, hash) {
    if (!scan.secret || !hash || !offline.data) {
      show("error", texts.invalid, canHash ? texts.offline_unavailable : texts.offline_insecure, null);
      panel.setAttribute("data-code", "network");
      return null;
    }
    var answer = decideOffline(scan, hash);
    // Kept before it is shown, so that a reload loses nothing the door was told.
    var queue = readJson(QUEUE_KEY, []);
    queue.push({
      scan_id: scan.scan_id, scanned_at: scan.scanned_at, secret: scan.secret,
      direction: scan.direction, gate: scan.gate, device: scan.device, result: answer.result,
    });
    writeJson(QUEUE_KEY, queue);
    remember(hash, answer, scan.gate);
    showAnswer(answer);
    if (answer.result === "unknown") {
      reason.textContent = fill(texts.offline_not_on_list, { time: offline.data.generated_time });
    }
    panel.setAttribute("data-offline", "true");
    badge.hidden = false;
    showQueue();
    return answer;
  }

  function showQueue() {
    var waiting = readJson(QUEUE_KEY, []).length;
    var conflicts = Object.keys(readJson(CONFLICTS_KEY, {})).length;
    if (waiting) {
      setLine(syncStatus, waiting === 1 ? texts.queued_one
        : fill(texts.queued, { count: waiting }), "warning");
    } else if (conflicts) {
      setLine(syncStatus, conflicts === 1 ? texts.conflict_one
        : fill(texts.conflicts, { count: conflicts }), "conflict");
    } else {
      setLine(syncStatus, offline.uploaded ? texts.uploaded : "", null);
    }
    syncStatus.setAttribute("data-waiting", String(waiting));
    syncStatus.setAttribute("data-conflicts", String(conflicts));
  }

  var uploading = null;

  function upload() {
    if (uploading) return uploading;
    var part = readJson(QUEUE_KEY, []).slice(0, UPLOAD_PART);
    if (!part.length || navigator.onLine === false) {
      showQueue();
      return Promise.resolve();
    }
    uploading = fetch(uploadUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ scans: part }),
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (reply) {
      uploading = null;
      if (!reply.ok) {
        var body = reply.body || {};
        var details = [];
        Object.keys(body.fields || {}).forEach(function (name) { details = details.concat(body.fields[name]); });
        setLine(syncStatus, fill(texts.upload_refused, {
          detail: details.join(" ") || body.detail || "",
        }), "warning");
        return null;
      }
      var conflicts = readJson(CONFLICTS_KEY, {});
      reply.body.scans.forEach(function (answer) {
        if (answer.conflict) {
          conflicts[answer.scan_id] = {
            result: answer.result, name: answer.ticket ? answer.ticket.name : "",
            first_entry_time: answer.first_entry_time, first_entry_gate: answer.first_entry_gate,
          };
        }
      });
      writeJson(CONFLICTS_KEY, conflicts);
      // Only what the server answered leaves the queue (scans added meanwhile stay).
      var sent = {};
      part.forEach(function (scan) { sent[scan.scan_id] = true; });
      writeJson(QUEUE_KEY, readJson(QUEUE_KEY, []).filter(function (scan) { return !sent[scan.scan_id]; }));
      offline.uploaded = true;
      showQueue();
      return upload();
    }, function () {
      uploading = null;
      showQueue();
      return null;
    });
    return uploading;
  }

  function sync() {
    return upload().then(refresh);
  }

  useData(readJson(DATA_KEY, null));
  showOfflineStatus();
  showQueue();
  sync();
  window.setInterval(sync, REFRESH_MS);
  window.addEventListener("online", sync);
  window.addEventListener("offline", showOfflineStatus);

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
    name.className = "sc-found-name";
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
    (ticket.answers || []).forEach(function (answer) {
      about.appendChild(answerLine(answer, "span", "sc-found-answer"));
    });
    var button = document.createElement("button");
    button.type = "button";
    // A ticket already in, or cancelled, is not the one to let in first.
    button.className = ticket.checked_in || ticket.cancelled ? "btn btn-secondary" : "btn btn-primary";
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

  window.panelScanner = {
    submit: submit, checkIn: checkIn, newScan: newScan, sync: sync,
    offlineReady: function () { return canHash && !!offline.data; },
  };
  startCamera();
})();
