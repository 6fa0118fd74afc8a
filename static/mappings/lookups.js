// Lookup table page: after a row is added, empty the add form for the next one; filter rows.
(() => {
  const form = document.getElementById("add-row");
  if (form) {
    form.addEventListener("htmx:afterRequest", (event) => {
      if (!event.detail.successful || event.detail.target.id !== "entries") return;
      form.reset();
      document.getElementById("add-row-errors").replaceChildren();
      const none = document.getElementById("no-rows");
      if (none) none.remove();
      form.querySelector("input[name=key]").focus();
    });
  }
  const filter = document.getElementById("row-filter");
  if (filter) {
    filter.addEventListener("input", () => {
      const words = filter.value.trim().toLowerCase();
      document.querySelectorAll("#entries > tr").forEach((row) => {
        row.hidden = words !== "" && !row.textContent.toLowerCase().includes(words);
      });
    });
  }
  // Opened at a key (?key=, the error queue's fix link): its row shown, or the add form
  // filled with it, ready for the value.
  const key = new URLSearchParams(window.location.search).get("key");
  if (key && filter) {
    filter.value = key;
    filter.dispatchEvent(new Event("input"));
  }
  if (key && form) {
    form.querySelector("input[name=key]").value = key;
    form.querySelector("input[name=value]").focus();
  }
})();
