/* de06 audit report. Every piece of document text goes into the DOM through textContent or
   createTextNode: never innerHTML. Data arrives as JSONP scripts (DE06.doc / DE06.records)
   because Chromium blocks fetch() of file:// URLs. */
(function () {
  "use strict";

  var INDEX = JSON.parse(document.getElementById("de06-index").textContent);
  var TABLES = INDEX.tables;
  /* Labels in Vietnamese, with an English toggle in the header; data (statuses, kinds of finding,
     field names) is shown as the tables hold it. */
  var STRINGS = {
    vi: {
      title: "Báo cáo kiểm tra de06", lang: "English", tab_findings: "Phát hiện", tab_docs: "Văn bản", tab_records: "Bản ghi",
      doc_filter: "lọc văn bản (tên, trạng thái, địa phương…)", rec_filter: "lọc nội dung, mã, giá trị…",
      h_document: "văn bản", h_status: "trạng thái", h_format: "định dạng", h_pages: "tr.", h_refs: "dẫn chiếu",
      h_figs: "số liệu", h_svcs: "DVC", h_findings: "phát hiện", h_id: "mã", h_kind: "loại", h_where: "vị trí",
      h_text: "nội dung", h_what: "giá trị", all_docs: "tất cả văn bản", all_kinds: "tất cả loại", more: "xem thêm",
      hint: "Mở một văn bản trong danh mục, hoặc bấm vào một bản ghi.",
      kind_figures: "số liệu", kind_references: "văn bản dẫn chiếu", kind_services: "dịch vụ công",
      kind_findings: "phát hiện", kind_tables: "dòng bảng",
      sentence: "câu", where: "vị trí", box: "khung", cells: "ô", cell_sources: "ô của dòng", page: "trang", line: "dòng", chars: "ký tự",
      text_layer: "đọc từ lớp văn bản của PDF", ocr: "nhận dạng OCR", confidence: "độ tin cậy",
      no_doc: "Không có văn bản {0} trong báo cáo này.", no_load: "Không tải được {0} (thư mục report_files/ có bị chuyển khỏi report.html không?)",
      no_record: "Không có bản ghi {0} trong văn bản {1}.", loading: "đang tải bản ghi…", of_records: "{0} / {1} bản ghi",
      showing: " (đang hiện {0})", failed_doc: "Văn bản này bị lỗi: không đọc được gì.",
      no_text: "Lần chạy không chuyển văn bản của trang cho báo cáo.",
      broken: "{0} bản ghi có vị trí ký tự không khớp nội dung (không tô sáng): ",
      not_held: "Văn bản trang ở ký tự {0}–{1} không chứa nội dung của bản ghi này.",
      m_doc: "mã VB", m_status: "trạng thái", m_format: "định dạng", m_pages: "số trang", m_type: "loại", m_number: "số",
      m_locality: "địa phương", m_issued: "ban hành", m_period: "kỳ", m_signer: "người ký",
      summary: "{0} văn bản ({1} ok, {2} một phần, {3} lỗi)", generated: "tạo lúc"
    },
    en: {
      title: "de06 audit report", lang: "Tiếng Việt", tab_findings: "Findings", tab_docs: "Documents", tab_records: "Records",
      doc_filter: "filter documents (name, status, locality…)", rec_filter: "filter text, id, value…",
      h_document: "document", h_status: "status", h_format: "format", h_pages: "p.", h_refs: "refs",
      h_figs: "figs", h_svcs: "svcs", h_findings: "findings", h_id: "id", h_kind: "kind", h_where: "where",
      h_text: "text", h_what: "what", all_docs: "all documents", all_kinds: "all kinds", more: "show more",
      hint: "Open a document from the index, or click a record.",
      kind_figures: "figure", kind_references: "reference", kind_services: "service",
      kind_findings: "finding", kind_tables: "table row",
      sentence: "sentence", where: "where", box: "box", cells: "cells", cell_sources: "cell sources", page: "page", line: "line", chars: "chars",
      text_layer: "read from the PDF's text layer", ocr: "OCR", confidence: "confidence",
      no_doc: "No document {0} in this report.", no_load: "Could not load {0} (was report_files/ moved away from report.html?)",
      no_record: "No record {0} in document {1}.", loading: "loading records…", of_records: "{0} of {1} records",
      showing: " (showing {0})", failed_doc: "This document failed: nothing was read from it.",
      no_text: "The run did not pass this document's page text to the report.",
      broken: "{0} record(s) whose char offsets do not hold their text (not highlighted): ",
      not_held: "The page text at chars {0}–{1} does not hold this record's text.",
      m_doc: "doc", m_status: "status", m_format: "format", m_pages: "pages", m_type: "type", m_number: "number",
      m_locality: "locality", m_issued: "issued", m_period: "period", m_signer: "signer",
      summary: "{0} documents ({1} ok, {2} partial, {3} failed)", generated: "generated"
    }
  };
  var lang = "vi";
  function t(key) {
    var s = STRINGS[lang][key] !== undefined ? STRINGS[lang][key] : STRINGS.en[key] !== undefined ? STRINGS.en[key] : key;
    for (var i = 1; i < arguments.length; i++) s = s.split("{" + (i - 1) + "}").join(String(arguments[i]));
    return s;
  }
  function label(table) { return t("kind_" + table); }
  var PAGE_SIZE = 300;
  var MAX_CACHED_DOCS = 8; // keep memory flat when an auditor walks through hundreds of reports

  var docsById = {};
  INDEX.documents.forEach(function (d) { docsById[d.doc_id] = d; });
  var docCache = {}, docOrder = [], docWaiting = {};
  var records = null, recordsWaiting = [];
  var view = { docId: null, groups: [], byRecord: {}, records: {}, active: null };
  var shown = PAGE_SIZE;

  function $(id) { return document.getElementById(id); }
  /* Control characters a document may hold are shown, one visible character for one, so offsets
     stay right: C0 controls as their Unicode "control pictures" (ESC as U+241B), and direction
     overrides and marks (U+202E would show 1.234 as 432.1) as U+21C4. */
  var CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  function visible(s) {
    return String(s).replace(CONTROLS, function (c) {
      var code = c.charCodeAt(0);
      return code < 32 ? String.fromCharCode(0x2400 + code) : code === 127 ? "\u2421" : "\u21c4";
    });
  }
  function txt(s) { return document.createTextNode(visible(s)); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = visible(text);
    return e;
  }
  function basename(p) { p = String(p || ""); var i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\")); return p.slice(i + 1); }
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function shq(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }
  function docIdOf(recordId) { var i = recordId.lastIndexOf("-"); return i > 0 ? recordId.slice(0, i) : recordId; }
  function setHash(h) { try { history.replaceState(null, "", h); } catch (e) { /* file:// may refuse; harmless */ } }

  /* ---------- data loading (one script tag per file, on demand) ---------- */
  function loadScript(src, onError) {
    var s = document.createElement("script");
    s.src = src;
    s.onerror = function () { s.remove(); onError(); };
    s.onload = function () { s.remove(); };
    document.head.appendChild(s);
  }
  function loadDoc(docId, cb) {
    if (docCache[docId]) { cb(docCache[docId]); return; }
    var doc = docsById[docId];
    if (!doc) { showMessage(t("no_doc", docId)); return; }
    if (docWaiting[docId]) { docWaiting[docId].push(cb); return; }
    docWaiting[docId] = [cb];
    loadScript(doc.file, function () {
      delete docWaiting[docId];
      showMessage(t("no_load", doc.file));
    });
  }
  function ensureRecords(cb) {
    if (records) { cb(); return; }
    recordsWaiting.push(cb);
    if (recordsWaiting.length > 1) return;
    $("records-status").textContent = t("loading");
    loadScript(INDEX.records_file, function () {
      $("records-status").textContent = t("no_load", INDEX.records_file);
    });
  }
  window.DE06 = {
    doc: function (docId, data) {
      docCache[docId] = data;
      docOrder.push(docId);
      while (docOrder.length > MAX_CACHED_DOCS) { var old = docOrder.shift(); if (old !== view.docId) delete docCache[old]; }
      var waiting = docWaiting[docId] || [];
      delete docWaiting[docId];
      waiting.forEach(function (f) { f(data); });
    },
    records: function (rows) {
      records = rows.map(function (r) {
        return { id: r[0], table: r[1], doc: r[2], page: r[3], line: r[4], text: r[5], what: r[6],
                 hay: (r[0] + "\u0000" + r[5] + "\u0000" + r[6]).toLowerCase() };
      });
      var waiting = recordsWaiting; recordsWaiting = [];
      waiting.forEach(function (f) { f(); });
    }
  };

  /* ---------- header and document index ---------- */
  function renderSummary() {
    var docs = INDEX.documents, st = { ok: 0, partial: 0, failed: 0 };
    docs.forEach(function (d) { if (st[d.status] !== undefined) st[d.status] += 1; });
    var parts = [t("summary", docs.length, st.ok, st.partial, st.failed)];
    TABLES.forEach(function (table) { parts.push(INDEX.totals[table] + " " + label(table)); });
    parts.push(t("generated") + " " + INDEX.generated);
    $("summary").textContent = parts.join(" · ");
  }
  function renderIndex() {
    var body = $("doc-index").tBodies[0];
    INDEX.documents.forEach(function (d) {
      var tr = el("tr");
      tr.dataset.doc = d.doc_id;
      var name = el("td");
      name.appendChild(el("div", null, basename(d.source)));
      var sub = [d.doc_type, d.locality, d.period_end ? "→ " + d.period_end : null].filter(Boolean).join(" · ");
      if (sub) name.appendChild(el("div", "muted", sub));
      if (d.error) name.appendChild(el("div", "warn", d.error));
      name.title = d.source + "\n" + d.doc_id;
      tr.appendChild(name);
      tr.appendChild(el("td", "status-" + d.status, d.status));
      tr.appendChild(el("td", null, d.format || ""));
      tr.appendChild(el("td", "num", d.pages === null || d.pages === undefined ? "" : d.pages));
      ["references", "figures", "services"].forEach(function (table) { tr.appendChild(el("td", "num", d.counts[table])); });
      var f = el("td");
      if (d.counts.findings) {
        f.appendChild(el("b", "status-failed", d.counts.findings + " "));
        d.finding_kinds.forEach(function (k) { f.appendChild(el("span", "badge", k)); });
      } else {
        f.appendChild(el("span", "muted", "0"));
      }
      tr.appendChild(f);
      tr.dataset.hay = [d.source, d.status, d.format, d.doc_type, d.locality, d.title, d.doc_id, d.error,
                        d.finding_kinds.join(" ")].join("\u0000").toLowerCase();
      body.appendChild(tr);
    });
    body.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr");
      if (!tr) return;
      $("f-doc").value = tr.dataset.doc;
      shown = PAGE_SIZE;
      switchTab("records");
      openDoc(tr.dataset.doc, function () { setHash("#doc=" + encodeURIComponent(tr.dataset.doc)); });
    });
    $("doc-filter").addEventListener("input", function () {
      var q = this.value.trim().toLowerCase();
      Array.prototype.forEach.call(body.rows, function (tr) { tr.hidden = q !== "" && tr.dataset.hay.indexOf(q) < 0; });
    });
  }

  /* ---------- records table ---------- */
  function initFilters() {
    var fd = $("f-doc"), fk = $("f-kind");
    INDEX.documents.forEach(function (d) {
      var o = el("option", null, basename(d.source) + " (" + d.doc_id + ")");
      o.value = d.doc_id;
      fd.appendChild(o);
    });
    TABLES.forEach(function (table) { var o = el("option", null, label(table)); o.value = table; fk.appendChild(o); });
    var timer = null;
    function changed() { shown = PAGE_SIZE; clearTimeout(timer); timer = setTimeout(renderRecords, 120); }
    fd.addEventListener("change", changed);
    fk.addEventListener("change", changed);
    $("f-text").addEventListener("input", changed);
    $("more").addEventListener("click", function () { shown += PAGE_SIZE; renderRecords(); });
    // On the table, not the tbody: renderRecords swaps the tbody for a fresh one.
    $("records").addEventListener("click", function (ev) {
      var tr = ev.target.closest("tbody tr");
      if (tr) selectRecord(tr.dataset.id, tr.dataset.doc);
    });
  }
  function renderRecords() {
    ensureRecords(function () {
      var doc = $("f-doc").value, kind = $("f-kind").value, q = $("f-text").value.trim().toLowerCase();
      var hits = records.filter(function (r) {
        return (!doc || r.doc === doc) && (!kind || r.table === kind) && (!q || r.hay.indexOf(q) >= 0);
      });
      var body = $("records").tBodies[0];
      var fresh = body.cloneNode(false);
      hits.slice(0, shown).forEach(function (r) {
        var tr = el("tr");
        tr.dataset.id = r.id;
        tr.dataset.doc = r.doc;
        tr.dataset.table = r.table;
        if (view.active && view.active.id === r.id) tr.className = "sel";
        tr.appendChild(el("td", "id", r.id));
        var k = el("td");
        k.appendChild(el("span", "kind " + r.table));
        k.appendChild(document.createTextNode(label(r.table)));
        tr.appendChild(k);
        var where = "p." + r.page + " l." + r.line;
        if (!doc) where = basename((docsById[r.doc] || {}).source) + " " + where;
        tr.appendChild(el("td", "muted where", where));
        tr.appendChild(el("td", "txt", r.text));
        tr.appendChild(el("td", null, r.what));
        fresh.appendChild(tr);
      });
      body.parentNode.replaceChild(fresh, body);
      $("records-status").textContent = t("of_records", hits.length, records.length) + (hits.length > shown ? t("showing", shown) : "");
      $("more").hidden = hits.length <= shown;
    });
  }
  function markRow(id) {
    var rows = $("records").tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var on = rows[i].dataset.id === id;
      rows[i].classList.toggle("sel", on);
      if (on && !$("records-pane").hidden) rows[i].scrollIntoView({ block: "nearest" });
    }
  }
  /* "findings" is the auditor's worklist: the records pane showing the findings of every document,
     each opening its records (the record ids in its details are buttons). */
  function switchTab(name) {
    $("docs-pane").hidden = name !== "docs";
    $("records-pane").hidden = name === "docs";
    $("tab-docs").classList.toggle("on", name === "docs");
    $("tab-records").classList.toggle("on", name === "records");
    $("tab-findings").classList.toggle("on", name === "findings");
    if (name === "findings") $("f-kind").value = "findings";
    else if (name === "records" && $("f-kind").value === "findings") $("f-kind").value = "";
    if (name !== "docs") { shown = PAGE_SIZE; renderRecords(); }
  }
  /* The static labels of report.html (data-i18n, data-i18n-placeholder) and the kind filter. */
  function applyLanguage() {
    document.documentElement.lang = lang;
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (e) { e.textContent = t(e.dataset.i18n); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-placeholder]"), function (e) { e.placeholder = t(e.dataset.i18nPlaceholder); });
    Array.prototype.forEach.call($("f-kind").options, function (o) { if (o.value) o.textContent = label(o.value); });
    $("tab-findings").textContent = t("tab_findings") + " (" + findingsTotal() + ")";
  }
  function findingsTotal() {
    return INDEX.documents.reduce(function (n, d) { return n + ((d.counts && d.counts.findings) || 0); }, 0);
  }

  /* ---------- document viewer ---------- */
  function showMessage(text) {
    var v = $("viewer");
    v.textContent = "";
    v.appendChild(el("p", "warn", text));
  }
  function openDoc(docId, cb) {
    if (view.docId === docId) { if (cb) cb(); return; }
    loadDoc(docId, function (data) { renderDoc(docId, data); if (cb) cb(); });
  }
  function renderHead(d) {
    var head = $("doc-head");
    head.textContent = "";
    head.appendChild(el("h2", null, d.source));
    var meta = el("div", "meta");
    [["doc", d.doc_id], ["status", d.status], ["format", d.format], ["pages", d.pages], ["type", d.doc_type],
     ["number", d.own_number], ["locality", d.locality], ["issued", d.issue_date],
     ["period", d.period_start || d.period_end ? (d.period_start || "?") + " – " + (d.period_end || "?") : null],
     ["signer", d.signer]].forEach(function (kv) {
      if (kv[1] === null || kv[1] === undefined || kv[1] === "") return;
      var s = el("span");
      s.appendChild(el("span", "muted", t("m_" + kv[0]) + " "));
      s.appendChild(el("span", kv[0] === "status" ? "status-" + kv[1] : null, kv[1]));
      meta.appendChild(s);
    });
    head.appendChild(meta);
    if (d.title) head.appendChild(el("div", "muted", d.title));
    if (d.error) head.appendChild(el("div", "warn", d.error));
  }
  function renderLegend(counts) {
    var legend = $("legend"), viewer = $("viewer");
    legend.textContent = "";
    TABLES.forEach(function (table) {
      if (!counts[table]) return;
      var item = el("label");
      var box = el("input");
      box.type = "checkbox";
      box.checked = table !== "tables"; // table rows cover whole lines: off unless asked for
      viewer.classList.toggle("hide-" + table, !box.checked);
      box.addEventListener("change", function () { viewer.classList.toggle("hide-" + table, !box.checked); });
      item.appendChild(box);
      item.appendChild(el("span", "kind " + table));
      item.appendChild(document.createTextNode(label(table) + " (" + counts[table] + ")"));
      legend.appendChild(item);
    });
  }
  function renderDoc(docId, data) {
    var d = docsById[docId] || { doc_id: docId, source: docId };
    view = { docId: docId, groups: [], byRecord: {}, records: {}, active: null };
    renderHead(d);
    $("details").hidden = true;
    var viewer = $("viewer");
    viewer.textContent = "";
    viewer.scrollTop = 0;
    var counts = {}, broken = [], byKey = {};
    data.records.forEach(function (r) {
      view.records[r.id] = r;
      counts[r._table] = (counts[r._table] || 0) + 1;
      if (!r._ok) { broken.push(r); return; }
      var key = r.page + ":" + r.char_start + ":" + r.char_end;
      var g = byKey[key];
      if (!g) {
        g = byKey[key] = { index: view.groups.length, page: r.page, start: r.char_start, end: r.char_end,
                           recs: [], kinds: [], els: [], boxes: [] };
        view.groups.push(g);
      }
      g.recs.push(r);
      if (g.kinds.indexOf(r._table) < 0) g.kinds.push(r._table);
      view.byRecord[r.id] = g;
    });
    renderLegend(counts);
    if (broken.length) {
      var w = el("p", "warn", t("broken", broken.length));
      broken.slice(0, 50).forEach(function (r) {
        var b = el("button", "link", r.id);
        b.type = "button";
        b.addEventListener("click", function () { showDetails([r]); });
        w.appendChild(b);
        w.appendChild(document.createTextNode(" "));
      });
      viewer.appendChild(w);
    }
    if (!data.pages.length) {
      viewer.appendChild(el("p", "muted", d.status === "failed"
        ? t("failed_doc")
        : t("no_text")));
    }
    data.pages.forEach(function (p) {
      var sec = el("section", p.image ? "page with-image" : "page");
      sec.dataset.page = p.page;
      sec.appendChild(el("h3", null, t("page") + " " + p.page + readAs(p)));
      var groups = view.groups.filter(function (g) { return g.page === p.page; });
      if (p.image) sec.appendChild(pageImage(p, groups));
      var pre = el("pre", "pagetext");
      buildText(pre, p.text, groups);
      sec.appendChild(pre);
      viewer.appendChild(sec);
    });
  }
  /* How the page was read: the text layer, a text file, or OCR with its mean confidence. */
  function readAs(p) {
    var m = String(p.method || "");
    if (!m) return "";
    if (m.indexOf("ocr") === 0) return " · " + t("ocr") + " (" + m + ")" + (typeof p.confidence === "number" ? ", " + t("confidence") + " " + Math.round(p.confidence) : "");
    if (m === "pdf-text") return " · " + t("text_layer");
    return " · " + m;
  }
  function pageImage(p, groups) {
    var wrap = el("div", "pageimg");
    var img = el("img");
    img.alt = t("page") + " " + p.page;
    img.src = p.image; // relative path checked by the writer (no scheme, no "..")
    wrap.appendChild(img);
    if (!p.width || !p.height) return wrap;
    groups.forEach(function (g) {
      var bb = g.recs[0].bbox;
      if (!bb || bb.length !== 4) return;
      var b = el("div", "box " + g.kinds.map(function (k) { return "k-" + k; }).join(" "));
      b.style.left = (100 * bb[0] / p.width) + "%";
      b.style.top = (100 * bb[1] / p.height) + "%";
      b.style.width = (100 * (bb[2] - bb[0]) / p.width) + "%";
      b.style.height = (100 * (bb[3] - bb[1]) / p.height) + "%";
      b.dataset.g = g.index;
      b.title = tooltip(g);
      g.boxes.push(b);
      wrap.appendChild(b);
    });
    /* Each value of a service row, each cell of a table row: its own box, outlined with its record. */
    groups.forEach(function (g) {
      g.recs.forEach(function (r) {
        var cells = r.field_cells || r.cell_sources;
        if (!cells || typeof cells !== "object") return;
        Object.keys(cells).forEach(function (name) {
          var c = cells[name], cb = c && c.bbox;
          if (!cb || cb.length !== 4 || c.page !== p.page) return;
          var b = el("div", "cellbox");
          b.style.left = (100 * cb[0] / p.width) + "%";
          b.style.top = (100 * cb[1] / p.height) + "%";
          b.style.width = (100 * (cb[2] - cb[0]) / p.width) + "%";
          b.style.height = (100 * (cb[3] - cb[1]) / p.height) + "%";
          b.dataset.g = g.index;
          b.dataset.cell = name;
          b.title = r.id + " · " + name + ": " + c.text;
          g.boxes.push(b);
          wrap.appendChild(b);
        });
      });
    });
    return wrap;
  }
  function tooltip(g) {
    return g.recs.map(function (r) { return r.id + " " + label(r._table) + ": " + r._summary; }).join("\n");
  }

  /* Nest one <mark> per span group into the page text. Spans are sorted by start, longest first;
     a span that crosses its enclosing one is split at the boundary, so every group's pieces
     together hold exactly text[start:end]. Line numbers are CSS-generated (not in textContent). */
  /* de06's offsets count code points; JavaScript strings count UTF-16 units, which differ after
     any character outside the BMP (an emoji in a web export). Map once per text. */
  function unitsOf(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return function (i) { return i; };
    var units = [], u = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c >= 0xDC00 && c <= 0xDFFF && i > 0 && text.charCodeAt(i - 1) >= 0xD800 && text.charCodeAt(i - 1) <= 0xDBFF) continue;
      units.push(i);
    }
    units.push(text.length);
    return function (i) { return units[Math.max(0, Math.min(i, units.length - 1))]; };
  }
  function buildText(root, text, spans) {
    var unit = unitsOf(text);
    var groups = spans.map(function (g) { return { start: unit(g.start), end: unit(g.end), g: g }; });
    var lineStarts = [0];
    for (var i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
    var queue = groups;
    var order = function (a, b) { return a.start - b.start || b.end - a.end || a.g.index - b.g.index; };
    queue.sort(order);
    var pos = 0, li = 0, stack = [];
    function parent() { return stack.length ? stack[stack.length - 1].el : root; }
    function emit(to) {
      for (;;) {
        while (li < lineStarts.length && lineStarts[li] <= pos) {
          if (lineStarts[li] === pos) {
            var m = el("span", "ln");
            m.dataset.n = li + 1;
            parent().appendChild(m);
          }
          li++;
        }
        if (pos >= to) return;
        var next = li < lineStarts.length ? Math.min(to, lineStarts[li]) : to;
        parent().appendChild(txt(text.slice(pos, next)));
        pos = next;
      }
    }
    for (var q = 0; q < queue.length; q++) {
      var s = queue[q];
      while (stack.length && stack[stack.length - 1].end <= s.start) { emit(stack[stack.length - 1].end); stack.pop(); }
      emit(s.start);
      var end = s.end, top = stack.length ? stack[stack.length - 1] : null;
      if (top && end > top.end) {
        var rest = { start: top.end, end: s.end, g: s.g }, at = q + 1;
        while (at < queue.length && order(queue[at], rest) < 0) at++;
        queue.splice(at, 0, rest);
        end = top.end;
      }
      var mark = el("mark", "hl " + s.g.kinds.map(function (k) { return "k-" + k; }).join(" "));
      mark.dataset.g = s.g.index;
      mark.title = tooltip(s.g);
      s.g.els.push(mark);
      parent().appendChild(mark);
      if (end > s.start) stack.push({ el: mark, end: end });
    }
    while (stack.length) { emit(stack[stack.length - 1].end); stack.pop(); }
    emit(text.length);
  }

  /* ---------- selection ---------- */
  function activate(g, scroll) {
    if (view.active) view.active.g.els.concat(view.active.g.boxes).forEach(function (e) { e.classList.remove("active", "flash"); });
    var parts = g.els.concat(g.boxes);
    parts.forEach(function (e) {
      e.classList.add("active");
      e.classList.remove("flash");
      void e.offsetWidth; // restart the animation when the same span is clicked twice
      e.classList.add("flash");
    });
    if (scroll && parts.length) parts[0].scrollIntoView({ block: "center", behavior: "auto" });
  }
  function selectRecord(id, docId) {
    docId = docId || docIdOf(id);
    openDoc(docId, function () {
      var r = view.records[id];
      if (!r) { showMessage(t("no_record", id, docId)); return; }
      var g = view.byRecord[id];
      if (g) activate(g, true);
      view.active = { id: id, g: g || { els: [], boxes: [] } };
      showDetails([r]);
      markRow(id);
      setHash("#rec=" + encodeURIComponent(id));
    });
  }
  function onViewerClick(ev) {
    var hit = ev.target.closest("mark.hl, .box");
    if (!hit) return;
    var recs = [], seen = {};
    for (var node = hit; node && node !== this; node = node.parentElement) {
      if (!node.dataset || node.dataset.g === undefined) continue;
      view.groups[+node.dataset.g].recs.forEach(function (r) { if (!seen[r.id]) { seen[r.id] = 1; recs.push(r); } });
    }
    var g = view.groups[+hit.dataset.g];
    activate(g, false);
    view.active = { id: g.recs[0].id, g: g };
    showDetails(recs);
    markRow(g.recs[0].id);
  }
  /* The span sits at sentence[char_start − sentence_start : char_end − sentence_start] by
     construction (pipeline/normalize.py): marked by offset, never found by searching. */
  function sentenceWithSpan(r) {
    var out = el("span");
    var sentence = String(r.sentence || ""), unit = unitsOf(sentence);
    var a = r.char_start - r.sentence_start, b = r.char_end - r.sentence_start;
    if (!(a >= 0 && b >= a && unit(b) <= sentence.length)) { out.textContent = visible(sentence); return out; }
    out.appendChild(txt(sentence.slice(0, unit(a))));
    out.appendChild(el("mark", "hl k-" + r._table, sentence.slice(unit(a), unit(b))));
    out.appendChild(txt(sentence.slice(unit(b))));
    return out;
  }
  function showDetails(recs) {
    var box = $("details");
    box.textContent = "";
    box.hidden = false;
    recs.forEach(function (r) {
      var title = el("div", "rec-title");
      title.appendChild(el("span", "kind " + r._table));
      title.appendChild(document.createTextNode(label(r._table) + " "));
      var go = el("button", "link", r.id);
      go.type = "button";
      go.title = "show this record's span";
      go.addEventListener("click", function () { selectRecord(r.id, r.doc_id); });
      title.appendChild(go);
      title.appendChild(el("span", "muted", "  " + r._summary));
      box.appendChild(title);
      if (!r._ok) box.appendChild(el("div", "warn", t("not_held", r.char_start, r.char_end)));
      var dl = el("dl");
      function row(k, v) { dl.appendChild(el("dt", null, k)); var dd = el("dd"); if (v instanceof Node) dd.appendChild(v); else dd.textContent = visible(fmt(v)); dl.appendChild(dd); }
      row(t("sentence"), sentenceWithSpan(r));
      row(t("where"), r.source + " · " + t("page") + " " + r.page + " · " + t("line") + " " + r.line +
        (r.line_end !== r.line ? "–" + r.line_end : "") + " · " + t("chars") + " " + r.char_start + "–" + r.char_end);
      if (r.bbox) row(t("box"), r.bbox);
      Object.keys(r).forEach(function (k) {
        if (k.charAt(0) === "_" || ["id", "sentence", "sentence_start", "sentence_end", "source", "doc_id", "page", "line", "line_end", "char_start", "char_end", "bbox"].indexOf(k) >= 0) return;
        if ((k === "field_cells" || k === "cell_sources") && r[k] && typeof r[k] === "object") {
          var names = Object.keys(r[k]);
          if (!names.length) return;
          var list = el("div", "cells");
          names.forEach(function (name) {
            var c = r[k][name] || {};
            list.appendChild(el("div", null, name + ": " + c.text + "  · " + t("page") + " " + c.page + " · " + t("chars") + " " +
              c.char_start + "–" + c.char_end + (c.bbox ? " · " + t("box") + " " + fmt(c.bbox) : "")));
          });
          row(k === "field_cells" ? t("cells") : t("cell_sources"), list);
          return;
        }
        if (k === "record_ids" && r[k] && r[k].length) {
          var refs = el("span");
          r[k].forEach(function (rid) {
            var b = el("button", "link", rid);
            b.type = "button";
            b.addEventListener("click", function () { selectRecord(rid); });
            refs.appendChild(b);
            refs.appendChild(document.createTextNode(" "));
          });
          row(k, refs);
          return;
        }
        row(k, r[k]);
      });
      var cmd = "de06 trace " + r.id;
      if (String(r.method || "").indexOf("text") === 0 && !r.bbox) {
        cmd += "    # or: sed -n " + shq(r.line === r.line_end ? r.line + "p" : r.line + "," + r.line_end + "p") + " " + shq(r.source);
      }
      row("terminal", el("code", null, cmd));
      box.appendChild(dl);
    });
  }

  /* ---------- start ---------- */
  function route() {
    var h = location.hash;
    if (h.indexOf("#rec=") === 0) selectRecord(decodeURIComponent(h.slice(5)));
    else if (h.indexOf("#doc=") === 0) openDoc(decodeURIComponent(h.slice(5)));
  }
  renderSummary();
  renderIndex();
  initFilters();
  applyLanguage();
  $("lang").addEventListener("click", function () {
    lang = lang === "vi" ? "en" : "vi";
    applyLanguage();
    renderSummary();
    if (!$("records-pane").hidden) renderRecords();
    if (view.docId && docCache[view.docId]) { var id = view.docId; view.docId = null; openDoc(id); }
  });
  $("tab-findings").addEventListener("click", function () { switchTab("findings"); });
  $("tab-docs").addEventListener("click", function () { switchTab("docs"); });
  $("tab-records").addEventListener("click", function () { switchTab("records"); });
  $("viewer").addEventListener("click", onViewerClick);
  window.addEventListener("hashchange", route);
  if (!location.hash && findingsTotal()) switchTab("findings");  // the worklist first, when there is one
  route();
})();
