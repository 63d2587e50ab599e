// The rule form: choosing an action puts its params template in an empty (or still untouched template) params box.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var action = document.getElementById("id_action");
    var params = document.getElementById("id_params");
    var source = document.getElementById("formrecap-rule-templates");
    if (!action || !params || !source) return;
    var templates = JSON.parse(source.textContent);
    var shown = function (name) { return JSON.stringify(templates[name] || {}, null, 2); };
    var untouched = function () {
      var text = params.value.trim();
      if (text === "" || text === "{}") return true;
      return Object.keys(templates).some(function (name) { return text === shown(name); });
    };
    action.addEventListener("change", function () {
      if (untouched()) params.value = shown(action.value);
    });
    if (params.value.trim() === "" && action.value) params.value = shown(action.value);
  });
})();
