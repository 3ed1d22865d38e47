/*
 * Partner Assistant portal widget: plain JavaScript, no framework, no build step.
 *
 * Embed with one script tag (the token is the portal's signed JWT for the signed-in partner):
 *
 *   <script src="/static/widget.js" data-api-base="" data-token="..." data-lang="en" defer></script>
 *
 * or call PartnerAssistant.init({apiBase: "", token: "...", lang: "de", suggestions: [...]}).
 * `token` may also be a function returning the current token (or a promise of it).
 *
 * Why it is built this way:
 * - Answers stream: fetch + ReadableStream parsing Server-Sent Events, because EventSource
 *   cannot POST or send an Authorization header.
 * - Every piece of model or document text is set with textContent / createTextNode, never
 *   innerHTML: an answer can quote a document, and a document can contain markup.
 * - The conversation id is the only history the widget keeps; the server holds the turns.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var staticBase = script && script.src ? script.src.replace(/[^/]*$/, "") : "/static/";

  var FALLBACK = {
    title: "Partner Assistant",
    open: "Open the partner assistant",
    close: "Close the assistant",
    newChat: "New conversation",
    placeholder: "Ask about programs, products or training\u2026",
    inputLabel: "Your question",
    send: "Send",
    sources: "Sources",
    section: "Section",
    page: "p.",
    thinking: "Searching the documentation\u2026",
    abstained: "I could not find a reliable answer in the documentation you can access.",
    handoff: "Ask a channel manager",
    handoffDone: "Sent to a channel manager. They will get back to you.",
    helpful: "Helpful",
    notHelpful: "Not helpful",
    thanks: "Thanks for the feedback.",
    suggestionsLabel: "Suggested questions",
    errorGeneric: "Something went wrong. Please try again.",
    errorAuth: "Your session has expired. Please reload the page.",
    errorRate: "Too many questions in a short time. Please wait a moment.",
    errorBusy: "The assistant is busy. Please try again in a few seconds.",
    you: "You",
    assistant: "Assistant",
    suggestions: []
  };

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

  /* A thumb drawn as SVG: emoji fonts are missing on many kiosk and Linux browsers. */
  function thumbIcon(down) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute(
      "d",
      "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 " +
        "7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09" +
        "-.26.14-.53.14-.73v-2z"
    );
    if (down) path.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(path);
    return svg;
  }

  function safeUrl(url) {
    // Only web links become hrefs; "javascript:" and friends stay text.
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

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

  function Widget(options) {
    this.apiBase = (options.apiBase || "").replace(/\/$/, "");
    this.token = options.token || "";
    this.lang = options.lang || "en";
    this.configSuggestions = options.suggestions || null;
    this.t = FALLBACK;
    this.conversationId = null;
    this.busy = false;
    this.counter = 0;
    this.build(options.container || document.body);
    var self = this;
    this.loadMessages().then(function () {
      self.applyMessages();
      self.loadSuggestions();
    });
  }

  Widget.prototype.loadMessages = function () {
    var self = this;
    return fetch(staticBase + "i18n/" + encodeURIComponent(this.lang) + ".json")
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

  Widget.prototype.request = function (path, body, accept) {
    var self = this;
    return this.getToken().then(function (token) {
      var headers = { "Content-Type": "application/json", Accept: accept || "application/json" };
      if (token) headers.Authorization = "Bearer " + token;
      return fetch(self.apiBase + path, {
        method: body === undefined ? "GET" : "POST",
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    });
  };

  Widget.prototype.build = function (container) {
    var self = this;
    this.launcher = el("button", {
      type: "button",
      className: "pa-launcher",
      "aria-expanded": "false",
      "aria-controls": "pa-panel",
      "aria-label": FALLBACK.open,
      onclick: function () {
        self.toggle();
      }
    }, [el("span", { "aria-hidden": "true", text: "?" })]);

    this.titleEl = el("h2", { id: "pa-title", className: "pa-title", text: FALLBACK.title });
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
    this.log = el("div", {
      className: "pa-log",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      tabindex: "0"
    });
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
    this.form = el("form", {
      className: "pa-form",
      onsubmit: function (event) {
        event.preventDefault();
        self.submit();
      }
    }, [this.input, this.sendButton]);

    this.panel = el("section", {
      id: "pa-panel",
      className: "pa-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "pa-title",
      hidden: true
    }, [
      el("header", { className: "pa-header" }, [this.titleEl, this.newButton, this.closeButton]),
      this.log,
      this.suggestionList,
      this.form
    ]);
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        self.close();
      }
    });

    this.root = el("div", { className: "pa-widget", "data-pa-widget": "" }, [this.panel, this.launcher]);
    container.appendChild(this.root);
  };

  Widget.prototype.applyMessages = function () {
    var t = this.t;
    this.launcher.setAttribute("aria-label", t.open);
    this.titleEl.textContent = t.title;
    this.closeButton.setAttribute("aria-label", t.close);
    this.closeButton.title = t.close;
    this.newButton.setAttribute("aria-label", t.newChat);
    this.newButton.title = t.newChat;
    this.input.placeholder = t.placeholder;
    this.input.setAttribute("aria-label", t.inputLabel);
    this.sendButton.textContent = t.send;
    this.suggestionList.setAttribute("aria-label", t.suggestionsLabel);
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
    this.suggestionList.hidden = list.length === 0 || this.log.childElementCount > 0;
  };

  Widget.prototype.toggle = function () {
    if (this.panel.hidden) this.open();
    else this.close();
  };

  Widget.prototype.open = function () {
    this.panel.hidden = false;
    this.root.classList.add("pa-open");
    this.launcher.setAttribute("aria-expanded", "true");
    this.input.focus();
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.root.classList.remove("pa-open");
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  };

  Widget.prototype.reset = function () {
    this.conversationId = null;
    this.log.textContent = "";
    this.showSuggestions(this.suggestions || []);
    this.input.focus();
  };

  Widget.prototype.addUserMessage = function (text) {
    this.log.appendChild(
      el("div", { className: "pa-message pa-user" }, [
        el("span", { className: "pa-visually-hidden", text: this.t.you + ": " }),
        el("p", { className: "pa-text", text: text })
      ])
    );
  };

  Widget.prototype.submit = function () {
    var question = this.input.value.trim();
    if (!question || this.busy) return;
    this.busy = true;
    this.sendButton.disabled = true;
    this.input.value = "";
    this.suggestionList.hidden = true;
    this.addUserMessage(question);
    var bubble = this.startAnswer();
    var body = { question: question };
    if (this.conversationId) body.conversation_id = this.conversationId;
    var self = this;
    this.request("/v1/chat", body, "text/event-stream")
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
        self.showError(bubble, self.t.errorGeneric);
      })
      .then(function () {
        self.busy = false;
        self.sendButton.disabled = false;
        self.input.focus();
      });
  };

  Widget.prototype.startAnswer = function () {
    this.counter += 1;
    var bubble = el("div", {
      className: "pa-message pa-assistant pa-streaming",
      "data-message": String(this.counter),
      "aria-busy": "true"
    });
    bubble.label = el("span", { className: "pa-visually-hidden", text: this.t.assistant + ": " });
    bubble.textEl = el("p", { className: "pa-text" });
    bubble.status = el("p", { className: "pa-status", text: this.t.thinking });
    bubble.appendChild(bubble.label);
    bubble.appendChild(bubble.status);
    bubble.appendChild(bubble.textEl);
    bubble.streamed = "";
    this.log.appendChild(bubble);
    this.scrollDown();
    return bubble;
  };

  Widget.prototype.readStream = function (bubble, stream) {
    var self = this;
    var reader = stream.getReader();
    var decoder = new TextDecoder();
    var finished = false;
    var parser = new SseParser(function (event, data) {
      if (event === "token") {
        if (bubble.status.parentNode) bubble.status.remove();
        bubble.streamed += data.text || "";
        bubble.tokens = (bubble.tokens || 0) + 1;
        bubble.setAttribute("data-tokens", String(bubble.tokens));
        bubble.textEl.textContent = bubble.streamed;
        self.scrollDown();
      } else if (event === "citations") {
        bubble.citations = data.citations || [];
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

  /* Answer text with every [n] that names a citation turned into a link to its source. */
  Widget.prototype.renderAnswerText = function (target, text, citations, id) {
    var known = {};
    citations.forEach(function (c) {
      known[c.n] = c;
    });
    target.textContent = "";
    var pattern = /\[(\d+)\]/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var n = Number(match[1]);
      if (!known[n]) continue;
      target.appendChild(document.createTextNode(text.slice(last, match.index)));
      target.appendChild(this.citationLink(n, id));
      last = pattern.lastIndex;
    }
    target.appendChild(document.createTextNode(text.slice(last)));
  };

  Widget.prototype.citationLink = function (n, id) {
    var self = this;
    var sourceId = "pa-src-" + id + "-" + n;
    return el("a", {
      href: "#" + sourceId,
      className: "pa-cite",
      "data-cite": String(n),
      "aria-label": this.t.sources + " " + n,
      text: "[" + n + "]",
      onclick: function (event) {
        event.preventDefault();
        var item = document.getElementById(sourceId);
        if (!item) return;
        var previous = self.log.querySelector(".pa-source-active");
        if (previous) previous.classList.remove("pa-source-active");
        item.classList.add("pa-source-active");
        item.scrollIntoView({ block: "nearest" });
        item.focus();
      }
    });
  };

  Widget.prototype.renderSources = function (citations, id) {
    var t = this.t;
    var list = el("ol", { className: "pa-source-list" });
    citations.forEach(function (c) {
      var title = c.title || c.source;
      var href = safeUrl(c.url);
      var details = [];
      if (c.section) details.push(t.section + ": " + c.section);
      if (c.page !== null && c.page !== undefined) details.push(t.page + " " + c.page);
      list.appendChild(
        el("li", { id: "pa-src-" + id + "-" + c.n, className: "pa-source", tabindex: "-1", value: c.n }, [
          href
            ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: title })
            : el("span", { className: "pa-source-title", text: title }),
          details.length ? el("span", { className: "pa-source-detail", text: " \u2014 " + details.join(", ") }) : null
        ])
      );
    });
    return el("div", { className: "pa-sources" }, [
      el("h3", { className: "pa-sources-title", text: t.sources }),
      list
    ]);
  };

  Widget.prototype.finishAnswer = function (bubble, answer) {
    var id = bubble.getAttribute("data-message");
    var citations = answer.citations || bubble.citations || [];
    if (answer.conversation_id) this.conversationId = answer.conversation_id;
    if (bubble.status.parentNode) bubble.status.remove();
    bubble.classList.remove("pa-streaming");
    bubble.removeAttribute("aria-busy");
    bubble.setAttribute("data-answer-id", answer.answer_id || "");
    bubble.setAttribute("data-path", answer.path || "");
    this.renderAnswerText(bubble.textEl, answer.answer || "", citations, id);
    if (citations.length) bubble.appendChild(this.renderSources(citations, id));
    if (answer.path === "abstained") {
      bubble.classList.add("pa-abstained");
      bubble.appendChild(this.renderHandoff(answer));
    }
    if (answer.answer_id) bubble.appendChild(this.renderFeedback(answer.answer_id));
    this.scrollDown();
  };

  Widget.prototype.renderHandoff = function (answer) {
    var self = this;
    var box = el("div", { className: "pa-handoff" }, [
      el("p", { className: "pa-abstain-note", text: this.t.abstained })
    ]);
    var button = el("button", {
      type: "button",
      className: "pa-handoff-button",
      text: this.t.handoff,
      onclick: function () {
        button.disabled = true;
        self.request("/v1/handoffs", { answer_id: answer.answer_id })
          .then(function (response) {
            if (!response.ok) throw new Error("handoff " + response.status);
            return response.json();
          })
          .then(function (handoff) {
            var note = el("p", { className: "pa-handoff-done", role: "status", text: self.t.handoffDone });
            note.setAttribute("data-handoff-id", handoff.id || "");
            box.replaceChild(note, button);
          })
          .catch(function () {
            button.disabled = false;
            box.appendChild(el("p", { className: "pa-error", role: "alert", text: self.t.errorGeneric }));
          });
      }
    });
    box.appendChild(button);
    return box;
  };

  Widget.prototype.renderFeedback = function (answerId) {
    var self = this;
    var box = el("div", { className: "pa-feedback" });
    function vote(rating, button) {
      button.setAttribute("aria-pressed", "true");
      Array.prototype.forEach.call(box.querySelectorAll("button"), function (b) {
        b.disabled = true;
      });
      self.request("/v1/feedback", { answer_id: answerId, rating: rating })
        .then(function (response) {
          if (!response.ok) throw new Error("feedback " + response.status);
          box.appendChild(el("span", { className: "pa-thanks", role: "status", text: self.t.thanks }));
        })
        .catch(function () {
          button.setAttribute("aria-pressed", "false");
          Array.prototype.forEach.call(box.querySelectorAll("button"), function (b) {
            b.disabled = false;
          });
        });
    }
    [["up", this.t.helpful], ["down", this.t.notHelpful]].forEach(function (spec) {
      var button = el("button", {
        type: "button",
        className: "pa-vote pa-vote-" + spec[0],
        "aria-label": spec[1],
        "aria-pressed": "false",
        title: spec[1],
        onclick: function () {
          vote(spec[0], button);
        }
      });
      button.appendChild(thumbIcon(spec[0] === "down"));
      box.appendChild(button);
    });
    return box;
  };

  Widget.prototype.showHttpError = function (bubble, response) {
    var t = this.t;
    var message = t.errorGeneric;
    if (response.status === 401) message = t.errorAuth;
    else if (response.status === 429) message = t.errorRate;
    else if (response.status === 503) message = t.errorBusy;
    this.showError(bubble, message);
  };

  Widget.prototype.showError = function (bubble, message) {
    if (bubble.status.parentNode) bubble.status.remove();
    bubble.classList.remove("pa-streaming");
    bubble.removeAttribute("aria-busy");
    bubble.classList.add("pa-failed");
    bubble.appendChild(el("p", { className: "pa-error", role: "alert", text: message }));
  };

  Widget.prototype.scrollDown = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  function injectStyles() {
    if (document.querySelector("link[data-pa-styles]")) return;
    document.head.appendChild(
      el("link", { rel: "stylesheet", href: staticBase + "widget.css", "data-pa-styles": "" })
    );
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
    SseParser: SseParser
  };

  if (script && script.hasAttribute("data-token")) {
    var start = function () {
      window.PartnerAssistant.init({
        apiBase: script.getAttribute("data-api-base") || "",
        token: script.getAttribute("data-token") || "",
        lang: script.getAttribute("data-lang") || document.documentElement.lang || "en"
      });
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
