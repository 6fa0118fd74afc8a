// The mapping designer: reads the rule rows back into a spec (the hidden #draft-spec field),
// asks for a preview after each edit (htmx posts the form on "draft-changed"), and handles
// drag and drop, the source combobox, transforms, samples and suggestions.
(() => {
  const form = document.getElementById("designer-form");
  if (!form) return;
  const draft = document.getElementById("draft-spec");
  const saved = JSON.parse(document.getElementById("saved-spec").textContent);
  const recordBox = document.getElementById("record");
  const listbox = document.getElementById("source-listbox");
  let baseline = "";
  let samples = [];

  // ------------------------------------------------------------ reading the rows

  const own = (li, selector) => li.querySelector(`:scope > .rule-head ${selector}, :scope > .rule-body ${selector}`);

  function parseJson(text) {
    try { return JSON.parse(text); } catch { return text; }
  }

  function readParam(input) {
    const given = input.hasAttribute("data-given");
    const type = input.dataset.type;
    if (type === "boolean") {
      const isDefault = input.checked === (input.dataset.default === "1");
      return given || !isDefault ? [true, input.checked] : [false];
    }
    const raw = input.value;
    if (raw === "" || (!given && input.dataset.default !== undefined && raw === input.dataset.default)) return [false];
    if (input.hasAttribute("data-json")) return [true, parseJson(raw)];
    if (type === "integer") return [true, Number.isNaN(parseInt(raw, 10)) ? raw : parseInt(raw, 10)];
    if (type === "number") return [true, Number.isNaN(Number(raw)) ? raw : Number(raw)];
    if (type === "paths") return [true, raw.split(",").map((s) => s.trim()).filter(Boolean)];
    if (type === "mapping") {
      const mapping = {};
      raw.split("\n").forEach((line) => {
        const at = line.indexOf("=");
        if (at > 0) mapping[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      });
      return [true, mapping];
    }
    return [true, raw];
  }

  function readStep(li) {
    const params = {};
    li.querySelectorAll("[data-param]").forEach((input) => {
      const [keep, value] = readParam(input);
      if (keep) params[input.dataset.param] = value;
    });
    const name = li.dataset.name;
    if (!Object.keys(params).length) return li.hasAttribute("data-short") ? name : { name };
    return { name, params };
  }

  function readRule(li) {
    const rule = { target: li.dataset.target };
    const mode = own(li, ".rule-mode").value;
    const value = own(li, ".rule-value");
    if (value.value.trim() !== "") {
      rule[mode] = value.hasAttribute("data-json") ? parseJson(value.value) : mode === "source" ? value.value.trim() : value.value;
    }
    const steps = [...li.querySelectorAll(":scope > .rule-body > .steps > .step")].map(readStep);
    if (steps.length) rule.transforms = steps;
    const fallback = own(li, ".rule-default");
    if (fallback.value !== "") rule.default = fallback.hasAttribute("data-json") ? parseJson(fallback.value) : fallback.value;
    if (own(li, ".rule-required").checked) rule.required = true;
    const group = li.querySelector(":scope > .sub-rules");
    if (group) {
      const children = rows(group).map(readRule).filter(Boolean);
      if (children.length || li.hasAttribute("data-had-rules")) rule.rules = children;
    }
    Object.assign(rule, JSON.parse(li.dataset.extra || "{}"));
    return Object.keys(rule).length > 1 ? rule : null;
  }

  const rows = (list) => [...list.querySelectorAll(":scope > .rule")];

  function readSpec() {
    return { ...saved, rules: rows(document.getElementById("rules")).map(readRule).filter(Boolean) };
  }

  // ------------------------------------------------------------ after every edit

  function changed() {
    const spec = JSON.stringify(readSpec());
    draft.value = spec;
    const dirty = baseline !== "" && spec !== baseline;
    const note = document.getElementById("dirty-note");
    if (note) {
      note.textContent = dirty ? "Unsaved changes" : "No unsaved changes";
      note.classList.toggle("warn", dirty);
    }
    let mapped = 0;
    form.querySelectorAll(".rule").forEach((li) => {
      const on = readRule(li) !== null;
      li.classList.toggle("is-mapped", on);
      li.classList.toggle("keeps-tools", own(li, ".rule-default").value !== "" || own(li, ".rule-required").checked);
      if (on && !li.parentElement.classList.contains("sub-rules")) mapped += 1;
    });
    const count = document.getElementById("mapped-count");
    if (count) count.textContent = mapped;
    askPreview();
  }

  const askPreview = () => form.dispatchEvent(new CustomEvent("draft-changed"));

  form.addEventListener("input", (event) => {
    if (event.target.closest("#source-search, #target-search, #sample-choice")) return;
    if (event.target === recordBox) { showSampleValues(); askPreview(); return; }
    if (event.target.name === "note") return;
    changed();
  });
  form.addEventListener("change", (event) => {
    if (event.target.matches(".add-step")) { addStep(event.target); return; }
    if (event.target.matches("select, input[type=checkbox]") && !event.target.closest("#sample-choice")) changed();
  });

  // ------------------------------------------------------------ transforms, clear, add target

  function addStep(select) {
    const template = document.getElementById(`step-${select.value}`);
    select.value = "";
    if (!template) return;
    const li = select.closest(".rule");
    const step = template.content.firstElementChild.cloneNode(true);
    li.querySelector(":scope > .rule-body > .steps").append(step);
    changed();
    const first = step.querySelector("[data-param]");
    if (first) first.focus();
  }

  form.addEventListener("click", (event) => {
    const tool = event.target.closest("[data-step]");
    if (tool) {
      const step = tool.closest(".step");
      if (tool.dataset.step === "remove") step.remove();
      if (tool.dataset.step === "up" && step.previousElementSibling) step.previousElementSibling.before(step);
      if (tool.dataset.step === "down" && step.nextElementSibling) step.nextElementSibling.after(step);
      changed();
      return;
    }
    const clear = event.target.closest("[data-clear]");
    if (clear) {
      const li = clear.closest(".rule");
      own(li, ".rule-mode").value = "source";
      const value = own(li, ".rule-value");
      value.value = "";
      value.removeAttribute("data-json");
      own(li, ".rule-default").value = "";
      own(li, ".rule-required").checked = false;
      li.querySelectorAll(":scope > .rule-body > .steps > .step").forEach((step) => step.remove());
      li.dataset.extra = "{}";
      changed();
    }
  });

  const addTarget = document.getElementById("add-target");
  if (addTarget) {
    addTarget.addEventListener("click", () => {
      const input = document.getElementById("new-target");
      const target = input.value.trim();
      if (!target) return;
      const li = document.getElementById("blank-rule").content.firstElementChild.cloneNode(true);
      li.dataset.target = target;
      li.dataset.path = target;
      li.querySelector(".target-name").textContent = target;
      const labels = {
        ".rule-mode": `How ${target} gets its value`, ".rule-value": `Source for ${target}`,
        ".add-step": `Add a transform to ${target}`, ".rule-default": `Default for ${target}`,
        "[data-clear]": `Clear the rule for ${target}`,
      };
      Object.entries(labels).forEach(([selector, label]) => li.querySelector(selector).setAttribute("aria-label", label));
      document.getElementById("rules").append(li);
      input.value = "";
      own(li, ".rule-value").focus();
    });
  }

  // ------------------------------------------------------------ choosing a source

  function setSource(li, path) {
    const parent = li.parentElement.closest(".rule");
    let value = path;
    if (parent) {
      const groupSource = own(parent, ".rule-value").value.trim();
      const prefixes = [`${groupSource}[0].`, `${groupSource}[].`, `${groupSource}[*].`];
      const inside = groupSource && prefixes.find((p) => path.startsWith(p));
      value = inside ? path.slice(inside.length) : `$.${path}`;
    }
    own(li, ".rule-mode").value = "source";
    const input = own(li, ".rule-value");
    input.value = value;
    input.removeAttribute("data-json");
    changed();
  }

  form.addEventListener("dragstart", (event) => {
    const source = event.target.closest(".source");
    if (!source || form.dataset.canEdit !== "1") return;
    event.dataTransfer.setData("text/plain", source.dataset.path);
    event.dataTransfer.effectAllowed = "copy";
  });
  form.addEventListener("dragover", (event) => {
    const zone = event.target.closest("[data-drop]");
    if (!zone || form.dataset.canEdit !== "1") return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("drop-over");
  });
  form.addEventListener("dragleave", (event) => {
    const zone = event.target.closest("[data-drop]");
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("drop-over");
  });
  form.addEventListener("drop", (event) => {
    const zone = event.target.closest("[data-drop]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("drop-over");
    const path = event.dataTransfer.getData("text/plain");
    if (path) setSource(zone.closest(".rule"), path);
  });

  // The combobox: one shared listbox of source fields under the focused value box.
  const sourceOptions = () => [...form.querySelectorAll(".source")].map((li) => ({ path: li.dataset.path, label: li.dataset.label || li.dataset.path }));
  let comboInput = null;
  let active = -1;

  function openList(input) {
    if (own(input.closest(".rule"), ".rule-mode").value !== "source") return closeList();
    comboInput = input;
    const words = input.value.trim().toLowerCase();
    const matches = sourceOptions().filter((o) => !words || `${o.label} ${o.path}`.toLowerCase().includes(words)).slice(0, 30);
    listbox.replaceChildren(...matches.map((option, index) => {
      const li = document.createElement("li");
      li.id = `source-option-${index}`;
      li.setAttribute("role", "option");
      li.dataset.path = option.path;
      li.innerHTML = "<span></span> <code></code>";
      li.firstChild.textContent = option.label;
      li.lastChild.textContent = option.path;
      return li;
    }));
    active = -1;
    input.closest(".combo").append(listbox);
    listbox.hidden = matches.length === 0;
    input.setAttribute("aria-expanded", String(!listbox.hidden));
  }

  function closeList() {
    listbox.hidden = true;
    if (comboInput) {
      comboInput.setAttribute("aria-expanded", "false");
      comboInput.removeAttribute("aria-activedescendant");
    }
    comboInput = null;
  }

  function highlight(index) {
    const options = [...listbox.children];
    if (!options.length) return;
    active = (index + options.length) % options.length;
    options.forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
    comboInput.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  form.addEventListener("focusin", (event) => { if (event.target.matches(".rule-value")) openList(event.target); });
  form.addEventListener("input", (event) => { if (event.target.matches(".rule-value")) openList(event.target); });
  form.addEventListener("focusout", (event) => {
    if (event.target === comboInput) setTimeout(() => { if (document.activeElement !== comboInput) closeList(); }, 150);
  });
  form.addEventListener("keydown", (event) => {
    if (!event.target.matches(".rule-value")) return;
    if (event.key === "Enter") event.preventDefault(); // never submit the form from here
    if (listbox.hidden || comboInput !== event.target) {
      if (event.key === "ArrowDown") { openList(event.target); highlight(0); event.preventDefault(); }
      return;
    }
    if (event.key === "ArrowDown") { highlight(active + 1); event.preventDefault(); }
    if (event.key === "ArrowUp") { highlight(active - 1); event.preventDefault(); }
    if (event.key === "Escape") closeList();
    if (event.key === "Enter" && active >= 0) {
      const input = comboInput;
      setSource(input.closest(".rule"), listbox.children[active].dataset.path);
      closeList();
      input.focus();
    }
  });
  listbox.addEventListener("mousedown", (event) => {
    const option = event.target.closest("[role=option]");
    if (!option || !comboInput) return;
    event.preventDefault();
    const input = comboInput;
    setSource(input.closest(".rule"), option.dataset.path);
    closeList();
  });

  // ------------------------------------------------------------ filters

  function filter(inputId, items) {
    const input = document.getElementById(inputId);
    if (!input) return;
    input.addEventListener("input", () => {
      const words = input.value.trim().toLowerCase();
      items().forEach((el) => { el.hidden = words !== "" && !el.textContent.toLowerCase().includes(words) && !(el.dataset.path || "").toLowerCase().includes(words); });
    });
  }
  filter("source-search", () => form.querySelectorAll(".source"));
  filter("target-search", () => form.querySelectorAll("#rules > .rule"));

  // ------------------------------------------------------------ samples and preview

  function readPath(record, path) {
    const steps = path.replace(/^\$\./, "").match(/[^.[\]]+|\[(\d+|\*)\]/g) || [];
    let value = record;
    for (const step of steps) {
      if (value === null || value === undefined) return undefined;
      const index = step.match(/^\[(\d+)\]$/);
      if (index) value = Array.isArray(value) ? value[Number(index[1])] : undefined;
      else if (step === "[*]") return Array.isArray(value) ? value : undefined;
      else value = typeof value === "object" ? value[step.trim()] : undefined;
    }
    return value;
  }

  function showSampleValues() {
    const record = parseJson(recordBox.value);
    form.querySelectorAll("[data-sample-path]").forEach((el) => {
      const value = typeof record === "object" && record ? readPath(record, el.dataset.samplePath) : undefined;
      const text = value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
      el.textContent = text.length > 60 ? `${text.slice(0, 57)}…` : text;
      el.classList.toggle("empty", text === "");
    });
  }

  function useSample(choice) {
    if (choice === "paste") {
      document.getElementById("record-box").open = true;
      recordBox.value = "";
      recordBox.focus();
    } else {
      recordBox.value = JSON.stringify(samples[Number(choice)] || {}, null, 2);
    }
    showSampleValues();
    askPreview();
  }

  document.body.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target.id === "samples") {
      const data = document.getElementById("sample-records");
      samples = data ? JSON.parse(data.textContent) : [];
      const choice = document.getElementById("sample-choice");
      if (!samples.length) document.getElementById("record-box").open = true;
      useSample(samples.length ? "0" : "paste");
      if (choice) choice.addEventListener("change", () => useSample(choice.value));
    }
    if (target.id === "preview") decorate();
  });

  function decorate() {
    const data = document.getElementById("preview-data");
    const found = data ? JSON.parse(data.textContent) : { values: {}, issues: [] };
    const values = {};
    Object.entries(found.values).forEach(([key, value]) => { values[key.replace(/\[0\]/g, "[]")] ??= value; });
    form.querySelectorAll(".rule").forEach((li) => {
      const out = li.querySelector(":scope > .rule-head .out-value");
      const value = values[li.dataset.path];
      out.textContent = value === undefined ? "" : value;
      const list = li.querySelector(":scope > .rule-body > .rule-issues");
      const mine = found.issues.filter((issue) => issue.field.replace(/\[\d+\]/g, "[]") === li.dataset.path);
      list.replaceChildren(...mine.map((issue) => {
        const item = document.createElement("li");
        item.className = `issue issue-${issue.level}`;
        item.textContent = issue.message;
        return item;
      }));
      li.classList.toggle("has-error", mine.some((issue) => issue.level === "error"));
      li.classList.toggle("has-warning", mine.some((issue) => issue.level === "warning"));
    });
  }

  // ------------------------------------------------------------ suggestions

  function accept(item) {
    const fresh = item.querySelector("template").content.firstElementChild.cloneNode(true);
    const current = [...document.querySelectorAll("#rules > .rule")].find((li) => li.dataset.target === item.dataset.target);
    if (current) current.replaceWith(fresh); else document.getElementById("rules").append(fresh);
    item.remove();
  }

  document.getElementById("suggestions").addEventListener("click", (event) => {
    const item = event.target.closest(".suggestion");
    if (event.target.closest("[data-accept]")) accept(item);
    if (event.target.closest("[data-reject]")) item.remove();
    if (event.target.closest("[data-accept-all]")) document.querySelectorAll(".suggestion").forEach(accept);
    if (event.target.closest("[data-reject-all]")) document.querySelectorAll(".suggestion").forEach((li) => li.remove());
    if (!document.querySelector(".suggestion")) document.getElementById("suggestions").replaceChildren();
    changed();
  });

  form.addEventListener("submit", () => { draft.value = JSON.stringify(readSpec()); });

  baseline = JSON.stringify(readSpec());
  changed();
})();
