/* journeyscope map: the persona filter greys out what the chosen persona never meets. */
(function () {
  function init(root) {
    if (root.getAttribute("data-ready")) { return; }
    root.setAttribute("data-ready", "1");
    var select = root.querySelector(".jm-persona-select");
    if (!select) { return; }
    function apply() {
      var p = select.value;
      root.querySelectorAll("[data-personas]").forEach(function (el) {
        var reach = el.getAttribute("data-personas").split(" ");
        el.classList.toggle("dim", p !== "" && reach.indexOf(p) < 0);
      });
      root.querySelectorAll(".curve").forEach(function (el) {
        el.classList.toggle("faded", p !== "" && el.getAttribute("data-persona") !== p);
      });
      root.setAttribute("data-selected", p);
    }
    select.addEventListener("change", apply);
    apply();
  }
  document.querySelectorAll(".jsmap").forEach(init);
})();
