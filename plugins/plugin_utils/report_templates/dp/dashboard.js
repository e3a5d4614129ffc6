/* DP dashboard: builds the panel of the selected cell from the JSON blob (#dp-data), with DOM calls
   and textContent only (no HTML parsing of data). Blob layout: see _dp_report_html._blob. */
(function () {
  "use strict";
  var D = null, current = null, lastFocus = null;
  var grid = document.getElementById("grid");
  var panel = document.getElementById("panel");
  var pbody = document.getElementById("pbody");
  var NCHECKS = 9;
  function data() {
    if (!D) { D = JSON.parse(document.getElementById("dp-data").textContent); }
    return D;
  }
  function s(i) { return i === null || i === undefined ? "" : D.s[i]; }
  function css(st) { return String(st).replace("/", ""); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function rich(parent, text) {
    var parts = String(text).split("`");
    if (parts.length % 2 === 0) { parent.appendChild(document.createTextNode(text)); return parent; }
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i]) { continue; }
      parent.appendChild(i % 2 ? el("code", null, parts[i]) : document.createTextNode(parts[i]));
    }
    return parent;
  }
  function cellOf(i, c) {
    var row = grid.tBodies[0].rows[i];
    return row ? row.cells[c + 1] : null;
  }
  function evidence(list, U) {
    if (!list.length) { return el("p", "empty", U.no_evidence); }
    var t = el("table", "ev"), hr = t.createTHead().insertRow();
    t.setAttribute("data-testid", "evidence");
    [U.item, U.value, U.source, U.result].forEach(function (h) { hr.appendChild(el("th", null, h)); });
    var tb = t.createTBody();
    list.forEach(function (e) {
      var r = tb.insertRow();
      r.appendChild(el("td", null, s(e[0])));
      var v = el("td");
      v.appendChild(e[5] ? el("pre", null, s(e[1])) : document.createTextNode(s(e[1])));
      if (e[2] !== null) {  /* the machine value stays available: tooltip and a small line */
        v.title = U.raw_value + ": " + s(e[2]);
        v.appendChild(el("span", "raw mono", s(e[2])));
      }
      r.appendChild(v);
      r.appendChild(el("td", "src", U.src[e[3]] || e[3] || ""));
      var ok = e[4] === true ? ["\u2714", "ok-t"] : e[4] === false ? ["\u2716", "ok-f"] : ["\u2013", "ok-n"];
      r.appendChild(el("td", "ok " + ok[1], ok[0]));
    });
    return t;
  }
  function logs(list, U) {
    var box = el("div");
    if (!list.length) { box.appendChild(el("p", "empty", U.no_logs)); return box; }
    list.forEach(function (l) {
      var d = el("div", "log sev-" + l[5]);
      var m = el("div", "lm");
      m.appendChild(el("span", "src", l[0] + (l[1] !== null ? ":" + l[1] : "")));
      if (l[2]) { m.appendChild(el("span", "utc", l[2])); }
      if (l[3]) { m.appendChild(el("span", "loc", l[3])); }
      if (l[4]) { m.appendChild(el("span", "cmp", l[4])); }
      m.appendChild(el("span", "sv", U.sev[l[5]] || l[5]));
      d.appendChild(m);
      var pre = el("pre", "msg");
      l[6].forEach(function (seg, k) {
        if (!seg) { return; }
        pre.appendChild(k % 2 ? el("mark", "ec", seg) : document.createTextNode(seg));
      });
      d.appendChild(pre);
      box.appendChild(d);
    });
    return box;
  }
  function codes(list, U) {  /* once per error code of the cell, with its possible cause */
    var ul = el("ul", "codes");
    ul.setAttribute("data-testid", "error-codes");
    list.forEach(function (h) {
      var info = D.codes[h[0]] || ["", ""], li = el("li");
      li.appendChild(el("code", null, h[0]));
      var txt = (h[1] !== null ? " (Win32 " + h[1] + ")" : "") + (info[0] ? " " + info[0] : "") + (info[1] ? " \u2014 " + info[1] : "");
      li.appendChild(document.createTextNode(txt));
      if (h[2] !== null) {
        var c = el("span", "cause");
        c.appendChild(el("b", null, U.cause + ": "));
        c.appendChild(document.createTextNode(s(h[2])));
        li.appendChild(c);
      }
      ul.appendChild(li);
    });
    return ul;
  }
  function dpInfo(row, U) {  /* role, content counts and stuck packages of the DP */
    var x = row[3], box = el("div");
    box.setAttribute("data-testid", "dp-info");
    if (!x) { return null; }
    box.appendChild(el("h3", null, U.this_dp));
    var ul = el("ul", "dpinfo");
    if (x.role) {
      var roles = [x.role.pull_dp ? U.role_pull : U.role_standard];
      if (x.role.pxe) { roles.push(U.role_pxe); }
      ul.appendChild(el("li", null, roles.join(" / ")));
      if (x.role.sources.length) {
        ul.appendChild(el("li", null, U.source_dps + ": " + x.role.sources.map(function (src) {
          return src[0] + " (" + U.rank + " " + (src[1] === null ? "?" : src[1]) + ", " +
            (src[2] === true ? U.reachable : src[2] === false ? U.unreachable : U.unknown) + ")";
        }).join(" / ")));
      }
    }
    if (x.content) {
      var c = x.content, q = function (v) { return v === null || v === undefined ? "?" : String(v); };
      ul.appendChild(el("li", null, U.content_counts.replace("{installed}", q(c.installed)).replace("{total}", q(c.total))
        .replace("{stuck}", q(c.stuck)) + (c.truncated ? " " + U.truncated : "")));
    }
    box.appendChild(ul);
    if (x.stuck) {
      box.appendChild(el("h3", null, U.stuck_packages));
      if (!x.stuck.length) { box.appendChild(el("p", "empty", U.no_stuck)); return box; }
      var t = el("table", "pk"), hr = t.createTHead().insertRow(), tb = t.createTBody();
      t.setAttribute("data-testid", "stuck-packages");
      [U.pkg_id, U.pkg_name, U.pkg_state, U.pkg_message, U.pkg_cause].forEach(function (h) { hr.appendChild(el("th", null, h)); });
      x.stuck.forEach(function (p) {
        var r = tb.insertRow();
        r.appendChild(el("td", "mono", p[0]));
        var n = el("td", null, p[1]);
        if (p[5]) { n.appendChild(el("span", "raw", " (" + U.pkg_version + " " + p[5] + ")")); }
        r.appendChild(n);
        r.appendChild(el("td", null, s(p[2])));
        var msg = el("td");
        if (p[3]) { msg.appendChild(el("code", null, p[3])); }
        if (p[4]) { msg.appendChild(document.createTextNode(" " + p[4])); }
        if (p[8] !== null) { msg.appendChild(el("div", null, s(p[8]))); }
        r.appendChild(msg);
        var cause = el("td");
        if (p[6] !== null) { cause.appendChild(rich(el("div"), s(p[6]))); }
        if (p[7] !== null) { var f = rich(el("div"), s(p[7])); f.insertBefore(el("b", null, U.pkg_fix + ": "), f.firstChild); cause.appendChild(f); }
        r.appendChild(cause);
      });
      box.appendChild(t);
    }
    return box;
  }
  function select(i, c, fromUser) {
    if (current) { var old = cellOf(current[0], current[1]); if (old) { old.classList.remove("sel"); } }
    current = [i, c];
    var cell = cellOf(i, c);
    if (cell) {
      cell.classList.add("sel");
      if (!fromUser) {  /* scroll only the grid box, never the page */
        var wrap = grid.parentNode, cr = cell.getBoundingClientRect(), wr = wrap.getBoundingClientRect();
        wrap.scrollTop += cr.top - wr.top - wrap.clientHeight / 2;
      }
    }
  }
  function show(fromUser, hash) {
    panel.hidden = false;
    document.body.classList.add("panel-open");
    panel.scrollTop = 0;
    if (location.hash !== hash) { location.hash = hash; }
    if (fromUser) { lastFocus = document.activeElement; panel.focus({ preventScroll: true }); }
  }
  function openContent(i, fromUser) {
    var d = data(), row = d.dps[i];
    if (!row) { return; }
    select(i, NCHECKS, fromUser);
    pbody.textContent = "";
    pbody.appendChild(el("div", "pdp", row[0]));
    pbody.appendChild(el("h2", null, d.ui.col_content));
    var info = dpInfo(row, d.ui);
    if (info) { pbody.appendChild(info); }
    show(fromUser, "#dp=" + encodeURIComponent(row[0]) + "&check=content");
  }
  function open(i, c, fromUser) {
    var d = data(), row = d.dps[i];
    if (c === NCHECKS) { openContent(i, fromUser); return; }
    if (!row || !row[2][c]) { return; }
    var f = row[2][c], U = d.ui;
    select(i, c, fromUser);
    pbody.textContent = "";
    pbody.appendChild(el("div", "pdp", row[0]));
    pbody.appendChild(el("h2", null, (c + 1) + ". " + s(f[2])));
    if (f[3] !== null && s(f[3]) !== s(f[2])) { pbody.appendChild(el("p", "phd", U.checklist_item + ": " + s(f[3]))); }
    var badge = el("span", "badge s-" + css(f[0]), U.sym[f[0]] + " " + U.st[f[0]]);
    badge.setAttribute("data-testid", "panel-status");
    pbody.appendChild(badge);
    pbody.appendChild(rich(el("p", "psum"), s(f[1])));
    pbody.appendChild(el("h3", null, U.evidence));
    pbody.appendChild(evidence(f[6], U));
    pbody.appendChild(el("h3", null, U.log_lines));
    pbody.appendChild(logs(f[7], U));
    if (f[8].length) {
      pbody.appendChild(el("h3", null, U.error_codes));
      pbody.appendChild(codes(f[8], U));
    }
    var rem = rich(el("p"), s(f[5])), box = el("div", "rem");
    box.appendChild(rem);
    if (f[0] === "PASS" || f[0] === "N/A") {
      var dr = el("details");
      dr.appendChild(el("summary", null, U.remediation));
      dr.appendChild(box);
      pbody.appendChild(dr);
    } else {
      pbody.appendChild(el("h3", null, U.remediation));
      pbody.appendChild(box);
    }
    var det = el("details");
    det.appendChild(el("summary", null, U.explanation));
    det.appendChild(rich(el("p"), s(f[4])));
    pbody.appendChild(det);
    var info = dpInfo(row, U);
    if (info) { pbody.appendChild(info); }
    show(fromUser, "#dp=" + encodeURIComponent(row[0]) + "&check=" + encodeURIComponent(d.checks[c]));
  }
  function close() {
    if (current) { var old = cellOf(current[0], current[1]); if (old) { old.classList.remove("sel"); } }
    current = null;
    panel.hidden = true;
    document.body.classList.remove("panel-open");
    if (location.hash) {
      try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { location.hash = ""; }
    }
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  }
  function fromHash() {
    var q = {}, h = location.hash.replace(/^#/, "");
    if (!h) { return; }
    h.split("&").forEach(function (kv) {
      var p = kv.split("=");
      try { q[decodeURIComponent(p[0])] = decodeURIComponent(p.slice(1).join("=")); } catch (e) { }
    });
    if (!q.dp) { return; }
    var d = data(), i = -1, c;
    for (var k = 0; k < d.dps.length; k++) { if (d.dps[k][0] === q.dp) { i = k; break; } }
    if (i < 0) { return; }
    c = q.check === "content" ? NCHECKS : q.check ? d.checks.indexOf(q.check) : -1;
    if (c < 0) {
      ["FAIL", "WARN", "UNKNOWN"].some(function (st) {
        c = d.dps[i][2].map(function (f) { return f[0]; }).indexOf(st);
        return c >= 0;
      });
      if (c < 0) { c = 0; }
    }
    if (current && current[0] === i && current[1] === c) { return; }
    open(i, c, false);
  }
  if (grid && grid.tBodies.length) {
    grid.tBodies[0].addEventListener("click", function (ev) {
      var td = ev.target.closest ? ev.target.closest("td") : null;
      if (!td || !td.parentNode || td.cellIndex < 1) { return; }
      open(td.parentNode.sectionRowIndex, td.cellIndex - 1, true);
    });
  }
  document.getElementById("pclose").addEventListener("click", close);
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && !panel.hidden) { close(); } });
  window.addEventListener("hashchange", fromHash);
  var q = document.getElementById("q"), only = document.getElementById("only"), nomatch = document.getElementById("nomatch");
  function filter() {
    if (!grid) { return; }
    var text = q.value.trim().toLowerCase(), rows = grid.tBodies[0].rows, shown = 0;
    grid.classList.toggle("only", only.checked);
    for (var k = 0; k < rows.length; k++) {
      var r = rows[k];
      var hit = !text || r.cells[0].textContent.toLowerCase().indexOf(text) >= 0;
      r.hidden = !hit;
      if (hit && !(only.checked && (r.classList.contains("r-PASS") || r.classList.contains("r-NA")))) { shown++; }
    }
    nomatch.hidden = shown > 0 || !rows.length;
  }
  if (q) { q.addEventListener("input", filter); only.addEventListener("change", filter); }
  fromHash();
})();
