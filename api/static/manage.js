/* The channel manager's dashboard (/manage). Plain JavaScript, no build step.
   Every call goes to the /v1 API with the manager's credential as a header; data is only ever
   inserted as text (el() below), so a question or reply cannot inject markup. */
(function () {
  "use strict";
  var KEY = "pa-manager-credential";
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), attrs[name]);
      else node.setAttribute(name, attrs[name]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function authHeaders() {
    var credential = sessionStorage.getItem(KEY) || "";
    // A JWT has three dot-separated parts; anything else is an API key.
    return credential.split(".").length === 3
      ? { Authorization: "Bearer " + credential }
      : { "X-API-Key": credential };
  }

  function api(path, options) {
    options = options || {};
    var headers = Object.assign({ Accept: "application/json" }, authHeaders());
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: options.method || "GET",
      headers: headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        return response.json().then(function (body) {
          signOut(body.message || "not allowed");
          throw new Error(body.message);
        });
      }
      if (!response.ok) {
        return response.json().then(function (body) {
          throw new Error(body.message || response.statusText);
        });
      }
      return options.raw ? response : response.json();
    });
  }

  function status(text) { $("m-status").textContent = text; }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function day(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : ""; }

  // -- sign in ---------------------------------------------------------------------------------
  function signOut(message) {
    sessionStorage.removeItem(KEY);
    $("m-main").hidden = true;
    $("m-signout").hidden = true;
    $("m-login").hidden = false;
    $("m-login-error").textContent = message || "";
  }

  function signIn(credential) {
    sessionStorage.setItem(KEY, credential);
    // A manager-only route: a partner token is refused here, before anything is shown.
    return api("/v1/feedback?limit=1").then(function () {
      $("m-login").hidden = true;
      $("m-main").hidden = false;
      $("m-signout").hidden = false;
      loadQueue();
      loadFeedback();
      loadInsights();
    });
  }

  // -- hand-off queue --------------------------------------------------------------------------
  function queueQuery() {
    var form = $("m-queue-filters");
    var params = new URLSearchParams({ limit: "200" });
    ["tier", "region", "partner_id"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    });
    var chosen = form.elements.status.value;
    if (chosen && chosen !== "all") params.set("status", chosen);
    return { params: params, openOnly: chosen === "" };
  }

  function loadQueue() {
    var query = queueQuery();
    return api("/v1/handoffs?" + query.params).then(function (page) {
      var items = page.items.filter(function (h) {
        return !query.openOnly || h.status !== "closed";
      });
      var body = $("m-queue").querySelector("tbody");
      clear(body);
      items.forEach(function (h) { body.appendChild(queueRow(h)); });
      $("m-queue-more").textContent = items.length + " shown of " + page.total + " matching";
    }).catch(function (error) { status("Could not load the queue: " + error.message); });
  }

  function act(h, step, payload) {
    return api("/v1/handoffs/" + encodeURIComponent(h.id) + "/" + step, {
      method: "POST", body: payload || {},
    }).then(function (updated) {
      status(updated.reference + " is now " + updated.status + ".");
      return loadQueue();
    }).catch(function (error) { status(error.message); });
  }

  function queueRow(h) {
    var who = h.caller;
    var reply = el("textarea", {
      rows: "2", cols: "28", "aria-label": "Reply to " + h.reference, class: "m-reply-text",
    });
    var closed = h.status === "closed";
    var actions = el("td", { class: "m-actions" });
    if (!closed) {
      actions.appendChild(el("button", {
        type: "button", class: "m-assign", text: "Assign to me",
        onclick: function () { act(h, "assign"); },
      }));
      actions.appendChild(reply);
      actions.appendChild(el("button", {
        type: "button", class: "m-reply", text: "Send reply",
        onclick: function () {
          if (!reply.value.trim()) { status("Write a reply first."); return; }
          act(h, "reply", { text: reply.value });
        },
      }));
      actions.appendChild(el("button", {
        type: "button", class: "m-close", text: "Close",
        onclick: function () { act(h, "close"); },
      }));
    }
    if (h.conversation_id) {
      actions.appendChild(el("a", {
        href: "#conversation=" + encodeURIComponent(h.conversation_id),
        class: "m-conversation-link", text: "Conversation",
      }));
    }
    var question = el("td", {}, el("div", { text: h.question }));
    if (h.comment) question.appendChild(el("div", { class: "m-comment", text: "Partner: " + h.comment }));
    if (h.reply) question.appendChild(el("div", { class: "m-replied", text: "Replied: " + h.reply }));
    return el("tr", { "data-handoff-id": h.id, "data-status": h.status },
      el("td", { text: h.reference }),
      el("td", {}, el("span", { class: "m-badge m-" + h.status, text: h.status })),
      el("td", { text: [who.partner_id || who.role, who.tier, who.region, who.language]
        .filter(Boolean).join(" · ") }),
      question,
      el("td", { text: h.reason.replace("_", " ") }),
      el("td", { text: h.assignee || "" }),
      el("td", { text: day(h.due_at) }),
      actions);
  }

  // -- insights --------------------------------------------------------------------------------
  function chart(volume) {
    var box = $("m-rate-chart");
    clear(box);
    if (!volume.length) { box.textContent = "No questions yet."; return; }
    var ns = "http://www.w3.org/2000/svg";
    var width = 640, height = 180, pad = 28;
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Answer rate per day");
    var most = Math.max.apply(null, volume.map(function (d) { return d.questions; }));
    var step = (width - 2 * pad) / Math.max(volume.length, 1);
    var points = [];
    volume.forEach(function (d, i) {
      var x = pad + i * step;
      var bar = document.createElementNS(ns, "rect");
      var h = (height - 2 * pad) * d.questions / most;
      bar.setAttribute("x", x + step * 0.15);
      bar.setAttribute("y", height - pad - h);
      bar.setAttribute("width", step * 0.7);
      bar.setAttribute("height", h);
      bar.setAttribute("class", "m-bar");
      var tip = document.createElementNS(ns, "title");
      tip.textContent = d.day + ": " + d.questions + " questions, " +
        Math.round(100 * (d.answer_rate || 0)) + "% answered";
      bar.appendChild(tip);
      svg.appendChild(bar);
      points.push((x + step / 2) + "," + (height - pad - (height - 2 * pad) * (d.answer_rate || 0)));
    });
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.join(" "));
    line.setAttribute("class", "m-line");
    svg.appendChild(line);
    points.forEach(function (point) {
      var dot = document.createElementNS(ns, "circle");
      var xy = point.split(",");
      dot.setAttribute("cx", xy[0]);
      dot.setAttribute("cy", xy[1]);
      dot.setAttribute("r", "4");
      dot.setAttribute("class", "m-dot");
      svg.appendChild(dot);
    });
    [[volume[0].day, pad], [volume[volume.length - 1].day, width - pad - 60]].forEach(function (l) {
      var label = document.createElementNS(ns, "text");
      label.setAttribute("x", l[1]);
      label.setAttribute("y", height - 8);
      label.textContent = l[0];
      svg.appendChild(label);
    });
    box.appendChild(svg);
    box.appendChild(el("p", { class: "m-muted", text: "Bars: questions per day. Line: share answered (0–100%)." }));
  }

  function counts(map) {
    return Object.keys(map).map(function (k) { return k + " " + map[k]; }).join(", ");
  }

  function loadInsights() {
    $("m-totals").textContent = "Reading the question log…";
    return api("/v1/insights").then(function (report) {
      chart(report.volume);
      $("m-totals").textContent = report.questions + " questions, " +
        Math.round(100 * (report.answer_rate || 0)) + "% answered, " + report.thumbs_down +
        " thumbs down, " + report.handoffs_requested + " hand-offs requested.";
      var body = $("m-topics").querySelector("tbody");
      clear(body);
      report.topics.forEach(function (t, index) {
        var docs = el("ul", {});
        t.documents.slice(0, 3).forEach(function (d) {
          docs.appendChild(el("li", { text: (d.title || d.source) + " (" + d.relevance + ")" }));
        });
        body.appendChild(el("tr", { "data-kind": t.kind },
          el("td", { text: String(t.size) }),
          el("td", {}, el("span", { class: "m-badge m-" + t.kind, text: t.kind.replace("_", " ") })),
          el("td", {}, el("strong", { text: t.name }),
            el("div", { class: "m-muted", text: t.terms.join(", ") }),
            el("div", { class: "m-muted", text: t.why })),
          el("td", { text: counts(t.by_tier) + " · " + counts(t.by_region) + " · " + counts(t.by_language) }),
          el("td", {}, docs),
          el("td", { text: t.action }),
          el("td", {}, el("button", {
            type: "button", text: "Export eval questions",
            onclick: function () {
              download("/v1/insights/topics/" + index + "/eval.jsonl", "gap-topic-" + index + ".jsonl");
            },
          }))));
      });
      $("m-sentiment").textContent = "Conversation sentiment: " +
        (counts(report.sentiment.counts) || "none") + ". How: " + report.sentiment.method + ".";
    }).catch(function (error) { $("m-totals").textContent = "Insights failed: " + error.message; });
  }

  // -- feedback --------------------------------------------------------------------------------
  function feedbackQuery() {
    var rating = $("m-feedback-filters").elements.rating.value;
    var params = new URLSearchParams({ limit: "100" });
    if (rating) params.set("rating", rating);
    return params;
  }

  function loadFeedback() {
    return api("/v1/feedback?" + feedbackQuery()).then(function (page) {
      var body = $("m-feedback").querySelector("tbody");
      clear(body);
      page.items.forEach(function (f) {
        var who = f.caller || {};
        var answer = el("td", {}, el("div", { text: f.answer.answer }));
        f.answer.citations.forEach(function (c) {
          answer.appendChild(el("div", { class: "m-muted", text: "[" + c.n + "] " + (c.title || c.source) }));
        });
        body.appendChild(el("tr", { "data-rating": f.rating },
          el("td", { text: day(f.created) }),
          el("td", { text: f.rating === "down" ? "👎 down" : "👍 up" }),
          el("td", { class: "m-comment", text: f.comment }),
          el("td", {}, el("div", { text: f.question }), f.conversation_id ? el("a", {
            href: "#conversation=" + encodeURIComponent(f.conversation_id), text: "Conversation",
          }) : null),
          answer,
          el("td", { text: f.answer.path }),
          el("td", { text: [who.partner_id, who.tier, who.region].filter(Boolean).join(" · ") })));
      });
    }).catch(function (error) { status("Could not load feedback: " + error.message); });
  }

  function download(path, name) {
    api(path, { raw: true }).then(function (response) { return response.blob(); })
      .then(function (blob) {
        var link = el("a", { href: URL.createObjectURL(blob), download: name });
        document.body.appendChild(link);
        link.click();
        link.remove();
      }).catch(function (error) { status(error.message); });
  }

  // -- conversations ---------------------------------------------------------------------------
  function showConversation() {
    var match = /conversation=([^&]+)/.exec(location.hash);
    if (!match || !sessionStorage.getItem(KEY)) return;
    api("/v1/conversations/" + match[1]).then(function (conversation) {
      var list = $("m-messages");
      clear(list);
      conversation.messages.forEach(function (m) {
        var label = m.role === "manager" ? "Manager" + (m.by ? " (" + m.by + ")" : "") :
          m.role === "user" ? "Partner" : "Assistant" + (m.answer ? " · " + m.answer.path : "");
        list.appendChild(el("li", { class: "m-message m-" + m.role },
          el("div", { class: "m-muted", text: label + " · " + day(m.created_at) }),
          el("div", { text: m.content })));
      });
      $("m-conversation").hidden = false;
      $("m-conversation").scrollIntoView();
    }).catch(function (error) { status("Could not open the conversation: " + error.message); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("m-login-form").addEventListener("submit", function (event) {
      event.preventDefault();
      signIn($("m-credential").value.trim()).catch(function () {});
    });
    $("m-signout").addEventListener("click", function () { signOut(""); });
    $("m-queue-filters").addEventListener("submit", function (event) {
      event.preventDefault(); loadQueue();
    });
    $("m-feedback-filters").addEventListener("submit", function (event) {
      event.preventDefault(); loadFeedback();
    });
    $("m-feedback-csv").addEventListener("click", function () {
      var params = feedbackQuery();
      params.set("format", "csv");
      params.set("limit", "500");
      download("/v1/feedback?" + params, "feedback.csv");
    });
    window.addEventListener("hashchange", showConversation);
    if (sessionStorage.getItem(KEY)) {
      signIn(sessionStorage.getItem(KEY)).then(showConversation).catch(function () {});
    }
  });
})();
