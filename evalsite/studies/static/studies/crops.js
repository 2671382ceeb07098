// Crop page: a crop-sized window dragged over each reference shown at 1:1 device pixels. The x/y
// inputs (reference pixels) follow the window and the window follows them; the crops of the
// reconstructions, also at 1:1 device pixels, are fetched again when the window comes to rest.
// Saving is the form's plain POST.
(function () {
  "use strict";

  const ratio = window.devicePixelRatio || 1;

  for (const row of document.querySelectorAll(".crop-row")) {
    const d = row.dataset;
    const width = Number(d.width);
    const height = Number(d.height);
    const maxX = Number(d.maxX);
    const maxY = Number(d.maxY);
    const image = row.querySelector(".crop-reference");
    const frame = row.querySelector(".crop-window");
    const inputX = row.querySelector("input[name=x]");
    const inputY = row.querySelector("input[name=y]");
    const unsaved = row.querySelector(".crop-unsaved");
    const saved = { x: inputX.value, y: inputY.value };

    // One image pixel per device pixel: CSS sizes are divided by the pixel ratio.
    image.style.width = `${width / ratio}px`;
    image.style.height = `${height / ratio}px`;
    frame.style.width = `${Math.min(Number(d.cropW), width) / ratio}px`;
    frame.style.height = `${Math.min(Number(d.cropH), height) / ratio}px`;
    for (const preview of row.querySelectorAll("img.crop-preview")) {
      preview.style.width = frame.style.width;
      preview.style.height = frame.style.height;
    }

    const clamp = (value, max) => Math.min(Math.max(Math.round(value), 0), max);

    function place(x, y) {
      inputX.value = clamp(x, maxX);
      inputY.value = clamp(y, maxY);
      frame.style.left = `${inputX.value / ratio}px`;
      frame.style.top = `${inputY.value / ratio}px`;
      if (unsaved) unsaved.hidden = inputX.value === saved.x && inputY.value === saved.y;
    }

    function refresh() {
      for (const preview of row.querySelectorAll("img.crop-preview")) {
        preview.src = `${preview.dataset.src}?x=${inputX.value}&y=${inputY.value}`;
      }
    }

    place(Number(inputX.value), Number(inputY.value));
    refresh();
    if (inputX.disabled) continue;

    let drag = null;
    frame.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      frame.setPointerCapture(event.pointerId);
      drag = { pointerX: event.clientX, pointerY: event.clientY, x: Number(inputX.value), y: Number(inputY.value) };
    });
    frame.addEventListener("pointermove", (event) => {
      if (!drag) return;
      place(drag.x + (event.clientX - drag.pointerX) * ratio, drag.y + (event.clientY - drag.pointerY) * ratio);
    });
    const drop = () => {
      if (!drag) return;
      drag = null;
      refresh();
    };
    frame.addEventListener("pointerup", drop);
    frame.addEventListener("pointercancel", drop);

    image.addEventListener("click", (event) => {
      const box = image.getBoundingClientRect();
      place((event.clientX - box.left) * ratio - Number(d.cropW) / 2, (event.clientY - box.top) * ratio - Number(d.cropH) / 2);
      refresh();
    });
    frame.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 10 : 1;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const [dx, dy] = moves[event.key];
      place(Number(inputX.value) + dx, Number(inputY.value) + dy);
      refresh();
    });
    for (const input of [inputX, inputY]) {
      input.addEventListener("change", () => {
        place(Number(inputX.value), Number(inputY.value));
        refresh();
      });
    }
  }
})();
