/* journeyscope web: the CSRF header on every htmx request, drag and drop of touchpoint cards
   between stages (SortableJS), and opening a card's form in the side panel. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.body.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  function stageIds(editor) {
    return Array.prototype.map.call(editor.querySelectorAll("th.jm-stage"), function (th) {
      return th.id.replace(/^stage-/, "");
    });
  }

  function setUp(editor) {
    if (!editor || editor.getAttribute("data-ready") === "1") { return; }
    editor.setAttribute("data-ready", "1");
    var mapId = editor.getAttribute("data-map");
    var version = editor.getAttribute("data-version");
    var stages = stageIds(editor);
    var cells = editor.querySelectorAll('tr.jm-lane[data-lane="touchpoints"] > td');
    var editable = editor.getAttribute("data-editable") === "1";
    Array.prototype.forEach.call(cells, function (cell, index) {
      cell.setAttribute("data-stage", stages[index] || "");
      if (!editable || !window.Sortable) { return; }
      window.Sortable.create(cell, {
        group: "touchpoints",
        draggable: "article.tp",
        animation: 120,
        forceFallback: true,
        fallbackTolerance: 4,
        onEnd: function (evt) {
          if (evt.from === evt.to && evt.oldDraggableIndex === evt.newDraggableIndex) { return; }
          var id = evt.item.id.replace(/^tp-/, "");
          htmx.ajax("POST", "/maps/" + mapId + "/move", {
            target: "#editor", swap: "outerHTML",
            values: { touchpoint: id, stage: evt.to.getAttribute("data-stage"),
                      index: evt.newDraggableIndex, base_version: version }
          });
        }
      });
    });
    editor.addEventListener("click", function (event) {
      var card = event.target.closest("article.tp");
      if (!card || !editor.contains(card)) { return; }
      var id = card.id.replace(/^tp-/, "");
      htmx.ajax("GET", "/maps/" + mapId + "/panel?panel=touchpoint:" + encodeURIComponent(id),
                { target: "#panel", swap: "innerHTML" });
    });
  }

  function init() { setUp(document.getElementById("editor")); }
  document.addEventListener("DOMContentLoaded", init);
  document.body.addEventListener("htmx:afterSettle", init);
  init();
})();
