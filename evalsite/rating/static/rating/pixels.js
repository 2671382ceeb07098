// Show every img.px at 1:1 device pixels: CSS size = image pixels / devicePixelRatio.
(function () {
  "use strict";
  function fit(img) {
    var dpr = window.devicePixelRatio || 1;
    img.style.width = img.naturalWidth / dpr + "px";
    img.style.height = img.naturalHeight / dpr + "px";
  }
  document.querySelectorAll("img.px").forEach(function (img) {
    if (img.complete && img.naturalWidth) fit(img);
    else img.addEventListener("load", function () { fit(img); });
  });
})();
