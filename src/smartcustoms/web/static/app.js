// The pages' only script of our own (the Content-Security-Policy allows no inline script or style):
// it gives each bar of the assessment chart its width, carried in data-width (percent).
function sizeBars(root) {
  root.querySelectorAll(".bar[data-width]").forEach(function (bar) {
    bar.style.width = bar.dataset.width + "%";
  });
}
document.addEventListener("DOMContentLoaded", function () { sizeBars(document); });
document.addEventListener("htmx:afterSwap", function (event) { sizeBars(event.target); });
