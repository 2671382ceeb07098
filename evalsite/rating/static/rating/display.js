// Display check: measure the window (CSS px), devicePixelRatio, pointer type and a zoom hint,
// show whether the study's crops fit at 1:1 device pixels, and post the figures for the server to check.
(function () {
  "use strict";
  var box = document.getElementById("display-check");
  var form = document.getElementById("display-form");
  var button = document.getElementById("display-continue");
  var confirmBox = document.getElementById("zoom-confirm");
  var need = {
    cropW: +box.dataset.cropW, cropH: +box.dataset.cropH, columns: +box.dataset.columns,
    gap: +box.dataset.gap, controls: +box.dataset.controls, cssPixels: box.dataset.cssPixels === "1"
  };
  function zoomRatio() {
    // Chromium and Firefox scale innerWidth with zoom but not outerWidth (window borders add a
    // few pixels); unavailable (null) when outerWidth is 0. Stored as the rater's zoom hint.
    if (!window.outerWidth || !window.innerWidth) return null;
    return window.outerWidth / window.innerWidth;
  }
  function zoomLooksOff() {
    // 90% and 110% zoom fall outside this band.
    var ratio = zoomRatio();
    return ratio !== null && (ratio < 0.95 || ratio > 1.08);
  }
  function measure() {
    var dpr = window.devicePixelRatio || 1;
    var divisor = need.cssPixels ? 1 : dpr;  // image pixels per CSS pixel, as rating/geometry.py
    var w = window.innerWidth, h = window.innerHeight;
    var needW = need.columns * Math.ceil(need.cropW / divisor) + (need.columns + 1) * need.gap;
    var needH = Math.ceil(need.cropH / divisor) + need.controls;
    var fits = w >= needW && h >= needH;
    var size = document.getElementById("status-size");
    size.textContent = fits
      ? "Your window is large enough (" + w + " x " + h + ")."
      : "Please enlarge your window to at least " + needW + " x " + needH + " (now " + w + " x " + h + ").";
    size.className = fits ? "ok" : "bad";
    var zoom = document.getElementById("status-zoom");
    var off = zoomLooksOff();
    zoom.textContent = off ? "Your browser seems to be zoomed: press Ctrl+0 (Cmd+0 on a Mac)." : "Zoom looks like 100%.";
    zoom.className = off ? "bad" : "ok";
    document.getElementById("id_device_pixel_ratio").value = dpr;
    var ratio = zoomRatio();
    document.getElementById("id_zoom_hint").value = ratio === null ? "" : ratio.toFixed(3);
    document.getElementById("id_window_width").value = w;
    document.getElementById("id_window_height").value = h;
    var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches &&
      !window.matchMedia("(pointer: fine)").matches;
    document.getElementById("id_coarse_pointer").value = coarse ? "on" : "";
    document.getElementById("id_zoom_ok").value = confirmBox.checked && !off ? "on" : "";
    button.disabled = !confirmBox.checked;
  }
  window.addEventListener("resize", measure);
  confirmBox.addEventListener("change", measure);
  form.addEventListener("submit", measure);
  measure();
})();
