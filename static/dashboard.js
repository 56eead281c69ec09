// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Copy code: the Clipboard API where allowed, else select the code so the guest's PIN can
  // be copied by hand, and say so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var status = document.getElementById(button.getAttribute("aria-describedby") || "");
    function fallback() {
      var target = document.getElementById(button.getAttribute("data-copy-target") || "");
      if (target) {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
      if (status) status.textContent = "Press Ctrl+C (⌘C) to copy the selected code.";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        if (status) status.textContent = "Copied.";
      }, fallback);
    } else {
      fallback();
    }
  });

  // The "…" menu that holds the Property Access panel on narrow screens (SPEC V3).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-menu-toggle]");
    if (!toggle) return;
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
    if (open) {
      var first = menu.querySelector("h2, button, a");
      if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var toggle = document.querySelector("[data-menu-toggle][aria-expanded='true']");
    if (!toggle) return;
    toggle.setAttribute("aria-expanded", "false");
    document.getElementById(toggle.getAttribute("aria-controls")).classList.remove("open");
    toggle.focus();
  });

  // After an action swaps the panel, keyboard users land on its result, not on <body>.
  document.addEventListener("htmx:afterSettle", function (event) {
    var panel = event.detail.elt;
    if (!panel || panel.id !== "access-panel" || event.detail.requestConfig.verb !== "post") return;
    var result = panel.querySelector("[role=status]") || panel.querySelector("h2");
    if (result) { result.setAttribute("tabindex", "-1"); result.focus(); }
  });
})();
