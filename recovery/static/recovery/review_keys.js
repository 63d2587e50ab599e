// The review queue by keyboard: 1-6 choose the class, n / p open the next / previous waiting item. Keys typed into
// the note are left alone.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT")) return;
    var label = document.getElementById("id_label");
    if (label && /^[1-6]$/.test(event.key)) {
      label.value = event.key;
      event.preventDefault();
      return;
    }
    if (event.key === "n" || event.key === "p") {
      var link = document.querySelector('a[accesskey="' + event.key + '"]');
      if (link) { window.location.href = link.href; event.preventDefault(); }
    }
  });
})();
