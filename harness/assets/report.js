// trustbench's results page: draws the embedded results (#report-data) with DOM calls only
// (text is set as text, never as HTML), so nothing in a result can inject markup.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const impls = data.implementations;
  const app = document.getElementById("app");
  const OUTCOMES = ["pass", "fail", "not supported", "not applicable"];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c !== null && c !== undefined) node.append(c);
    }
    return node;
  }
  const slug = (s) => s.replace(/[^A-Za-z0-9_-]/g, "-");
  const cls = (outcome) => outcome.replace(/ /g, "-");
  const detailId = (s, i) => `detail-${slug(s.name)}--${i}`;

  // Summary per implementation.
  function summary() {
    const rows = impls.map((impl) => {
      const count = (o) => data.scenarios.filter((s) => s.results[impl] && s.results[impl].outcome === o).length;
      const [pass, fail, ns, na] = OUTCOMES.map(count);
      const scored = pass + fail;
      const score = scored ? ((pass * 100) / scored).toFixed(1) + "%" : "–";
      return el("tr", { "data-impl": impl },
        el("th", { scope: "row", text: impl }),
        el("td", { text: String(pass) }), el("td", { text: String(fail) }),
        el("td", { text: String(ns) }), el("td", { text: String(na) }),
        el("td", { class: "score", text: score }));
    });
    return el("section", { id: "summary", "aria-labelledby": "summary-h" },
      el("h2", { id: "summary-h", text: "Summary" }),
      el("div", { class: "scroll" }, el("table", {},
        el("thead", {}, el("tr", {}, ["implementation", "passed", "failed", "not supported", "not applicable", "score"]
          .map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows))),
      el("p", { class: "muted", text: "Score: passed / (passed + failed); not supported (the implementation's manifest) and not applicable (outside the connector protocol) are left out." }));
  }

  // Filters.
  const options = (values) => [el("option", { value: "", text: "all" }), ...values.map((v) => el("option", { value: v, text: v }))];
  const uniq = (key) => [...new Set(data.scenarios.map((s) => s[key]).filter(Boolean))].sort();
  const outcomeFilter = el("select", { id: "filter-outcome", name: "outcome" }, options(OUTCOMES));
  const credentialFilter = el("select", { id: "filter-credentials", name: "credentials" }, options(uniq("credentials")));
  const partitionFilter = el("select", { id: "filter-partition", name: "partition" }, options(uniq("partition")));
  const textFilter = el("input", { id: "filter-text", name: "text", type: "search", placeholder: "name or description", autocomplete: "off" });
  const shown = el("p", { id: "shown", "aria-live": "polite" });

  function matches(s) {
    const outcome = outcomeFilter.value;
    const text = textFilter.value.trim().toLowerCase();
    return (!outcome || impls.some((i) => s.results[i] && s.results[i].outcome === outcome))
      && (!credentialFilter.value || s.credentials === credentialFilter.value)
      && (!partitionFilter.value || s.partition === partitionFilter.value)
      && (!text || s.name.toLowerCase().includes(text) || (s.description || "").toLowerCase().includes(text));
  }
  function applyFilters() {
    let n = 0;
    for (const s of data.scenarios) {
      const show = matches(s);
      n += show ? 1 : 0;
      for (const node of document.querySelectorAll(`[data-scenario="${CSS.escape(s.name)}"]`)) node.hidden = !show;
    }
    shown.textContent = `${n} of ${data.scenarios.length} scenarios shown`;
  }
  function filters() {
    const label = (text, control) => el("label", { for: control.id }, text, control);
    const form = el("form", { class: "filters", role: "search", "aria-label": "Filter scenarios", onsubmit: (e) => e.preventDefault() },
      label("Outcome (any implementation)", outcomeFilter), label("Credential option", credentialFilter),
      label("Partition", partitionFilter), label("Search", textFilter));
    for (const c of [outcomeFilter, credentialFilter, partitionFilter]) c.addEventListener("change", applyFilters);
    textFilter.addEventListener("input", applyFilters);
    return el("section", { id: "filters", "aria-label": "Filters" }, form, shown);
  }

  // The matrix: scenarios × implementations.
  function matrix() {
    const head = el("tr", {}, el("th", { scope: "col", text: "scenario" }), impls.map((i) => el("th", { scope: "col", text: i })));
    const rows = data.scenarios.map((s) => el("tr", { "data-scenario": s.name },
      el("th", { scope: "row" }, el("a", { href: `#scenario-${slug(s.name)}`, text: s.name, onclick: (e) => { e.preventDefault(); openDetail(s, null); } })),
      impls.map((impl, i) => {
        const r = s.results[impl];
        if (!r) return el("td", {}, el("span", { class: "outcome absent", text: "not run" }));
        return el("td", { "data-impl": impl, "data-outcome": r.outcome },
          el("a", { class: `outcome ${cls(r.outcome)}`, href: `#${detailId(s, i)}`, title: r.why || `${s.name}: ${r.outcome} (${impl})`,
            text: r.outcome, onclick: (e) => { e.preventDefault(); openDetail(s, i); } }));
      })));
    return el("section", { id: "matrix", "aria-labelledby": "matrix-h" },
      el("h2", { id: "matrix-h", text: "Scenarios × implementations" }),
      el("div", { class: "scroll" }, el("table", { class: "matrix" }, el("thead", {}, head), el("tbody", {}, rows))));
  }

  // Details, drawn when first opened.
  function stepsTable(r) {
    return el("table", { class: "steps" },
      el("thead", {}, el("tr", {}, ["#", "step", "expected", "actual", ""].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, r.steps.map((st, n) => el("tr", { class: st.passed ? "" : "mismatch" },
        el("td", { "data-label": "#", text: String(n + 1) }), el("td", { "data-label": "step", text: st.step }),
        el("td", { "data-label": "expected", text: st.expected }), el("td", { "data-label": "actual", text: st.actual }),
        el("td", { "data-label": "result", class: st.passed ? "ok" : "diff", text: st.passed ? "ok" : "DIFF" })))));
  }
  function timeline(r) {
    const items = [];
    r.steps.forEach((st, n) => {
      items.push(el("li", { class: "step", text: `step ${n + 1}: ${st.step}` }));
      if (!st.requests.length) items.push(el("li", { class: "request none muted", text: "no requests" }));
      for (const q of st.requests) {
        const what = [q.time, q.service, q.action, q.region, q.decision, q.status, q.error_code, q.principal].filter((x) => x !== "" && x !== undefined).join("  ");
        items.push(el("li", { class: `request ${q.decision}`, "data-action": q.action, "data-decision": q.decision },
          el("span", { class: "what", text: what }),
          q.iam_action ? el("span", { class: "statement", text: `${q.iam_action} on ${q.resource}` }) : null,
          q.statement ? el("span", { class: "statement", text: q.statement }) : null));
      }
    });
    return el("ol", { class: "timeline", "aria-label": "request timeline" }, items);
  }
  function copyButton(text) {
    const button = el("button", { type: "button", class: "copy", text: "Copy policy" });
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch (_) {
        // No clipboard (a file:// page in some browsers): select the text for Ctrl-C.
        const pre = button.nextElementSibling;
        const range = document.createRange();
        range.selectNodeContents(pre);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        button.textContent = "Selected: press Ctrl-C";
      }
    });
    return button;
  }
  function leastPrivilege(r) {
    if (!r.least_privilege.length) return el("p", { class: "muted", text: "No authorized calls." });
    return r.least_privilege.map((p) => {
      const policy = JSON.stringify(p.policy, null, 2);
      return el("div", { class: "principal" },
        el("h4", { text: p.principal }),
        copyButton(policy), el("pre", { class: "policy", tabindex: "0" }, el("code", { text: policy })),
        p.denied.length ? el("p", { text: "Denied: " + p.denied.map((d) => `${d.action} on ${d.resource}`).join("; ") }) : null);
    });
  }
  function implSection(s, impl, i) {
    const r = s.results[impl];
    const heading = el("h3", { tabindex: "-1" }, `${impl}: `, el("span", { class: `outcome ${cls(r.outcome)}`, text: r.outcome }));
    const parts = [heading];
    if (r.why) parts.push(el("p", { class: "why", text: r.why }));
    if (r.steps.length) {
      parts.push(stepsTable(r), el("h4", { text: "Requests, by the step that made them" }), timeline(r),
        el("h4", { text: "Least-privilege policy per principal" }), leastPrivilege(r));
    }
    return el("section", { class: "impl", id: detailId(s, i), "data-impl": impl }, parts);
  }
  function openDetail(s, i) {
    const details = document.getElementById(`scenario-${slug(s.name)}`);
    details.open = true;
    fill(details, s);
    const target = i === null ? details : document.getElementById(detailId(s, i));
    target.scrollIntoView();
    const focus = i === null ? details.querySelector("summary") : target.querySelector("h3");
    if (focus) focus.focus();
    history.replaceState(null, "", `#${target.id}`);
  }
  function fill(details, s) {
    if (details.dataset.filled) return;
    details.dataset.filled = "1";
    details.querySelector("div").append(...impls.filter((impl) => s.results[impl]).map((impl) => implSection(s, impl, impls.indexOf(impl))));
  }
  function detailsSection() {
    const list = data.scenarios.map((s) => {
      const details = el("details", { class: "scenario", id: `scenario-${slug(s.name)}`, "data-scenario": s.name },
        el("summary", {}, el("span", { class: "name", text: s.name }), " ",
          impls.map((impl) => s.results[impl] ? el("span", { class: `outcome ${cls(s.results[impl].outcome)}`, title: impl, text: s.results[impl].outcome }) : null)),
        el("div", {}, el("p", { class: "desc", text: s.description }),
          el("p", { class: "muted", text: `${s.file} · credentials: ${s.credentials || "?"} · partition: ${s.partition || "?"}` })));
      details.addEventListener("toggle", () => { if (details.open) fill(details, s); });
      return details;
    });
    return el("section", { id: "details", "aria-labelledby": "details-h" }, el("h2", { id: "details-h", text: "Scenarios" }), list);
  }

  app.append(el("header", {}, el("h1", { text: data.title }),
    el("p", { class: "muted", text: `${data.scenarios.length} scenarios, ${impls.length} implementation${impls.length === 1 ? "" : "s"}` })),
    summary(), filters(), matrix(), detailsSection());
  applyFilters();
  // A link to a scenario's details (`#detail-…` or `#scenario-…`) opens them.
  const hash = decodeURIComponent(location.hash.slice(1));
  for (const s of data.scenarios) {
    impls.forEach((impl, i) => { if (hash === detailId(s, i) && s.results[impl]) openDetail(s, i); });
    if (hash === `scenario-${slug(s.name)}`) openDetail(s, null);
  }
})();
