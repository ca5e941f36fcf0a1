// Telegram Mini App entry: hand Telegram's signed init data to the server, then go where it says.
// Telegram's own script is not loaded (no CDN); the init data arrives in the URL fragment.
(function () {
  "use strict";
  var status = document.getElementById("status");

  function show(text) {
    status.textContent = text;
  }

  function tell(eventType) {
    // Tell the Telegram client the page is ready, as telegram-web-app.js would.
    var proxy = window.TelegramWebviewProxy;
    if (proxy && typeof proxy.postEvent === "function") {
      proxy.postEvent(eventType, "");
    } else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType: eventType, eventData: "" }), "*");
    }
  }

  var fragment = new URLSearchParams(window.location.hash.slice(1));
  var initData = fragment.get("tgWebAppData"); // URLSearchParams decodes it once: the raw init data
  tell("web_app_ready");
  tell("web_app_expand");
  if (!initData) {
    show(status.dataset.open);
    return;
  }
  fetch("/app/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ init_data: initData }),
  })
    .then(function (response) {
      return response.json();
    })
    .then(function (body) {
      if (body && typeof body.url === "string" && /^\/(?!\/)/.test(body.url)) {
        window.location.replace(body.url);
      } else {
        show((body && body.message) || status.dataset.invalid);
      }
    })
    .catch(function () {
      show(status.dataset.invalid);
    });
})();
