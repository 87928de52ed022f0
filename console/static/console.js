// The console's only script of its own (pages work without it; it adds the Telegram touches).
// 1. Inside Telegram, follow the Mini App's theme colours: Telegram passes them in the address's
//    fragment (tgWebAppThemeParams) when it opens the app; they are kept for the pages that follow.
// 2. Inside Telegram, sign in with the signed initData (tgWebAppData) on the welcome page.
// 3. Submit the one-time login link's form at once (a link previewer runs no script, so it cannot use it).
// 4. Say at once when a chosen upload is bigger than the server takes (it would answer 413).
(function () {
  "use strict";
  var fragment = new URLSearchParams(location.hash.slice(1));
  var store = window.sessionStorage;

  function applyTheme(json) {
    var theme;
    try { theme = JSON.parse(json); } catch (e) { return; }
    if (!theme || typeof theme !== "object") { return; }
    Object.keys(theme).forEach(function (key) {
      var value = String(theme[key]);
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        document.documentElement.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
      }
    });
    document.documentElement.classList.add("in-telegram");
  }

  var themeJson = fragment.get("tgWebAppThemeParams");
  if (themeJson) { try { store.setItem("tgTheme", themeJson); } catch (e) { /* private mode */ } }
  try { themeJson = themeJson || store.getItem("tgTheme"); } catch (e) { /* private mode */ }
  if (themeJson) { applyTheme(themeJson); }

  document.addEventListener("DOMContentLoaded", function () {
    var initData = fragment.get("tgWebAppData");
    var miniApp = document.getElementById("mini-app-login");
    if (initData && miniApp) {
      miniApp.elements.init_data.value = initData;
      miniApp.submit();
      return;
    }
    var form = document.querySelector("form[data-autosubmit]");
    if (form) { form.submit(); }
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        var big = file && file.size > Number(input.dataset.maxBytes);
        input.setCustomValidity(big ? input.dataset.tooBig : "");
        if (big) { input.reportValidity(); }
      });
    });
  });
}());
