// The dashboard chart: runs per hour by status, refreshed with the cards.
(() => {
  const canvas = document.getElementById("runs-chart");
  if (!canvas || !window.Chart) return;
  const colours = {
    succeeded: "#15803d", failed: "#b91c1c", dead: "#7f1d1d", retry_scheduled: "#b45309",
    awaiting_approval: "#7c3aed", running: "#2563eb", pending: "#64748b",
    rejected: "#db2777", cancelled: "#94a3b8",
  };
  let range = "24h";
  const chart = new window.Chart(canvas, {
    type: "bar",
    data: { labels: [], datasets: [] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } },
    },
  });
  async function refresh() {
    const reply = await fetch(`${canvas.dataset.url}?range=${range}`, { credentials: "same-origin" });
    if (!reply.ok) return;
    const data = await reply.json();
    chart.data.labels = data.labels;
    chart.data.datasets = data.datasets.map((set) => ({
      label: set.label, data: set.data, backgroundColor: colours[set.status] || "#475569",
    }));
    chart.update();
  }
  document.querySelectorAll("[data-chart-range]").forEach((button) => {
    button.addEventListener("click", () => {
      range = button.dataset.chartRange;
      document.querySelectorAll("[data-chart-range]").forEach((other) => {
        other.classList.toggle("primary", other === button);
      });
      refresh();
    });
  });
  refresh();
  setInterval(refresh, 10000);
})();
