// One comparison: wait until the images are shown and the minimum viewing time has passed, then
// accept one choice (buttons or arrow keys). In flicker mode, buttons and keys switch the single
// view between A, the original and B; the number of switches is sent with the choice, and a study
// may require both copies to have been viewed (data-view-both). An image that fails to load says
// so and can be loaded again without losing the trial.
(function () {
  "use strict";
  var root = document.getElementById("trial");
  var form = document.getElementById("choice-form");
  var chooseButtons = form.querySelectorAll("button.choose");
  var wait = document.getElementById("wait");
  var minViewMs = +root.dataset.minViewMs;
  var viewBoth = root.dataset.viewBoth === "1";
  var shownAt = null, switches = 0, sent = false, current = "left", timeUp = false;
  var seen = { left: true, right: !root.classList.contains("flicker") };
  var names = { left: "A", reference: "Original", right: "B" };

  function bothSeen() {
    return !viewBoth || (seen.left && seen.right);
  }
  function ready() {
    return shownAt !== null && performance.now() - shownAt >= minViewMs && bothSeen();
  }
  function update() {
    if (sent || !timeUp) return;
    var ok = bothSeen();
    chooseButtons.forEach(function (b) { b.disabled = !ok; });
    wait.textContent = ok ? "" : "Look at both A and B first.";
  }
  function show(view) {
    if (!root.classList.contains("flicker") || view === current) return;
    root.querySelectorAll("img.view").forEach(function (img) { img.hidden = img.dataset.view !== view; });
    root.querySelectorAll(".view-button").forEach(function (b) { b.classList.toggle("active", b.dataset.show === view); });
    document.getElementById("view-name").textContent = names[view];
    current = view;
    seen[view] = true;
    switches += 1;
    update();
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
    setTimeout(function () { timeUp = true; update(); }, minViewMs);
  }

  // Loading: the clock starts when every image is shown; a failed one is offered again.
  var images = Array.prototype.slice.call(root.querySelectorAll("img.px"));
  var failed = [], retries = 0;
  var errorBox = document.getElementById("image-error");
  var errorText = document.getElementById("image-error-text");
  var loaded = images.filter(function (img) { return img.complete && img.naturalWidth; });
  var pending = images.length - loaded.length;
  function onLoad(img) {
    pending -= 1;
    if (window.picoFitImage) window.picoFitImage(img);
    if (failed.length === 0) errorBox.hidden = true;
    if (pending === 0) start();
  }
  function onError(img) {
    if (failed.indexOf(img) < 0) failed.push(img);
    errorBox.hidden = false;
    errorText.textContent = retries < 3
      ? "An image did not load. Please try again."
      : "Images still do not load. Check your connection, then try again or reload the page.";
  }
  images.forEach(function (img) {
    img.addEventListener("load", function () {
      var index = failed.indexOf(img);
      if (index >= 0) failed.splice(index, 1);
      onLoad(img);
    });
    img.addEventListener("error", function () { onError(img); });
    if (img.complete && !img.naturalWidth && img.src) onError(img);  // failed before this script ran
  });
  document.getElementById("image-retry").addEventListener("click", function () {
    retries += 1;
    failed.slice().forEach(function (img) {
      var base = img.getAttribute("src").split("?")[0];
      img.src = base + "?retry=" + retries;
    });
  });
  if (pending === 0) start();

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
    else if ((key === "arrowdown" || key === "t") && form.querySelector('[data-choice="tie"]')) { event.preventDefault(); choose("tie"); }
    else if (key === " ") {
      event.preventDefault();
      if (current !== "reference") { lastCandidate = current; show("reference"); } else { show(lastCandidate); }
    } else if (keys[key]) { if (keys[key] !== "reference") lastCandidate = keys[key]; show(keys[key]); }
  });
  var first = root.querySelector('.view-button[data-show="left"]');
  if (first) first.classList.add("active");
})();
