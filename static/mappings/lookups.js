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
})();
