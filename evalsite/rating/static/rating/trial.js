// One comparison: wait until the images are shown and the minimum viewing time has passed, then
// accept one choice (buttons or arrow keys). In flicker mode, buttons and keys switch the single
// view between A, the original and B; the number of switches is sent with the choice.
(function () {
  "use strict";
  var root = document.getElementById("trial");
  var form = document.getElementById("choice-form");
  var chooseButtons = form.querySelectorAll("button.choose");
  var minViewMs = +root.dataset.minViewMs;
  var shownAt = null, switches = 0, sent = false, current = "left";
  var names = { left: "A", reference: "Original", right: "B" };

  function show(view) {
    if (!root.classList.contains("flicker") || view === current) return;
    root.querySelectorAll("img.view").forEach(function (img) { img.hidden = img.dataset.view !== view; });
    root.querySelectorAll(".view-button").forEach(function (b) { b.classList.toggle("active", b.dataset.show === view); });
    document.getElementById("view-name").textContent = names[view];
    current = view;
    switches += 1;
  }
  function ready() {
    return shownAt !== null && performance.now() - shownAt >= minViewMs;
  }
  function choose(side) {
    if (sent || !ready()) return;
    sent = true;
    chooseButtons.forEach(function (b) { b.disabled = true; });
    document.getElementById("id_choice").value = side;
    document.getElementById("id_response_ms").value = Math.round(performance.now() - shownAt);
    document.getElementById("id_switches").value = switches;
    form.submit();
  }
  function start() {
    shownAt = performance.now();
    setTimeout(function () {
      if (sent) return;
      chooseButtons.forEach(function (b) { b.disabled = false; });
      document.getElementById("wait").textContent = "";
    }, minViewMs);
  }

  var images = Array.prototype.slice.call(root.querySelectorAll("img.px"));
  var pending = images.filter(function (img) { return !(img.complete && img.naturalWidth); }).length;
  if (pending === 0) start();
  images.forEach(function (img) {
    if (img.complete && img.naturalWidth) return;
    img.addEventListener("load", function () { pending -= 1; if (pending === 0) start(); });
  });

  chooseButtons.forEach(function (b) { b.addEventListener("click", function () { choose(b.dataset.choice); }); });
  root.querySelectorAll(".view-button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.dataset.show); });
  });
  var keys = { "1": "left", "a": "left", "2": "reference", "r": "reference", "3": "right", "b": "right" };
  var lastCandidate = "left";
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var key = event.key.toLowerCase();
    if (key === "arrowleft") { event.preventDefault(); choose("left"); }
    else if (key === "arrowright") { event.preventDefault(); choose("right"); }
    else if (key === " ") {
      event.preventDefault();
      if (current !== "reference") { lastCandidate = current; show("reference"); } else { show(lastCandidate); }
    } else if (keys[key]) { if (keys[key] !== "reference") lastCandidate = keys[key]; show(keys[key]); }
  });
  var first = root.querySelector('.view-button[data-show="left"]');
  if (first) first.classList.add("active");
})();
