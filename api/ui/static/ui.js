// Program Ledger dashboard: charts from the data beside them, the live cue, copy buttons.
(function () {
  "use strict";
  var lang = document.documentElement.lang === "en" ? "en-GB" : "de-DE";
  var euro = new Intl.NumberFormat(lang, { style: "currency", currency: "EUR" });
  var colours = ["#12355b", "#2f6fb3", "#6a9fd4", "#176b2c", "#a36a00"];
  var charts = [];

  function drawCharts(root) {
    if (!window.Chart) { return; }
    charts = charts.filter(function (c) { if (!document.body.contains(c.canvas)) { c.destroy(); return false; } return true; });
    root.querySelectorAll("canvas[data-chart]:not([data-drawn])").forEach(function (canvas) {
      canvas.dataset.drawn = "true";
      var data = JSON.parse(canvas.dataset.chart);
      charts.push(new window.Chart(canvas, {
        type: canvas.dataset.kind || "bar",
        data: { labels: data.labels, datasets: data.series.map(function (s, i) {
          return { label: s.label, data: s.values.map(Number), backgroundColor: colours[i % colours.length] };
        }) },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { display: data.series.length > 1 },
            tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + euro.format(ctx.parsed.y); } } } },
          scales: { y: { ticks: { callback: function (v) { return euro.format(v); } } } } }
      }));
    });
  }

  function followLedger() {
    var body = document.body;
    if (body.dataset.live !== "true" || !window.EventSource) { return; }
    var after = body.dataset.position || "0";
    var source = new EventSource("/ui/stream?after=" + encodeURIComponent(after));
    source.onmessage = function (message) {
      var position = JSON.parse(message.data).position;
      body.dataset.position = String(position);
      var shown = document.querySelector("[data-testid=position]");
      if (shown) { shown.textContent = new Intl.NumberFormat(lang).format(position); }
      if (window.htmx) { window.htmx.trigger(document.body, "ledger:moved"); }
      var announce = document.getElementById("announce");
      if (announce) { announce.textContent = (lang === "de-DE" ? "Aktualisiert auf Position " : "Updated to position ") + position; }
    };
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.dataset.copy);
    field.select();
    var done = function () { button.textContent = button.dataset.done; };
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done, done); } else { document.execCommand("copy"); done(); }
  });
  // Empty controls stay out of the URL, so a bookmarked view names only what was set.
  document.addEventListener("submit", function (event) {
    if (event.target.method !== "get") { return; }
    event.target.querySelectorAll("input").forEach(function (input) { if (!input.value) { input.disabled = true; } });
  });
  // A time and a position name one moment each: typing one clears the other (the server
  // refuses both at once, as the API does).
  document.addEventListener("input", function (event) {
    var other = {as_of: "as_of_position", as_of_position: "as_of"}[event.target.id];
    if (other && event.target.value) { document.getElementById(other).value = ""; }
  });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(document); });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); followLedger(); });
}());
