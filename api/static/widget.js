/*
 * Partner Assistant portal widget: plain JavaScript, no framework, no dependency, no build step.
 *
 * Embed with one script tag (the token is the portal's signed JWT for the signed-in partner):
 *
 *   <script src="/static/widget.js" data-api-base="" data-token="..." defer
 *           data-vendor="Kestrel" data-accent="#0b5cad" data-position="right"
 *           data-launcher-label="Ask the assistant" data-lang="en"></script>
 *
 * or call PartnerAssistant.init({apiBase, token, vendor, accent, position, launcherLabel, lang}).
 * `token` may also be a function returning the current token (or a promise of it). The UI
 * language is the partner's choice in the panel, else the token's `lang` claim, else data-lang.
 *
 * Why it is built this way:
 * - Answers stream: fetch + ReadableStream parsing Server-Sent Events (`progress`, `token`,
 *   `citations`, `final`, `error`), because EventSource cannot POST or send an Authorization
 *   header. Stop aborts the fetch; the server then stops generating.
 * - Markdown is rendered by building DOM nodes from a whitelist (paragraphs, headings, lists,
 *   tables, quotes, code, bold, italics, links). Every piece of model or document text becomes
 *   a text node, never innerHTML: an answer can quote a document, and a document can contain
 *   markup. Links are kept only for http(s) and mailto, and open with rel="noopener".
 * - The conversation id (sessionStorage) is the only history the widget keeps; the turns are
 *   fetched back from the server for their owner after a reload.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var staticBase = script && script.src ? script.src.replace(/[^/]*$/, "") : "/static/";
  var LANGUAGES = { en: "English", de: "Deutsch", es: "Espa\u00f1ol", fr: "Fran\u00e7ais", ja: "\u65e5\u672c\u8a9e" };

  var FALLBACK = {
    title: "Partner Assistant",
    launcher: "Ask the assistant",
    open: "Open the partner assistant",
    close: "Close the assistant",
    newChat: "New conversation",
    language: "Language",
    greeting: "Hi! Ask me about the partner program: deals, tiers, funds, training.",
    scope: "Answers come from the {vendor} partner program documents; a person can take over.",
    scopeGeneric: "Answers come from the partner program documents; a person can take over.",
    placeholder: "Ask about programs, products or training\u2026",
    inputLabel: "Your question",
    send: "Send",
    stop: "Stop",
    stopped: "Stopped.",
    sources: "Sources",
    source: "Source {n}: {title}",
    showPassage: "Show the cited passage",
    hidePassage: "Hide the cited passage",
    section: "Section",
    page: "p.",
    stageSearching: "Searching the program documents\u2026",
    stageReading: "Reading {n} sources\u2026",
    stageReadingAny: "Reading the sources\u2026",
    stageWriting: "Writing the answer\u2026",
    stageChecking: "Checking the answer against the sources\u2026",
    abstained: "I could not find a reliable answer in the documentation you can access.",
    handoff: "Talk to a person",
    handoffDone: "Sent to a channel manager. Reference: {ref}.",
    handoffEta: "Expected response: {eta}.",
    handoffEtaHours: "Expected response within {hours} hours.",
    handoffCommentLabel: "Add a comment for the channel manager (optional)",
    handoffCommentSaved: "Your comment was passed on.",
    helpful: "Helpful",
    notHelpful: "Not helpful",
    feedbackCommentLabel: "What was wrong or missing? (optional)",
    feedbackSend: "Send feedback",
    thanks: "Thanks for the feedback.",
    copy: "Copy answer",
    copied: "Copied.",
    retry: "Retry",
    offline: "You are offline. Your question stays here until the connection is back.",
    suggestionsLabel: "Suggested questions",
    errorGeneric: "Something went wrong. Please try again.",
    errorAuth: "Your session has expired. Please reload the page.",
    errorRate: "Too many questions in a short time. Please wait a moment.",
    errorBusy: "The assistant is busy. Please try again in a few seconds.",
    errorOffline: "The connection was lost. Please try again when you are back online.",
    you: "You",
    assistant: "Assistant",
    person: "Channel manager",
    suggestions: []
  };

  // ---------------------------------------------------------------------------------------
  // small helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.indexOf("on") === 0) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function format(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (whole, name) {
      return values[name] !== undefined && values[name] !== null ? String(values[name]) : whole;
    });
  }

  /* Icons drawn as SVG: emoji fonts are missing on many kiosk and Linux browsers. */
  var ICONS = {
    thumb:
      "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 " +
      "7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09" +
      "-.26.14-.53.14-.73v-2z",
    copy:
      "M16 1H4c-1.1 0-2 .9-2 2v14h2V3h12V1zm3 4H8c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h11c1.1 0 2-.9 " +
      "2-2V7c0-1.1-.9-2-2-2zm0 16H8V7h11v14z",
    chat:
      "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2zm0 14H5.17L4 17.17V4h16v12z",
    stop: "M6 6h12v12H6z"
  };

  function icon(name, rotate) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", ICONS[name]);
    if (rotate) path.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(path);
    return svg;
  }

  function safeUrl(url) {
    // Only web and mail links become hrefs; "javascript:", "data:" and friends stay text.
    if (typeof url !== "string") return null;
    url = url.trim();
    if (/[\s\u0000-\u001f"'<>`]/.test(url)) return null;
    return /^(https?:\/\/[^/]|mailto:[^/])/i.test(url) ? url : null;
  }

  function link(url, children) {
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, children);
  }

  var store = {
    get: function (key) {
      try {
        return window.sessionStorage.getItem("pa." + key);
      } catch (e) {
        return null;
      }
    },
    set: function (key, value) {
      try {
        if (value === null) window.sessionStorage.removeItem("pa." + key);
        else window.sessionStorage.setItem("pa." + key, value);
      } catch (e) {
        /* storage disabled: the widget still works, without surviving a reload */
      }
    }
  };

  /* The `lang` claim of a JWT, read for the UI language only (the server verifies the token). */
  function tokenLanguage(token) {
    if (typeof token !== "string" || token.split(".").length !== 3) return null;
    try {
      var payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (payload.length % 4) payload += "=";
      var claims = JSON.parse(window.atob(payload));
      return typeof claims.lang === "string" ? claims.lang : null;
    } catch (e) {
      return null;
    }
  }

  function supported(lang) {
    var code = typeof lang === "string" ? lang.toLowerCase().split(/[-_]/)[0] : "";
    return LANGUAGES[code] ? code : null;
  }

  // ---------------------------------------------------------------------------------------
  // Markdown: a small block + inline parser that builds DOM nodes from a whitelist.

  var LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
  var FENCE = /^\s*(`{3,}|~{3,})\s*([\w+-]*)\s*$/;
  var HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
  var RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
  var TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
  var INLINE = new RegExp(
    [
      "\\\\([\\\\`*_{}\\[\\]()#+\\-.!|>~])", // 1 backslash escape
      "(`+)([^`]|[^`][\\s\\S]*?[^`])\\2(?!`)", // 2,3 code span
      "(!?)\\[([^\\]\\n]+)\\]\\(\\s*<?([^\\s<>()]*(?:\\([^\\s<>()]*\\)[^\\s<>()]*)*)>?(?:\\s+\"[^\"\\n]*\")?\\s*\\)", // 4,5,6 link
      "\\[(\\d{1,3})\\]", // 7 citation marker
      "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 8 bold
      "~~(?=\\S)([\\s\\S]*?\\S)~~", // 9 strikethrough
      "\\*(?=[^\\s*])([^*\\n]*?[^\\s*])\\*", // 10 italics
      "<((?:https?:\\/\\/|mailto:)[^\\s<>]+)>", // 11 autolink
      "(https?:\\/\\/[^\\s<>\"'`]*[^\\s<>\"'`.,;:!?)\\]])" // 12 bare URL
    ].join("|"),
    "g"
  );

  function renderInline(text, parent, options, inLink) {
    var pattern = new RegExp(INLINE.source, "g");
    var last = 0;
    var m;
    function textUpTo(index) {
      if (index > last) parent.appendChild(document.createTextNode(text.slice(last, index)));
    }
    while ((m = pattern.exec(text)) !== null) {
      var node = null;
      if (m[1] !== undefined) node = document.createTextNode(m[1]);
      else if (m[3] !== undefined) node = el("code", { text: m[3] });
      else if (m[5] !== undefined) {
        var href = safeUrl(m[6]);
        node = document.createDocumentFragment();
        var target = href && !inLink ? link(href) : node;
        renderInline(m[5], target, options, true);
        if (target !== node) node.appendChild(target);
      } else if (m[7] !== undefined) {
        node = options.cite ? options.cite(Number(m[7])) : null;
        if (!node) continue; // an [n] that names no source stays as it is
      } else if (m[8] !== undefined) {
        node = el("strong");
        renderInline(m[8], node, options, inLink);
      } else if (m[9] !== undefined) {
        node = el("del");
        renderInline(m[9], node, options, inLink);
      } else if (m[10] !== undefined) {
        node = el("em");
        renderInline(m[10], node, options, inLink);
      } else {
        var url = m[11] !== undefined ? m[11] : m[12];
        var safe = inLink ? null : safeUrl(url);
        node = safe ? link(safe, [url]) : document.createTextNode(url);
      }
      textUpTo(m.index);
      parent.appendChild(node);
      last = pattern.lastIndex;
    }
    textUpTo(text.length);
  }

  function renderLines(lines, parent, options) {
    lines.forEach(function (line, i) {
      if (i) parent.appendChild(el("br"));
      renderInline(line, parent, options, false);
    });
  }

  function splitRow(line) {
    var row = line.trim().replace(/^\|/, "").replace(/\|$/, "");
    var cells = [];
    var current = "";
    for (var i = 0; i < row.length; i++) {
      if (row[i] === "\\" && row[i + 1] === "|") {
        current += "|";
        i++;
      } else if (row[i] === "|") {
        cells.push(current.trim());
        current = "";
      } else current += row[i];
    }
    cells.push(current.trim());
    return cells;
  }

  function isBlank(line) {
    return /^\s*$/.test(line);
  }

  function startsBlock(lines, i) {
    var line = lines[i];
    return (
      FENCE.test(line) ||
      HEADING.test(line) ||
      RULE.test(line) ||
      /^\s{0,3}>/.test(line) ||
      LIST_ITEM.test(line) ||
      (line.indexOf("|") !== -1 && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].indexOf("-") !== -1)
    );
  }

  function parseList(lines, start, options) {
    var first = LIST_ITEM.exec(lines[start]);
    var indent = first[1].length;
    var ordered = /\d/.test(first[2]);
    var list = el(ordered ? "ol" : "ul");
    if (ordered && parseInt(first[2], 10) !== 1) list.setAttribute("start", String(parseInt(first[2], 10)));
    var item = null;
    var pending = [];
    function flush() {
      if (item && pending.length) renderLines(pending, item, options);
      pending = [];
    }
    var i = start;
    while (i < lines.length) {
      var line = lines[i];
      if (isBlank(line)) {
        var j = i + 1;
        while (j < lines.length && isBlank(lines[j])) j++;
        var next = j < lines.length ? LIST_ITEM.exec(lines[j]) : null;
        if (next && next[1].length >= indent && /\d/.test(next[2]) === ordered) {
          i = j;
          continue;
        }
        break;
      }
      var m = LIST_ITEM.exec(line);
      if (m && m[1].length <= indent + 1 && m[1].length >= indent) {
        if (/\d/.test(m[2]) !== ordered) break;
        flush();
        item = el("li");
        list.appendChild(item);
        pending = [m[3]];
        i++;
      } else if (m && m[1].length > indent + 1 && item) {
        flush();
        var nested = parseList(lines, i, options);
        item.appendChild(nested.node);
        i = nested.next;
      } else if (!m && item && /^\s+\S/.test(line) && !FENCE.test(line)) {
        pending.push(line.trim());
        i++;
      } else break;
    }
    flush();
    return { node: list, next: i };
  }

  function renderBlocks(lines, parent, options) {
    var i = 0;
    while (i < lines.length) {
      var line = lines[i];
      if (isBlank(line)) {
        i++;
        continue;
      }
      var fence = FENCE.exec(line);
      if (fence) {
        var body = [];
        i++;
        while (i < lines.length && !(lines[i].trim().indexOf(fence[1]) === 0 && FENCE.test(lines[i]))) body.push(lines[i++]);
        i++;
        var code = el("code", { text: body.join("\n") });
        if (fence[2]) code.setAttribute("data-lang", fence[2]);
        parent.appendChild(el("pre", { className: "pa-code" }, [code]));
        continue;
      }
      var heading = HEADING.exec(line);
      if (heading) {
        var h = el("h" + Math.min(6, heading[1].length + 2), { className: "pa-md-heading" });
        renderInline(heading[2], h, options, false);
        parent.appendChild(h);
        i++;
        continue;
      }
      if (RULE.test(line)) {
        parent.appendChild(el("hr"));
        i++;
        continue;
      }
      if (/^\s{0,3}>/.test(line)) {
        var quoted = [];
        while (i < lines.length && /^\s{0,3}>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s{0,3}>\s?/, ""));
        var quote = el("blockquote");
        renderBlocks(quoted, quote, options);
        parent.appendChild(quote);
        continue;
      }
      if (LIST_ITEM.test(line)) {
        var list = parseList(lines, i, options);
        parent.appendChild(list.node);
        i = list.next;
        continue;
      }
      if (line.indexOf("|") !== -1 && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].indexOf("-") !== -1) {
        var head = splitRow(line);
        var aligns = splitRow(lines[i + 1]).map(function (cell) {
          var left = cell.charAt(0) === ":";
          var right = cell.charAt(cell.length - 1) === ":";
          return left && right ? "center" : right ? "right" : left ? "left" : null;
        });
        var table = el("table");
        var headRow = el("tr");
        head.forEach(function (cell, c) {
          var th = el("th", { scope: "col", className: aligns[c] ? "pa-align-" + aligns[c] : null });
          renderInline(cell, th, options, false);
          headRow.appendChild(th);
        });
        table.appendChild(el("thead", {}, [headRow]));
        var tbody = el("tbody");
        i += 2;
        while (i < lines.length && !isBlank(lines[i]) && lines[i].indexOf("|") !== -1) {
          var row = el("tr");
          var cells = splitRow(lines[i++]);
          head.forEach(function (unused, c) {
            var td = el("td", { className: aligns[c] ? "pa-align-" + aligns[c] : null });
            renderInline(cells[c] || "", td, options, false);
            row.appendChild(td);
          });
          tbody.appendChild(row);
        }
        table.appendChild(tbody);
        parent.appendChild(el("div", { className: "pa-table", tabindex: "0" }, [table]));
        continue;
      }
      var paragraph = [line.trim()];
      i++;
      while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines, i)) paragraph.push(lines[i++].trim());
      var p = el("p");
      renderLines(paragraph, p, options);
      parent.appendChild(p);
    }
  }

  /**
   * Markdown text as a DocumentFragment. `options.cite(n)` may return a node for a citation
   * marker "[n]" (or null to leave it as text). Nothing in `text` is ever parsed as HTML.
   */
  function renderMarkdown(text, options) {
    var fragment = document.createDocumentFragment();
    renderBlocks(String(text || "").replace(/\r\n?/g, "\n").split("\n"), fragment, options || {});
    return fragment;
  }

  // ---------------------------------------------------------------------------------------
  // Server-Sent Events

  /* Parse a Server-Sent Events byte stream into {event, data} objects. */
  function SseParser(onEvent) {
    this.buffer = "";
    this.onEvent = onEvent;
  }
  SseParser.prototype.push = function (text) {
    this.buffer += text.replace(/\r\n?/g, "\n");
    var cut;
    while ((cut = this.buffer.indexOf("\n\n")) !== -1) {
      var block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      var event = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) event = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (data.length) {
        var parsed;
        try {
          parsed = JSON.parse(data.join("\n"));
        } catch (e) {
          continue;
        }
        this.onEvent(event, parsed);
      }
    }
  };

  // ---------------------------------------------------------------------------------------
  // the widget

  function Widget(options) {
    this.apiBase = (options.apiBase || "").replace(/\/$/, "");
    this.token = options.token || "";
    this.vendor = options.vendor || "";
    this.launcherLabel = options.launcherLabel || "";
    this.configSuggestions = options.suggestions || null;
    this.lang =
      supported(store.get("lang")) ||
      supported(tokenLanguage(this.token)) ||
      supported(options.lang) ||
      supported(document.documentElement.lang) ||
      "en";
    this.t = FALLBACK;
    this.conversationId = null;
    this.busy = false;
    this.counter = 0;
    this.build(options.container || document.body, options);
    var self = this;
    this.ready = this.loadMessages(this.lang)
      .then(function () {
        self.applyMessages();
        self.loadSuggestions();
        return self.restore();
      })
      .then(function () {
        if (store.get("open") === "1") self.open();
      });
  }

  Widget.prototype.loadMessages = function (lang) {
    var self = this;
    return fetch(staticBase + "i18n/" + encodeURIComponent(lang) + ".json")
      .then(function (r) {
        return r.ok ? r.json() : {};
      })
      .catch(function () {
        return {};
      })
      .then(function (messages) {
        var merged = {};
        Object.keys(FALLBACK).forEach(function (k) {
          merged[k] = messages[k] !== undefined ? messages[k] : FALLBACK[k];
        });
        self.t = merged;
      });
  };

  Widget.prototype.getToken = function () {
    return Promise.resolve(typeof this.token === "function" ? this.token() : this.token);
  };

  Widget.prototype.request = function (path, body, accept, signal) {
    var self = this;
    return this.getToken().then(function (token) {
      var headers = { Accept: accept || "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (token) headers.Authorization = "Bearer " + token;
      return fetch(self.apiBase + path, {
        method: body === undefined ? "GET" : "POST",
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal
      });
    });
  };

  Widget.prototype.build = function (container, options) {
    var self = this;
    this.launcherText = el("span", { className: "pa-launcher-label", text: this.launcherLabel || FALLBACK.launcher });
    this.launcher = el("button", {
      type: "button",
      className: "pa-launcher",
      "aria-expanded": "false",
      "aria-controls": "pa-panel",
      onclick: function () {
        self.toggle();
      }
    }, [icon("chat"), this.launcherText]);

    this.titleEl = el("h2", { id: "pa-title", className: "pa-title", text: FALLBACK.title });
    this.langSelect = el("select", {
      className: "pa-lang",
      "aria-label": FALLBACK.language,
      onchange: function () {
        self.setLanguage(self.langSelect.value);
      }
    });
    Object.keys(LANGUAGES).forEach(function (code) {
      self.langSelect.appendChild(el("option", { value: code, lang: code, text: LANGUAGES[code] }));
    });
    this.langSelect.value = this.lang;
    this.newButton = el("button", {
      type: "button",
      className: "pa-icon-button pa-new",
      "aria-label": FALLBACK.newChat,
      title: FALLBACK.newChat,
      text: "+",
      onclick: function () {
        self.reset();
      }
    });
    this.closeButton = el("button", {
      type: "button",
      className: "pa-icon-button pa-close",
      "aria-label": FALLBACK.close,
      title: FALLBACK.close,
      text: "\u00d7",
      onclick: function () {
        self.close();
      }
    });
    this.offlineNote = el("p", { className: "pa-offline", role: "status", hidden: true, text: FALLBACK.offline });
    this.greeting = el("p", { className: "pa-greeting", text: FALLBACK.greeting });
    this.scopeLine = el("p", { className: "pa-scope" });
    this.intro = el("div", { className: "pa-intro" }, [this.greeting, this.scopeLine]);
    this.log = el("div", {
      className: "pa-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      tabindex: "0"
    }, [this.intro]);
    this.announcer = el("p", { className: "pa-visually-hidden", role: "status", "aria-live": "polite" });
    this.suggestionList = el("ul", { className: "pa-suggestions", "aria-label": FALLBACK.suggestionsLabel });
    this.input = el("textarea", {
      id: "pa-input",
      className: "pa-input",
      rows: "2",
      maxlength: "4000",
      placeholder: FALLBACK.placeholder,
      "aria-label": FALLBACK.inputLabel
    });
    this.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        self.submit();
      }
    });
    this.sendButton = el("button", { type: "submit", className: "pa-send", text: FALLBACK.send });
    this.stopButton = el("button", {
      type: "button",
      className: "pa-stop",
      hidden: true,
      onclick: function () {
        self.stop();
      }
    }, [icon("stop"), el("span", { text: FALLBACK.stop })]);
    this.form = el("form", {
      className: "pa-form",
      onsubmit: function (event) {
        event.preventDefault();
        self.submit();
      }
    }, [this.input, this.sendButton, this.stopButton]);

    this.panel = el("section", {
      id: "pa-panel",
      className: "pa-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "pa-title",
      hidden: true
    }, [
      el("header", { className: "pa-header" }, [this.titleEl, this.langSelect, this.newButton, this.closeButton]),
      this.offlineNote,
      this.log,
      this.announcer,
      this.suggestionList,
      this.form
    ]);
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        self.close();
      }
    });

    var position = options.position === "left" ? "left" : "right";
    this.root = el("div", { className: "pa-widget pa-" + position, "data-pa-widget": "" }, [this.panel, this.launcher]);
    if (options.accent && window.CSS && CSS.supports && CSS.supports("color", options.accent)) {
      this.root.style.setProperty("--pa-accent", options.accent);
    }
    container.appendChild(this.root);

    document.addEventListener("keydown", function (event) {
      var active = document.activeElement;
      if (event.key === "Escape" && !self.panel.hidden && (!active || active === document.body)) {
        event.preventDefault();
        self.close();
      }
    });
    window.addEventListener("online", function () {
      self.showOffline(false);
    });
    window.addEventListener("offline", function () {
      self.showOffline(true);
    });
    this.showOffline(navigator.onLine === false);
  };

  Widget.prototype.applyMessages = function () {
    var t = this.t;
    this.root.setAttribute("lang", this.lang);
    this.launcherText.textContent = this.launcherLabel || t.launcher;
    this.launcher.title = t.open;
    this.titleEl.textContent = t.title;
    this.langSelect.setAttribute("aria-label", t.language);
    this.closeButton.setAttribute("aria-label", t.close);
    this.closeButton.title = t.close;
    this.newButton.setAttribute("aria-label", t.newChat);
    this.newButton.title = t.newChat;
    this.offlineNote.textContent = t.offline;
    this.greeting.textContent = t.greeting;
    this.scopeLine.textContent = this.vendor ? format(t.scope, { vendor: this.vendor }) : t.scopeGeneric;
    this.input.placeholder = t.placeholder;
    this.input.setAttribute("aria-label", t.inputLabel);
    this.sendButton.textContent = t.send;
    this.stopButton.lastChild.textContent = t.stop;
    this.suggestionList.setAttribute("aria-label", t.suggestionsLabel);
  };

  Widget.prototype.setLanguage = function (lang) {
    var self = this;
    lang = supported(lang) || "en";
    this.lang = lang;
    store.set("lang", lang);
    return this.loadMessages(lang).then(function () {
      self.applyMessages();
      self.configSuggestions = null;
      self.loadSuggestions();
    });
  };

  Widget.prototype.loadSuggestions = function () {
    var self = this;
    if (this.configSuggestions) {
      this.showSuggestions(this.configSuggestions);
      return;
    }
    fetch(this.apiBase + "/v1/suggestions?lang=" + encodeURIComponent(this.lang))
      .then(function (r) {
        return r.ok ? r.json() : { suggestions: self.t.suggestions };
      })
      .catch(function () {
        return { suggestions: self.t.suggestions };
      })
      .then(function (body) {
        self.showSuggestions(body.suggestions || []);
      });
  };

  Widget.prototype.hasMessages = function () {
    return !!this.log.querySelector(".pa-message");
  };

  Widget.prototype.showSuggestions = function (list) {
    var self = this;
    this.suggestions = list;
    this.suggestionList.textContent = "";
    list.slice(0, 4).forEach(function (text) {
      self.suggestionList.appendChild(
        el("li", {}, [
          el("button", {
            type: "button",
            className: "pa-suggestion",
            text: text,
            onclick: function () {
              self.input.value = text;
              self.submit();
            }
          })
        ])
      );
    });
    this.suggestionList.hidden = list.length === 0 || this.hasMessages();
  };

  /* Tell the host page what happens: "pa:open", "pa:close", "pa:progress", "pa:answer",
     "pa:error", "pa:stop", "pa:handoff", "pa:feedback" (CustomEvents that bubble to document). */
  Widget.prototype.emit = function (name, detail) {
    if (typeof window.CustomEvent !== "function") return;
    this.root.dispatchEvent(new CustomEvent("pa:" + name, { bubbles: true, detail: detail || {} }));
  };

  Widget.prototype.toggle = function () {
    if (this.panel.hidden) this.open();
    else this.close();
  };

  Widget.prototype.open = function () {
    this.panel.hidden = false;
    this.root.classList.add("pa-open");
    this.launcher.setAttribute("aria-expanded", "true");
    store.set("open", "1");
    this.input.focus();
    this.emit("open");
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.root.classList.remove("pa-open");
    this.launcher.setAttribute("aria-expanded", "false");
    store.set("open", null);
    this.launcher.focus();
    this.emit("close");
  };

  Widget.prototype.reset = function () {
    this.stop();
    this.conversationId = null;
    store.set("conversation", null);
    Array.prototype.slice.call(this.log.querySelectorAll(".pa-message")).forEach(function (node) {
      node.remove();
    });
    this.showSuggestions(this.suggestions || []);
    this.input.focus();
  };

  Widget.prototype.showOffline = function (offline) {
    this.offlineNote.hidden = !offline;
    this.root.classList.toggle("pa-is-offline", offline);
  };

  Widget.prototype.announce = function (text) {
    var announcer = this.announcer;
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  };

  /* Put the start of a message at the top of the log: a long answer is read from its start. */
  Widget.prototype.scrollToStart = function (node) {
    this.log.scrollTop = Math.max(0, node.offsetTop - 8);
  };

  // --- conversation restore ----------------------------------------------------------------

  Widget.prototype.restore = function () {
    var id = store.get("conversation");
    if (!id) return Promise.resolve();
    var self = this;
    return this.request("/v1/conversations/" + encodeURIComponent(id))
      .then(function (response) {
        if (response.status === 404 || response.status === 403) {
          store.set("conversation", null);
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (conversation) {
        if (!conversation || !Array.isArray(conversation.messages)) return;
        self.conversationId = conversation.id || id;
        conversation.messages.forEach(function (message) {
          if (message.role === "user") self.addUserMessage(message.content || "");
          else if (message.role === "manager") self.addPersonMessage(message.content || "");
          else if (message.role === "assistant") {
            var bubble = self.createBubble();
            self.log.appendChild(bubble);
            self.finishAnswer(bubble, message.answer || { answer: message.content || "", path: "generated" }, true);
          }
        });
        self.suggestionList.hidden = self.hasMessages() || self.suggestionList.hidden;
        self.log.scrollTop = self.log.scrollHeight;
      })
      .catch(function () {
        /* the history is a convenience: a failed fetch leaves an empty, working widget */
      });
  };

  // --- messages ------------------------------------------------------------------------------

  Widget.prototype.addUserMessage = function (text) {
    var node = el("div", { className: "pa-message pa-user" }, [
      el("span", { className: "pa-visually-hidden", text: this.t.you + ": " }),
      el("p", { className: "pa-text", text: text })
    ]);
    this.log.appendChild(node);
    return node;
  };

  /* A reply written by a person (a channel manager answering a hand-off). */
  Widget.prototype.addPersonMessage = function (text) {
    var name = this.t.person;
    var body = el("div", { className: "pa-text" });
    body.appendChild(renderMarkdown(text, {}));
    var node = el("div", { className: "pa-message pa-person" }, [
      el("p", { className: "pa-person-name", text: name }),
      body
    ]);
    this.log.appendChild(node);
    return node;
  };

  Widget.prototype.createBubble = function () {
    this.counter += 1;
    var bubble = el("div", { className: "pa-message pa-assistant", "data-message": String(this.counter) });
    bubble.label = el("span", { className: "pa-visually-hidden", text: this.t.assistant + ": " });
    bubble.textEl = el("div", { className: "pa-text" });
    bubble.status = el("p", { className: "pa-status", role: "status" });
    bubble.appendChild(bubble.label);
    bubble.appendChild(bubble.textEl);
    bubble.appendChild(bubble.status);
    bubble.streamed = "";
    bubble.citations = [];
    return bubble;
  };

  Widget.prototype.setBusy = function (busy) {
    this.busy = busy;
    this.sendButton.hidden = busy;
    this.stopButton.hidden = !busy;
    this.root.classList.toggle("pa-is-busy", busy);
  };

  Widget.prototype.submit = function (retryQuestion) {
    var question = (typeof retryQuestion === "string" ? retryQuestion : this.input.value).trim();
    if (!question || this.busy) return;
    if (navigator.onLine === false) {
      if (typeof retryQuestion === "string") this.input.value = question;
      this.showOffline(true);
      this.announce(this.t.offline);
      return;
    }
    if (typeof retryQuestion !== "string") this.input.value = "";
    this.suggestionList.hidden = true;
    var user = this.addUserMessage(question);
    var bubble = this.createBubble();
    bubble.classList.add("pa-streaming");
    bubble.setAttribute("aria-busy", "true");
    bubble.question = question;
    bubble.user = user;
    this.setStage(bubble, { stage: "searching" });
    this.log.appendChild(bubble);
    this.scrollToStart(user);
    this.setBusy(true);

    var body = { question: question };
    if (this.conversationId) body.conversation_id = this.conversationId;
    var controller = window.AbortController ? new AbortController() : null;
    this.controller = controller;
    var self = this;
    this.request("/v1/chat", body, "text/event-stream", controller ? controller.signal : undefined)
      .then(function (response) {
        if (!response.ok) return self.showHttpError(bubble, response);
        var type = response.headers.get("content-type") || "";
        if (type.indexOf("text/event-stream") === -1 || !response.body) {
          return response.json().then(function (answer) {
            self.finishAnswer(bubble, answer);
          });
        }
        return self.readStream(bubble, response.body);
      })
      .catch(function () {
        if (controller && controller.signal.aborted) self.showStopped(bubble);
        else self.showError(bubble, navigator.onLine === false ? self.t.errorOffline : self.t.errorGeneric);
      })
      .then(function () {
        if (self.controller === controller) {
          self.controller = null;
          self.setBusy(false);
          if (self.panel.contains(document.activeElement) || document.activeElement === document.body) {
            self.input.focus();
          }
        }
      });
  };

  /* Stop the answer being written: the fetch is aborted, and the server stops generating. */
  Widget.prototype.stop = function () {
    if (!this.controller) return;
    this.controller.abort();
    this.emit("stop");
  };

  Widget.prototype.setStage = function (bubble, progress) {
    var t = this.t;
    var text = null;
    if (progress.stage === "searching") text = t.stageSearching;
    else if (progress.stage === "reading")
      text = typeof progress.sources === "number" ? format(t.stageReading, { n: progress.sources }) : t.stageReadingAny;
    else if (progress.stage === "writing") text = t.stageWriting;
    else if (progress.stage === "checking") text = t.stageChecking;
    text = text || progress.message || "";
    if (progress.stage) bubble.setAttribute("data-stage", progress.stage);
    if (bubble.status.textContent !== text) bubble.status.textContent = text;
    bubble.status.hidden = !text;
  };

  Widget.prototype.readStream = function (bubble, stream) {
    var self = this;
    var reader = stream.getReader();
    var decoder = new TextDecoder();
    var finished = false;
    var parser = new SseParser(function (event, data) {
      if (finished) return;
      if (event === "progress") {
        self.setStage(bubble, data || {});
        self.emit("progress", { stage: data.stage, message: data.message, sources: data.sources });
      } else if (event === "token") {
        bubble.streamed += data.text || "";
        bubble.tokens = (bubble.tokens || 0) + 1;
        bubble.setAttribute("data-tokens", String(bubble.tokens));
        if (bubble.getAttribute("data-stage") === "searching" || bubble.getAttribute("data-stage") === "reading") {
          bubble.status.hidden = true;
        }
        self.renderAnswerText(bubble, bubble.streamed, bubble.citations);
      } else if (event === "citations") {
        bubble.citations = data.citations || [];
        self.renderAnswerText(bubble, bubble.streamed, bubble.citations);
      } else if (event === "final") {
        finished = true;
        self.finishAnswer(bubble, data);
      } else if (event === "error") {
        finished = true;
        self.showError(bubble, self.t.errorGeneric);
      }
    });
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          parser.push(decoder.decode());
          parser.push("\n\n");
          if (!finished) self.showError(bubble, self.t.errorGeneric);
          return;
        }
        parser.push(decoder.decode(chunk.value, { stream: true }));
        return pump();
      });
    }
    return pump();
  };

  Widget.prototype.renderAnswerText = function (bubble, text, citations) {
    var self = this;
    var id = bubble.getAttribute("data-message");
    var known = {};
    (citations || []).forEach(function (c) {
      known[c.n] = c;
    });
    bubble.textEl.textContent = "";
    bubble.textEl.appendChild(
      renderMarkdown(text, {
        cite: function (n) {
          return known[n] ? self.citationLink(known[n], id) : null;
        }
      })
    );
  };

  Widget.prototype.sourceName = function (citation) {
    return format(this.t.source, { n: citation.n, title: citation.title || citation.source || "" });
  };

  Widget.prototype.citationLink = function (citation, id) {
    var self = this;
    var sourceId = "pa-src-" + id + "-" + citation.n;
    return el("a", {
      href: "#" + sourceId,
      className: "pa-cite",
      "data-cite": String(citation.n),
      "aria-label": this.sourceName(citation),
      title: this.sourceName(citation),
      text: "[" + citation.n + "]",
      onclick: function (event) {
        event.preventDefault();
        var item = document.getElementById(sourceId);
        if (!item) return;
        var previous = self.log.querySelector(".pa-source-active");
        if (previous) previous.classList.remove("pa-source-active");
        item.classList.add("pa-source-active");
        if (item.showPassage) item.showPassage(true);
        item.scrollIntoView({ block: "nearest" });
        item.focus();
      }
    });
  };

  Widget.prototype.renderSources = function (citations, id) {
    var self = this;
    var t = this.t;
    var list = el("ol", { className: "pa-source-list" });
    citations.forEach(function (c) {
      var title = c.title || c.source;
      var href = safeUrl(c.url);
      var details = [];
      if (c.section) details.push(t.section + ": " + c.section);
      if (c.page !== null && c.page !== undefined) details.push(t.page + " " + c.page);
      if (c.version) details.push("v" + c.version);
      if (c.effective_date) details.push(c.effective_date);
      var item = el("li", { id: "pa-src-" + id + "-" + c.n, className: "pa-source", tabindex: "-1", value: c.n }, [
        href
          ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer", "aria-label": self.sourceName(c), text: title })
          : el("span", { className: "pa-source-title", text: title }),
        details.length ? el("span", { className: "pa-source-detail", text: " \u2014 " + details.join(", ") }) : null
      ]);
      if (c.quote) {
        var passageId = "pa-quote-" + id + "-" + c.n;
        var passage = el("blockquote", { id: passageId, className: "pa-quote", hidden: true, text: c.quote });
        var toggle = el("button", {
          type: "button",
          className: "pa-quote-toggle",
          "aria-expanded": "false",
          "aria-controls": passageId,
          text: t.showPassage,
          onclick: function () {
            item.showPassage(passage.hidden);
          }
        });
        item.showPassage = function (show) {
          passage.hidden = !show;
          toggle.setAttribute("aria-expanded", show ? "true" : "false");
          toggle.textContent = show ? t.hidePassage : t.showPassage;
        };
        item.appendChild(toggle);
        item.appendChild(passage);
      }
      list.appendChild(item);
    });
    return el("div", { className: "pa-sources" }, [el("h3", { className: "pa-sources-title", text: t.sources }), list]);
  };

  Widget.prototype.finishAnswer = function (bubble, answer, fromHistory) {
    var id = bubble.getAttribute("data-message");
    var streamed = {};
    (bubble.citations || []).forEach(function (c) {
      streamed[c.n] = c;
    });
    // The final answer is authoritative; a field only the streamed citations carry is kept.
    var citations = (answer.citations || bubble.citations || []).map(function (c) {
      var merged = {};
      Object.keys(streamed[c.n] || {}).forEach(function (k) {
        merged[k] = streamed[c.n][k];
      });
      Object.keys(c).forEach(function (k) {
        if (c[k] !== null && c[k] !== undefined) merged[k] = c[k];
      });
      return merged;
    });
    if (answer.conversation_id) {
      this.conversationId = answer.conversation_id;
      store.set("conversation", answer.conversation_id);
    }
    bubble.status.remove();
    bubble.classList.remove("pa-streaming");
    bubble.removeAttribute("aria-busy");
    bubble.setAttribute("data-answer-id", answer.answer_id || "");
    bubble.setAttribute("data-path", answer.path || "");
    if (supported(answer.language)) bubble.textEl.setAttribute("lang", supported(answer.language));
    var abstained = answer.path === "abstained";
    // An abstention is said once: the server's text (in the partner's language), or ours.
    this.renderAnswerText(bubble, answer.answer || (abstained ? this.t.abstained : ""), citations);
    if (citations.length && !abstained) bubble.appendChild(this.renderSources(citations, id));
    if (abstained) bubble.classList.add("pa-abstained");
    if (abstained || answer.handoff_offered) bubble.appendChild(this.renderHandoff(answer));
    if (answer.answer_id) bubble.appendChild(this.renderActions(answer, citations));
    if (!fromHistory && bubble.user) this.scrollToStart(bubble.user);
    if (!fromHistory)
      this.emit("answer", { answer_id: answer.answer_id, path: answer.path, conversation_id: this.conversationId });
  };

  /* "Talk to a person", with an optional comment for the person; once sent, the hand-off's
     reference and when to expect a reply (both from the server's receipt). */
  Widget.prototype.renderHandoff = function (answer) {
    var self = this;
    var t = this.t;
    this.counter += 1;
    var fieldId = "pa-handoff-comment-" + this.counter;
    var field = el("textarea", { id: fieldId, className: "pa-comment-input", rows: "2", maxlength: "2000" });
    var button = el("button", { type: "submit", className: "pa-handoff-button", text: t.handoff });
    var form = el("form", {
      className: "pa-comment pa-handoff-comment",
      onsubmit: function (event) {
        event.preventDefault();
        button.disabled = true;
        var body = { answer_id: answer.answer_id };
        var comment = field.value.trim();
        if (comment) body.comment = comment;
        self.request("/v1/handoffs", body)
          .then(function (response) {
            if (!response.ok) throw new Error("handoff " + response.status);
            return response.json();
          })
          .then(function (handoff) {
            var reference = handoff.reference || handoff.id;
            var done = el("div", { className: "pa-handoff-done", role: "status" }, [
              el("p", { text: format(t.handoffDone, { ref: reference }) })
            ]);
            done.setAttribute("data-handoff-id", handoff.id || "");
            var eta = handoff.expected_response;
            if (typeof eta === "string" && eta)
              done.appendChild(el("p", { className: "pa-handoff-eta", text: format(t.handoffEta, { eta: eta }) }));
            else if (typeof handoff.expected_response_hours === "number")
              done.appendChild(
                el("p", {
                  className: "pa-handoff-eta",
                  text: format(t.handoffEtaHours, { hours: Math.round(handoff.expected_response_hours * 10) / 10 })
                })
              );
            if (comment) done.appendChild(el("p", { className: "pa-handoff-comment-sent", text: t.handoffCommentSaved }));
            form.replaceWith(done);
            self.emit("handoff", { id: handoff.id, reference: reference });
          })
          .catch(function () {
            button.disabled = false;
            if (!form.querySelector(".pa-error"))
              form.appendChild(el("p", { className: "pa-error", role: "alert", text: t.errorGeneric }));
          });
      }
    }, [el("label", { for: fieldId, text: t.handoffCommentLabel }), field, button]);
    return el("div", { className: "pa-handoff" }, [form]);
  };

  /* A labelled comment box with a send button; `send(comment)` returns a fetch promise. */
  Widget.prototype.commentForm = function (className, label, sendLabel, send, savedText, allowEmpty) {
    var self = this;
    this.counter += 1;
    var fieldId = className + "-" + this.counter;
    var field = el("textarea", { id: fieldId, className: "pa-comment-input", rows: "2", maxlength: "2000" });
    var button = el("button", { type: "submit", className: "pa-comment-send", text: sendLabel });
    var form = el("form", {
      className: "pa-comment " + className,
      onsubmit: function (event) {
        event.preventDefault();
        var comment = field.value.trim();
        if (!comment && !allowEmpty) return field.focus();
        button.disabled = true;
        send(comment)
          .then(function (response) {
            if (!response.ok) throw new Error("comment " + response.status);
            var saved = el("p", { className: "pa-comment-saved", role: "status", text: savedText });
            form.replaceWith(saved);
          })
          .catch(function () {
            button.disabled = false;
            if (!form.querySelector(".pa-error")) form.appendChild(el("p", { className: "pa-error", role: "alert", text: self.t.errorGeneric }));
          });
      }
    }, [el("label", { for: fieldId, text: label }), field, button]);
    return form;
  };

  Widget.prototype.renderActions = function (answer, citations) {
    var self = this;
    var t = this.t;
    var box = el("div", { className: "pa-actions" });
    var copy = el("button", {
      type: "button",
      className: "pa-copy",
      "aria-label": t.copy,
      title: t.copy,
      onclick: function () {
        self.copyAnswer(answer, citations, copy);
      }
    }, [icon("copy")]);
    box.appendChild(copy);
    var feedback = el("div", { className: "pa-feedback" });
    function vote(rating, button, comment) {
      button.setAttribute("aria-pressed", "true");
      Array.prototype.forEach.call(feedback.querySelectorAll(".pa-vote"), function (b) {
        b.disabled = true;
      });
      var body = { answer_id: answer.answer_id, rating: rating };
      if (comment) body.comment = comment;
      return self.request("/v1/feedback", body).then(function (response) {
        if (!response.ok) throw new Error("feedback " + response.status);
        self.emit("feedback", { answer_id: answer.answer_id, rating: rating });
        return response;
      });
    }
    function thanks() {
      feedback.appendChild(el("span", { className: "pa-thanks", role: "status", text: t.thanks }));
    }
    [["up", t.helpful], ["down", t.notHelpful]].forEach(function (spec) {
      var button = el("button", {
        type: "button",
        className: "pa-vote pa-vote-" + spec[0],
        "aria-label": spec[1],
        "aria-pressed": "false",
        title: spec[1],
        onclick: function () {
          if (spec[0] === "up") {
            vote("up", button)
              .then(thanks)
              .catch(function () {
                button.setAttribute("aria-pressed", "false");
                Array.prototype.forEach.call(feedback.querySelectorAll(".pa-vote"), function (b) {
                  b.disabled = false;
                });
              });
            return;
          }
          // Thumbs down asks what was wrong first; sending it empty is fine.
          button.setAttribute("aria-pressed", "true");
          Array.prototype.forEach.call(feedback.querySelectorAll(".pa-vote"), function (b) {
            b.disabled = true;
          });
          var form = self.commentForm("pa-feedback-comment", t.feedbackCommentLabel, t.feedbackSend, function (comment) {
            return vote("down", button, comment);
          }, t.thanks, true);
          box.appendChild(form);
          form.querySelector("textarea").focus();
        }
      }, [icon("thumb", spec[0] === "down")]);
      feedback.appendChild(button);
    });
    box.appendChild(feedback);
    return box;
  };

  Widget.prototype.copyAnswer = function (answer, citations, button) {
    var self = this;
    var lines = [answer.answer || ""];
    if (citations.length) {
      lines.push("", this.t.sources + ":");
      citations.forEach(function (c) {
        lines.push("[" + c.n + "] " + (c.title || c.source) + (safeUrl(c.url) ? " <" + c.url + ">" : ""));
      });
    }
    var text = lines.join("\n");
    var done = function () {
      button.classList.add("pa-copied");
      self.announce(self.t.copied);
      window.setTimeout(function () {
        button.classList.remove("pa-copied");
      }, 2000);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {
        self.copyFallback(text) && done();
      });
    } else if (this.copyFallback(text)) done();
  };

  Widget.prototype.copyFallback = function (text) {
    var area = el("textarea", { className: "pa-visually-hidden", "aria-hidden": "true" });
    area.value = text;
    this.root.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    area.remove();
    return ok;
  };

  Widget.prototype.showHttpError = function (bubble, response) {
    var t = this.t;
    var message = t.errorGeneric;
    if (response.status === 401) message = t.errorAuth;
    else if (response.status === 429) message = t.errorRate;
    else if (response.status === 503) message = t.errorBusy;
    this.showError(bubble, message, response.status !== 401);
  };

  Widget.prototype.endStreaming = function (bubble) {
    bubble.status.remove();
    bubble.classList.remove("pa-streaming");
    bubble.removeAttribute("aria-busy");
  };

  Widget.prototype.showError = function (bubble, message, canRetry) {
    this.endStreaming(bubble);
    bubble.classList.add("pa-failed");
    this.emit("error", { message: message });
    bubble.appendChild(el("p", { className: "pa-error", role: "alert", text: message }));
    if (canRetry !== false && bubble.question) bubble.appendChild(this.retryButton(bubble));
  };

  Widget.prototype.showStopped = function (bubble) {
    this.endStreaming(bubble);
    bubble.classList.add("pa-stopped");
    bubble.setAttribute("data-path", "stopped");
    bubble.appendChild(el("p", { className: "pa-stopped-note", text: this.t.stopped }));
    bubble.appendChild(this.retryButton(bubble));
  };

  /* Ask the same question again: the failed exchange is replaced by a new one. */
  Widget.prototype.retryButton = function (bubble) {
    var self = this;
    return el("button", {
      type: "button",
      className: "pa-retry",
      text: this.t.retry,
      onclick: function () {
        if (self.busy) return;
        if (navigator.onLine === false) {
          self.showOffline(true);
          self.announce(self.t.offline);
          return;
        }
        if (bubble.user) bubble.user.remove();
        bubble.remove();
        self.submit(bubble.question);
      }
    });
  };

  function injectStyles() {
    if (document.querySelector("link[data-pa-styles]")) return;
    document.head.appendChild(el("link", { rel: "stylesheet", href: staticBase + "widget.css", "data-pa-styles": "" }));
  }

  var instance = null;
  window.PartnerAssistant = {
    init: function (options) {
      injectStyles();
      instance = new Widget(options || {});
      return instance;
    },
    get instance() {
      return instance;
    },
    SseParser: SseParser,
    renderMarkdown: renderMarkdown,
    languages: LANGUAGES
  };

  if (script && script.hasAttribute("data-token")) {
    var start = function () {
      window.PartnerAssistant.init({
        apiBase: script.getAttribute("data-api-base") || "",
        token: script.getAttribute("data-token") || "",
        lang: script.getAttribute("data-lang") || "",
        vendor: script.getAttribute("data-vendor") || "",
        accent: script.getAttribute("data-accent") || "",
        position: script.getAttribute("data-position") || "right",
        launcherLabel: script.getAttribute("data-launcher-label") || ""
      });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
