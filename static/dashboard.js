// ARIA dashboard script: streams the chat playground and, when the node requires an API key,
// sends the key (kept in this tab's sessionStorage only) with htmx requests and the chat.
// Everything received is inserted as text (textContent), never parsed as HTML.
"use strict";
(function () {
  var KEY = "aria-api-key";

  // The node's same-origin token (src/dashboard/_csrf.ts): every page carries it in a meta tag;
  // every state-changing request sends it back.
  function csrfToken() {
    var meta = document.querySelector('meta[name="aria-csrf"]');
    return meta ? meta.getAttribute("content") : null;
  }

  function authHeaders() {
    var key = sessionStorage.getItem(KEY);
    var h = key ? { authorization: "Bearer " + key } : {};
    var token = csrfToken();
    if (token) h["x-aria-csrf"] = token;
    return h;
  }

  document.addEventListener("htmx:configRequest", function (e) {
    var h = authHeaders();
    if (h.authorization) e.detail.headers.authorization = h.authorization;
    if (h["x-aria-csrf"]) e.detail.headers["x-aria-csrf"] = h["x-aria-csrf"];
  });

  function setupKeyForm() {
    var form = document.getElementById("key-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      sessionStorage.setItem(KEY, form.elements.apiKey.value);
      form.elements.apiKey.value = "";
    });
  }

  // Splits an SSE text buffer into complete events; returns the unfinished rest.
  function takeEvents(buffer, onEvent) {
    var parts = buffer.split("\n\n");
    var rest = parts.pop();
    parts.forEach(function (block) {
      var event = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) event = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (data.length > 0) onEvent(event, JSON.parse(data.join("\n")));
    });
    return rest;
  }

  function setupChat() {
    var form = document.querySelector("[data-chat-form]");
    if (!form) return;
    var answer = document.getElementById("chat-answer");
    var status = document.getElementById("chat-status");
    var receiptBox = document.getElementById("chat-receipt-box");
    var receipt = document.getElementById("chat-receipt");
    var button = form.querySelector("button[type=submit]");

    function onEvent(event, data) {
      if (event === "token") {
        answer.appendChild(document.createTextNode(data.text));
      } else if (event === "done") {
        status.textContent = "Done (" + data.finishReason + ", " + data.usage.completionTokens +
          " tokens, served by " + data.servedBy.join(", ") + ").";
        if (data.receipt !== undefined) {
          receipt.textContent = JSON.stringify(data.receipt, null, 2);
          receiptBox.hidden = false;
        }
      } else if (event === "error") {
        status.textContent = "Error: " + data.message;
      }
    }

    form.addEventListener("submit", async function (e) {
      e.preventDefault();
      answer.textContent = "";
      receipt.textContent = "";
      receiptBox.hidden = true;
      status.textContent = "Generating…";
      button.disabled = true;
      try {
        var headers = Object.assign({ "content-type": "application/json" }, authHeaders());
        var res = await fetch("/chat/stream", {
          method: "POST",
          headers: headers,
          body: JSON.stringify({
            model: form.elements.model.value,
            message: form.elements.message.value,
            maxTokens: form.elements.maxTokens.value,
            format: form.elements.format.value,
            schema: form.elements.schema.value,
          }),
        });
        if (!res.ok) {
          status.textContent = "Error: " + (await res.text());
          return;
        }
        var reader = res.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        for (;;) {
          var step = await reader.read();
          if (step.done) break;
          buffer = takeEvents(buffer + decoder.decode(step.value, { stream: true }), onEvent);
        }
      } catch (err) {
        status.textContent = "Error: the connection to the node failed (" + err.message + ").";
      } finally {
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupKeyForm();
    setupChat();
  });
})();
