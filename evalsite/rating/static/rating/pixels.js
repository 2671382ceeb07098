// Show every img.px at its study's scale: 1:1 device pixels (CSS size = image pixels / devicePixelRatio),
// or 1 image pixel per CSS pixel when the study shows high-density screens at CSS pixels
// (<meta name="pico-pixels" content="css">, docs/rating.md "Presentation").
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="pico-pixels"]');
  var cssPixels = meta && meta.content === "css";
  function fit(img) {
    var scale = cssPixels ? 1 : (window.devicePixelRatio || 1);
    img.style.width = img.naturalWidth / scale + "px";
    img.style.height = img.naturalHeight / scale + "px";
  }
  window.picoFitImage = fit;  // trial.js refits an image it reloaded after an error
  document.querySelectorAll("img.px").forEach(function (img) {
    if (img.complete && img.naturalWidth) fit(img);
    else img.addEventListener("load", function () { fit(img); });
  });
})();
