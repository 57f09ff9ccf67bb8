/* journeyscope analysis report: draws the charts of the chosen view (all accounts or one
   segment), lays its figures on the map's cards and shows its summary and tables. Figures are
   set as text (textContent), never as markup. */
(function () {
  var DATA = JSON.parse(document.getElementById("rp-data").textContent);
  var CONFIG = { displaylogo: false, responsive: true,
                 modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d"] };
  var RANK = { good: 1, warn: 2, bad: 3 };
  var shown = null;

  function plot(id, fig) {
    var div = document.getElementById("chart-" + id);
    if (!div) { return; }
    var empty = div.parentNode.querySelector(".rp-empty");
    if (!fig) {
      if (div.classList.contains("js-plotly-plot")) { Plotly.purge(div); }
      div.hidden = true;
      if (empty) { empty.hidden = false; }
      return;
    }
    div.hidden = false;
    if (empty) { empty.hidden = true; }
    var layout = Object.assign({}, fig.layout, { template: DATA.template });
    Plotly.react(div, fig.data, layout, CONFIG);
  }

  function setStatus(el, status) {
    ["good", "warn", "bad"].forEach(function (s) { el.classList.remove("status-" + s); });
    if (status) { el.classList.add("status-" + status); }
  }

  function setFigures(el, figs) {
    var host = el.tagName === "TH" ? el.querySelector(".smeta") : el;
    if (!host) { return; }
    var dl = host.querySelector(":scope > dl.figs");
    if (!figs || !figs.length) {
      if (dl) { dl.remove(); }
      setStatus(el, null);
      return;
    }
    if (!dl) {
      dl = document.createElement("dl");
      dl.className = "figs";
      host.appendChild(dl);
    }
    dl.textContent = "";
    var worst = null;
    figs.forEach(function (f) {
      var row = document.createElement("div");
      row.className = "fig" + (f[2] ? " fig-" + f[2] : "");
      var dt = document.createElement("dt");
      dt.textContent = f[0];
      var dd = document.createElement("dd");
      dd.textContent = f[1];
      row.appendChild(dt);
      row.appendChild(dd);
      dl.appendChild(row);
      if (f[2] && (!worst || RANK[f[2]] > RANK[worst])) { worst = f[2]; }
    });
    setStatus(el, worst);
  }

  function card(id) {
    return document.getElementById("tp-" + id) || document.getElementById("stage-" + id);
  }

  function show(key) {
    var view = DATA.views[key];
    if (!view || key === shown) { return; }
    shown = key;
    document.querySelectorAll(".rp-view").forEach(function (el) {
      el.hidden = el.getAttribute("data-view") !== key;
    });
    document.querySelectorAll(".rp-seg").forEach(function (b) {
      var on = b.getAttribute("data-view") === key;
      b.classList.toggle("on", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    DATA.cards.forEach(function (id) {
      var el = card(id);
      if (el) { setFigures(el, view.figures[id]); }
    });
    DATA.charts.forEach(function (id) { plot(id, view.charts[id]); });
    document.body.setAttribute("data-view", key);
  }

  document.querySelectorAll(".rp-seg").forEach(function (b) {
    b.addEventListener("click", function () { show(b.getAttribute("data-view")); });
  });
  var lanes = document.getElementById("rp-lanes");
  if (lanes) {
    lanes.addEventListener("change", function () {
      document.getElementById("map").classList.toggle("all-lanes", lanes.checked);
    });
  }
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll(".rp-plot.js-plotly-plot").forEach(function (div) {
      Plotly.Plots.resize(div);
    });
  });
  show(DATA.order[0]);
  window.journeyscopeReport = { show: show, data: DATA };
})();
