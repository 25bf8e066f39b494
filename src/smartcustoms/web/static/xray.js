// X-ray review: mark suspicious regions on the scan by dragging with the mouse or a finger (pointer events,
// no library). Regions are kept in image pixels in the form's hidden `regions` field (JSON), drawn over the
// image as boxes placed in percent, and listed with a label field and a remove button each.
(function () {
  "use strict";
  var MIN_PIXELS = 4; // a drag shorter than this on screen is a tap, not a region

  function setup(stage) {
    var img = stage.querySelector("img");
    var field = document.getElementById("regions");
    var list = document.getElementById("region-list");
    var hint = document.getElementById("no-regions");
    var width = parseInt(stage.dataset.width, 10);
    var height = parseInt(stage.dataset.height, 10);
    var readonly = stage.dataset.readonly === "true";
    var regions = [];
    try {
      regions = JSON.parse((field && field.value) || "[]");
      if (!Array.isArray(regions)) regions = [];
    } catch (e) {
      regions = [];
    }

    function save() {
      if (!field || readonly) return;
      field.value = JSON.stringify(regions.map(function (r) {
        var out = { x: r.x, y: r.y, width: r.width, height: r.height };
        if (r.label && r.label.trim()) out.label = r.label.trim();
        return out;
      }));
    }

    function place(box, r) {
      box.style.left = (100 * r.x / width) + "%";
      box.style.top = (100 * r.y / height) + "%";
      box.style.width = (100 * r.width / width) + "%";
      box.style.height = (100 * r.height / height) + "%";
    }

    function name(n) {
      return (stage.dataset.regionName || "{n}").replace("{n}", String(n));
    }

    function render() {
      stage.querySelectorAll(".region").forEach(function (b) { b.remove(); });
      regions.forEach(function (r, i) {
        var box = document.createElement("div");
        box.className = "region";
        box.dataset.n = String(i + 1);
        place(box, r);
        var tag = document.createElement("span");
        tag.className = "region-tag";
        tag.textContent = String(i + 1);
        box.appendChild(tag);
        stage.appendChild(box);
      });
      if (readonly || !list) return;
      list.textContent = "";
      regions.forEach(function (r, i) {
        var li = document.createElement("li");
        var head = document.createElement("span");
        var at = (stage.dataset.at || "{x}, {y}, {w} × {h}")
          .replace("{x}", r.x).replace("{y}", r.y).replace("{w}", r.width).replace("{h}", r.height);
        head.textContent = name(i + 1) + ": " + at;
        var label = document.createElement("input");
        label.type = "text";
        label.maxLength = 200;
        label.value = r.label || "";
        label.placeholder = stage.dataset.labelName || "";
        label.setAttribute("aria-label", stage.dataset.labelName || "");
        label.addEventListener("input", function () { r.label = label.value; save(); });
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "remove";
        remove.textContent = stage.dataset.remove || "×";
        remove.setAttribute("aria-label", (stage.dataset.remove || "") + " " + name(i + 1));
        remove.addEventListener("click", function () { regions.splice(i, 1); save(); render(); });
        li.appendChild(head);
        li.appendChild(label);
        li.appendChild(remove);
        list.appendChild(li);
      });
      if (hint) hint.hidden = regions.length > 0;
    }

    render();
    if (readonly) return;
    save();

    var start = null;
    var ghost = null;

    function toImage(event) {
      var rect = img.getBoundingClientRect();
      var x = Math.min(Math.max(event.clientX - rect.left, 0), rect.width);
      var y = Math.min(Math.max(event.clientY - rect.top, 0), rect.height);
      return { sx: x, sy: y, x: x * width / rect.width, y: y * height / rect.height };
    }

    function box(a, b) {
      var x0 = Math.floor(Math.min(a.x, b.x));
      var y0 = Math.floor(Math.min(a.y, b.y));
      var x1 = Math.min(Math.ceil(Math.max(a.x, b.x)), width);
      var y1 = Math.min(Math.ceil(Math.max(a.y, b.y)), height);
      return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0), label: "" };
    }

    stage.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button > 0) return;
      event.preventDefault();
      stage.setPointerCapture(event.pointerId);
      start = toImage(event);
      ghost = document.createElement("div");
      ghost.className = "region drawing";
      place(ghost, box(start, start));
      stage.appendChild(ghost);
    });
    stage.addEventListener("pointermove", function (event) {
      if (!start || !ghost) return;
      place(ghost, box(start, toImage(event)));
    });
    function finish(event, keep) {
      if (!start) return;
      var end = toImage(event);
      var far = Math.abs(end.sx - start.sx) >= MIN_PIXELS && Math.abs(end.sy - start.sy) >= MIN_PIXELS;
      if (ghost) ghost.remove();
      if (keep && far) {
        regions.push(box(start, end));
        save();
        render();
      }
      start = null;
      ghost = null;
    }
    stage.addEventListener("pointerup", function (event) { finish(event, true); });
    stage.addEventListener("pointercancel", function (event) { finish(event, false); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".xray-stage").forEach(setup);
  });
})();
