// Progressive enhancement: the table is complete without this script; it adds sorting (click a column header),
// a text filter and a finding filter. No network, no libraries: the report is one self-contained file.
(function () {
  "use strict";
  var table = document.querySelector("table.rows");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var controls = document.getElementById("controls");
  controls.hidden = false;
  var text = document.getElementById("filter-text");
  var finding = document.getElementById("filter-finding");
  var count = document.getElementById("shown-count");

  function key(cell) {
    var v = cell.getAttribute("data-sort");
    if (v === null) { v = cell.textContent.trim(); }
    var n = parseFloat(v);
    return v !== "" && !isNaN(n) && isFinite(v) ? { n: n } : { s: v.toLowerCase() };
  }

  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    if (a.n !== undefined) { return -1; }
    if (b.n !== undefined) { return 1; }
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
    th.setAttribute("data-sortable", "");
    th.tabIndex = 0;
    function sort() {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      rows.sort(function (r1, r2) {
        var c = compare(key(r1.cells[index]), key(r2.cells[index]));
        return ascending ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
  });

  function filter() {
    var q = text.value.trim().toLowerCase();
    var f = finding.value;
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0)
        && (!f || (" " + r.getAttribute("data-findings") + " ").indexOf(" " + f + " ") >= 0);
      r.hidden = !ok;
      if (ok) { shown++; }
    });
    count.textContent = shown + " of " + rows.length + " patients shown";
  }

  text.addEventListener("input", filter);
  finding.addEventListener("change", filter);
  document.getElementById("print").addEventListener("click", function () { window.print(); });
  filter();
})();
