// The rules editor (templates/flows/rules.html) shows only the inputs that apply: inside each
// [data-choice-scope] (a condition's row, a rule's action), an element whose data-shown-for
// lists values is hidden unless the scope's [data-chooser] select holds one of them. Hidden
// inputs are still posted, and without this script every input shows, so saving works either
// way. Loaded from the page head (the CSP forbids inline scripts).
function showWhatApplies(scope) {
  const chooser = scope.querySelector("[data-chooser]");
  if (!chooser) return;
  scope.querySelectorAll("[data-shown-for]").forEach((element) => {
    element.hidden = !element.dataset.shownFor.split(" ").includes(chooser.value);
  });
}

function showWhatAppliesIn(root) {
  root.querySelectorAll("[data-choice-scope]").forEach(showWhatApplies);
}

document.addEventListener("change", (event) => {
  const chooser = event.target.closest("[data-chooser]");
  if (chooser) showWhatApplies(chooser.closest("[data-choice-scope]"));
});
// The first page, and each editor htmx swaps in after a button (add, move, remove, preview).
document.addEventListener("DOMContentLoaded", () => showWhatAppliesIn(document));
document.addEventListener("htmx:load", (event) => showWhatAppliesIn(event.target));
