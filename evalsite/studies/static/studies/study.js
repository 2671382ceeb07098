// Study page: poll generation progress until it ends, redraw the live curves as judgments arrive,
// and the flicker viewer of the stimuli gallery.
(function () {
  "use strict";

  const generation = document.getElementById("generation");
  if (generation && (generation.dataset.state === "queued" || generation.dataset.state === "running")) {
    const bar = document.getElementById("generation-bar");
    const count = document.getElementById("generation-count");
    const message = document.getElementById("generation-message");
    const poll = async () => {
      try {
        const response = await fetch(generation.dataset.statusUrl, { headers: { Accept: "application/json" } });
        const status = await response.json();
        bar.max = Math.max(status.total, 1);
        bar.value = status.done;
        count.textContent = `${status.done} / ${status.total}`;
        message.textContent = status.words;
        if (status.generation === "done" || status.generation === "failed") {
          window.location.reload();
          return;
        }
      } catch (error) {
        message.textContent = `cannot reach the server (${error}); retrying`;
      }
      window.setTimeout(poll, 1500);
    };
    window.setTimeout(poll, 1000);
  }

  // Live picture: while the study is live, a new judgment count redraws the curves (the figure's URL names it).
  const live = document.getElementById("live");
  if (live && live.dataset.statusUrl) {
    const curves = document.getElementById("live-curves");
    const judgments = document.getElementById("n-judgments");
    const refresh = async () => {
      try {
        const response = await fetch(live.dataset.statusUrl, { headers: { Accept: "application/json" } });
        const status = await response.json();
        if (String(status.judgments) !== judgments.textContent) {
          judgments.textContent = status.judgments;
          if (curves) curves.src = `${curves.src.split("?")[0]}?n=${status.judgments}`;
        }
      } catch (error) {
        // The server is out of reach for now; the next poll tries again.
      }
      window.setTimeout(refresh, 30000);
    };
    window.setTimeout(refresh, 30000);
  }

  // Flicker viewer: the same crop of reference and reconstruction drawn at 1:1 device pixels,
  // switched in place (keys 1/2, Space toggles), as the rater's flicker mode shows them.
  const dialog = document.getElementById("viewer-dialog");
  if (!dialog) return;
  const canvas = document.getElementById("viewer-canvas");
  const label = document.getElementById("viewer-label");
  const viewName = document.getElementById("viewer-view");
  const images = { stimulus: new Image(), reference: new Image() };
  let current = "stimulus";
  let crop = null;

  function draw() {
    const image = images[current];
    if (!image.complete || !image.naturalWidth || !crop) return;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.min(crop.w, image.naturalWidth);
    const h = Math.min(crop.h, image.naturalHeight);
    const x = Number.isFinite(crop.x) ? crop.x : Math.floor((image.naturalWidth - w) / 2);
    const y = Number.isFinite(crop.y) ? crop.y : Math.floor((image.naturalHeight - h) / 2);
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${w / ratio}px`; // one image pixel per device pixel: no resampling blur
    canvas.style.height = `${h / ratio}px`;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(image, x, y, w, h, 0, 0, w, h);
    viewName.textContent = current === "stimulus" ? "reconstruction" : "reference";
  }

  function show(view) {
    current = view;
    draw();
  }

  for (const figure of document.querySelectorAll("figure.stimulus")) {
    figure.addEventListener("click", () => {
      const d = figure.dataset;
      crop = { x: parseInt(d.cropX, 10), y: parseInt(d.cropY, 10), w: parseInt(d.cropW, 10), h: parseInt(d.cropH, 10) };
      label.textContent = d.label;
      current = "stimulus";
      images.stimulus.onload = draw;
      images.reference.onload = draw;
      images.stimulus.src = d.stimulus;
      images.reference.src = d.reference;
      dialog.showModal();
      draw();
    });
  }
  for (const button of dialog.querySelectorAll("[data-show]")) {
    button.addEventListener("click", () => show(button.dataset.show));
  }
  document.getElementById("viewer-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "1") show("stimulus");
    else if (event.key === "2") show("reference");
    else if (event.key === " ") {
      event.preventDefault();
      show(current === "stimulus" ? "reference" : "stimulus");
    }
  });
})();
