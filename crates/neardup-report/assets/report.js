// neardup report: draws the views from the data embedded in this page.
// Views are URL fragments (#summary, #charts, #clusters, #cluster=R,
// #cuts, #record=R, #rejected), so each can be opened directly. Lists
// are paged; nothing is drawn until it is shown.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('neardup-data').textContent);
  var R = D.records;
  var N = R.k.length;
  var main = document.getElementById('main');
  var STATUS = ['kept', 'modified', 'removed', 'rejected'];
  var REASON = ['exact duplicate', 'near duplicate', 'repeat inside the record', 'repeated substring', 'repetitive'];
  var PAGE = { clusters: 50, members: 10, cuts: 50, rejected: 100 };
  var SVGNS = 'http://www.w3.org/2000/svg';

  // ---- helpers -------------------------------------------------------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function s(tag, attrs) {
    var el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function setAttrs(el, attrs) {
    if (!attrs) return;
    for (var k in attrs) {
      if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) continue;
      if (k === 'onclick') el.addEventListener('click', attrs[k]);
      else if (k === 'oninput') el.addEventListener('input', attrs[k]);
      else el.setAttribute(k, attrs[k]);
    }
  }
  function append(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function num(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'); }
  function pct(a, b) { return b ? (100 * a / b).toFixed(a && a * 1000 < b ? 2 : 1) + '%' : '–'; }
  function bytes(n) {
    if (n === null || n === undefined) return '–';
    if (n < 1e3) return n + ' B';
    if (n < 1e6) return (n / 1e3).toFixed(1) + ' kB';
    if (n < 1e9) return (n / 1e6).toFixed(1) + ' MB';
    return (n / 1e9).toFixed(2) + ' GB';
  }
  function fix(x, d) { return x === null || x === undefined ? '–' : Number(x).toFixed(d); }
  function code(t) { return h('code', null, t); }
  function pl(n, one, many) { return num(n) + ' ' + (n === 1 ? one : many); }

  // ---- records -------------------------------------------------------
  function src(r) { return D.sources[R.src[r]]; }
  function id(r) {
    if (R.id[r] !== null) return R.id[r];
    return R.line[r] === 0 ? src(r) : src(r) + ':' + R.line[r];
  }
  function where(r) { return R.line[r] === 0 ? src(r) : src(r) + ', line ' + R.line[r]; }
  var texts = new Map();
  // A record's text: shipped, or rebuilt from its kept record and diff.
  function text(r) {
    if (R.text[r] !== null) return R.text[r];
    if (texts.has(r)) return texts.get(r);
    var t = null;
    if (R.diff[r] && R.of[r] >= 0) {
      var a = text(R.of[r]);
      if (a !== null) {
        var ops = R.diff[r][0], lit = R.diff[r][1], pa = 0, pl = 0, out = [];
        for (var i = 0; i < ops.length; i += 4 + 3 * ops[i + 3]) {
          if (ops[i] === 0) out.push(a.slice(pa, pa + ops[i + 1]));
          else { out.push(lit.slice(pl, pl + ops[i + 2])); pl += ops[i + 2]; }
          pa += ops[i + 1];
        }
        t = out.join('');
      }
    }
    texts.set(r, t);
    return t;
  }
  function excerpt(r) { var t = text(r); return t !== null && utf8len(t) < R.len[r]; }
  function utf8len(t) { return new TextEncoder().encode(t).length; }
  function snippet(r, n) {
    var t = text(r);
    if (t === null) return R.status[r] === 3 ? '' : '(text not in the report)';
    t = t.replace(/\s+/g, ' ').trim();
    return t.length > n ? t.slice(0, n - 1) + '…' : t;
  }
  function reason(r) { return R.reason[r] >= 0 ? REASON[R.reason[r]] : ''; }
  function cutBytes(r) { var sp = R.spans[r]; if (!sp) return 0; var n = 0; sp.forEach(function (x) { n += x[3]; }); return n; }
  // What a diff says about a copy: same bytes, same text, or changed words.
  function verdict(r) {
    var d = R.diff[r];
    if (!d) return null;
    var ops = d[0], typo = false, words = 0;
    for (var i = 0; i < ops.length; i += 4 + 3 * ops[i + 3]) {
      if (ops[i] === 1) typo = true;
      if (ops[i] === 2) {
        var n = ops[i + 3];
        if (n === 0) words++;
        for (var j = 0; j < n; j++) if (ops[i + 4 + 3 * j] === 2) words++;
      }
    }
    if (words) return { cls: 'changed', text: words + (words === 1 ? ' change' : ' changes') + ' in words' };
    if (typo) return { cls: 'typo', text: 'same text, other typography' };
    return { cls: 'same', text: 'same bytes' };
  }
  var clusterOf = new Map();
  D.clusters.forEach(function (c, i) { clusterOf.set(c[0], i); c[1].forEach(function (m) { clusterOf.set(m, i); }); });

  // ---- routing -------------------------------------------------------
  function parse() {
    var raw = location.hash.replace(/^#/, '');
    var p = { view: 'summary' };
    if (!raw) return p;
    raw.split('&').forEach(function (part, i) {
      var eq = part.indexOf('=');
      var k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      var v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
      if (i === 0) p.view = k;
      p[k] = v;
    });
    return p;
  }
  // The fragment of a view: `#clusters&q=…&page=2`, `#cluster=17`.
  function link(p) {
    var head = (p.view === 'cluster' || p.view === 'record') ? p.view + '=' + p[p.view] : p.view;
    var parts = [head];
    ['q', 'page', 'from', 'span', 'cut'].forEach(function (k) {
      if (p[k] === undefined || p[k] === null || p[k] === '') return;
      if (k === 'page' && Number(p[k]) <= 1) return;
      parts.push(k + '=' + encodeURIComponent(p[k]));
    });
    return '#' + parts.join('&');
  }
  var VIEWS = { summary: viewSummary, charts: viewCharts, clusters: viewClusters, cluster: viewCluster, cuts: viewCuts, record: viewRecord, rejected: viewRejected };
  var TAB = { cluster: 'clusters', record: 'cuts' };
  function render() {
    var p = parse();
    var view = VIEWS[p.view] ? p.view : 'summary';
    p.view = view;
    var content;
    try { content = VIEWS[view](p); }
    catch (e) { content = h('p', { class: 'empty' }, 'This view could not be drawn: ' + e); }
    main.replaceChildren(content);
    main.setAttribute('data-view', view);
    document.querySelectorAll('#tabs a').forEach(function (a) {
      if (a.getAttribute('data-view') === (TAB[view] || view)) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    document.title = titleOf(view, p) + ' · neardup report';
    if (!focusTarget(p)) {
      main.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  }
  function titleOf(view, p) {
    if (view === 'cluster') return 'Cluster of ' + id(Number(p.cluster));
    if (view === 'record') return 'Record ' + id(Number(p.record));
    return { summary: 'Summary', charts: 'Charts', clusters: 'Clusters', cuts: 'Cuts and filters', rejected: 'Rejected' }[view];
  }

  // ---- paging and lists ----------------------------------------------
  function pager(p, total, size) {
    var pages = Math.max(1, Math.ceil(total / size));
    var page = Math.min(Math.max(1, Number(p.page) || 1), pages);
    var prev = Object.assign({}, p, { page: page - 1 });
    var next = Object.assign({}, p, { page: page + 1 });
    var nav = h('nav', { class: 'pager', 'aria-label': 'Pages' },
      page > 1 ? h('a', { href: link(prev), rel: 'prev', 'data-nav': 'prev-page' }, '← previous page') : h('span', { 'aria-disabled': 'true' }, '← previous page'),
      h('span', { 'aria-current': 'page' }, 'page ' + page + ' of ' + pages),
      page < pages ? h('a', { href: link(next), rel: 'next', 'data-nav': 'next-page' }, 'next page →') : h('span', { 'aria-disabled': 'true' }, 'next page →'));
    return { page: page, pages: pages, from: (page - 1) * size, to: Math.min(total, page * size), nav: pages > 1 ? nav : null };
  }
  function search(p, placeholder) {
    var input = h('input', { type: 'search', id: 'search', placeholder: placeholder, 'aria-label': placeholder, value: p.q || '' });
    var timer = null;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = Object.assign({}, parse(), { q: input.value, page: 1 });
        history.replaceState(null, '', link(q));
        render();
        var again = document.getElementById('search');
        if (again) { again.focus(); again.setSelectionRange(again.value.length, again.value.length); }
      }, 200);
    });
    return input;
  }
  var hay = new Map();
  function matches(r, q) {
    if (!hay.has(r)) hay.set(r, (id(r) + '\n' + (text(r) || '')).toLowerCase());
    return hay.get(r).indexOf(q) >= 0;
  }
  function selectable(tbody) {
    tbody.querySelectorAll('tr').forEach(function (tr) { tr.setAttribute('tabindex', '-1'); });
    return tbody;
  }

  // ---- summary -------------------------------------------------------
  function viewSummary() {
    var S = D.summary;
    var box = h('section', { 'aria-labelledby': 'h-summary' }, h('h2', { id: 'h-summary' }, 'Summary'));
    var card = function (key, label, n, of) {
      return h('li', { class: 'card' }, h('span', { class: 'n', id: 'count-' + key }, num(n)),
        h('span', { class: 'l' }, label + (of ? ' · ' + pct(n, of) : '')));
    };
    box.append(h('ul', { class: 'cards' },
      card('read', 'read', S.read), card('kept', 'kept', S.kept, S.read), card('modified', 'modified', S.modified, S.read),
      card('removed', 'removed', S.removed, S.read), card('rejected', 'rejected', S.rejected, S.read)));
    var run = h('table', { class: 'kv' }, h('tbody', null,
      row('Inputs', num(S.inputs) + (S.inputs === 1 ? ' file' : ' files')),
      row('Bytes in', bytes(S.bytes_in)),
      row('Bytes out', S.bytes_out === null ? 'not in the ledger (a report made by the run, with --report, has it)' : bytes(S.bytes_out)),
      row('Time', S.seconds === null ? 'not in the ledger' : fix(S.seconds, 2) + ' s'),
      row('Removed', num(S.removed_exact) + ' exact duplicates, ' + num(S.removed_near) + ' near duplicates, ' + num(S.removed_repetition) + ' repetitive, ' + num(S.removed_substring) + ' emptied by substring cuts'),
      row('Cut', num(S.spans_cut) + ' spans, ' + bytes(S.bytes_cut) + ' of text, from ' + num(S.modified) + ' modified records'),
      row('Clusters', pl(D.clusters.length, 'kept record', 'kept records') + ' with removed copies'),
      row('neardup', D.version),
      row('Ledger', D.ledger.indexOf('none (') === 0 ? D.ledger : code(D.ledger))));
    var grid = h('div', { class: 'grid2' }, h('div', null, h('h3', null, 'Run'), run));
    if (D.banding) grid.append(banding());
    box.append(grid);
    if (S.substrings) {
      var u = S.substrings;
      box.append(h('h3', null, 'Repeated substrings'), h('table', { class: 'kv' }, h('tbody', null,
        row('Searched', num(u.records) + ' records, ' + bytes(u.canonical_bytes) + ' of canonical text'),
        row('Shortest repeat cut', num(u.min_len) + ' canonical bytes'),
        row('Cut', num(u.cuts) + ' spans, ' + bytes(u.bytes_cut) + ', from ' + num(u.records_cut) + ' records'))));
    }
    var B = D.budget;
    box.append(h('h3', null, 'This report'), h('table', { class: 'kv' }, h('tbody', null,
      row('Records listed', num(N) + ' (not kept, or named by one that was not)'),
      row('Text held', bytes(B.text_bytes) + '; each text up to ' + bytes(B.max_text_bytes) + ', ' + bytes(B.max_total_text) + ' in all'),
      row('Texts left out', B.texts_omitted ? num(B.texts_omitted) + ' records past the text budget are listed without text' : 'none'))));
    box.append(h('h3', null, 'Settings'), h('p', { class: 'note' }, 'Every setting that changes results, from the ledger header.'), settingsTable(D.settings));
    return box;
  }
  function row(k, v) { return h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v)); }
  function settingsTable(settings) {
    var rows = [];
    (function walk(prefix, v) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        var keys = Object.keys(v);
        if (!keys.length) rows.push([prefix, '{}']);
        keys.forEach(function (k) { walk(prefix ? prefix + '.' + k : k, v[k]); });
      } else if (Array.isArray(v) && v.length && Array.isArray(v[0])) {
        v.forEach(function (pair) { rows.push([prefix + '.' + pair[0], JSON.stringify(typeof pair[1] === 'number' ? Number(pair[1].toFixed(4)) : pair[1])]); });
      } else rows.push([prefix, JSON.stringify(v)]);
    })('', settings);
    return h('table', { class: 'kv', id: 'settings' }, h('tbody', null, rows.map(function (r) { return h('tr', null, h('th', { scope: 'row' }, code(r[0])), h('td', null, code(r[1]))); })));
  }
  function banding() {
    var b = D.banding, n = D.summary.near;
    var el = h('div', null, h('h3', null, 'Near duplicates: LSH banding'),
      h('p', null, b.bands + ' bands × ' + b.rows + ' rows; threshold ' + b.threshold + ' (' + b.similarity + '). ',
        'A pair becomes a candidate with probability ' + b.points.map(function (pt) { return fix(pt[0], 2) + ' → ' + fix(pt[1], 3); }).join(', ') + '.'),
      n ? h('p', null, num(n.candidates) + ' candidate pairs, ' + num(n.verified) + ' verified, ' + num(n.removed) + ' removed.') : null);
    el.append(lineChart('S-curve: probability that a pair becomes a candidate, by its ' + b.similarity + ' similarity', b.curve, b.threshold, b.points));
    return el;
  }

  // ---- charts --------------------------------------------------------
  var BIG = { W: 720, H: 250, M: { l: 56, r: 16, t: 22, b: 46 } };
  var SMALL = { W: 340, H: 190, M: { l: 44, r: 10, t: 20, b: 40 } };
  var W = BIG.W;
  function svgRoot(label, d) {
    return s('svg', { class: 'chart', viewBox: '0 0 ' + d.W + ' ' + d.H, role: 'img', 'aria-label': label },
      s('defs', null, s('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
        s('rect', { width: 6, height: 6, fill: 'var(--bg)' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: 'var(--bar2)', 'stroke-width': 3 }))),
      s('title', null, label));
  }
  // An axis maximum of four equal whole steps (1, 2 or 5 times a power of
  // ten each) at or above v; fractional steps only when asked.
  function niceMax(v, whole) {
    var step = Math.max(v, 0) / 4;
    if (step <= 0) return whole ? 4 : 1;
    var p = Math.pow(10, Math.floor(Math.log10(step))), m = step / p;
    step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
    if (whole) step = Math.max(1, Math.ceil(step));
    return step * 4;
  }
  function yAxis(svg, max, label, d) {
    var W = d.W, H = d.H, M = d.M, ih = H - M.t - M.b;
    for (var i = 0; i <= 4; i++) {
      var y = M.t + ih - ih * i / 4;
      svg.append(s('line', { class: i ? 'grid' : 'axis', x1: M.l, x2: W - M.r, y1: y, y2: y }));
      svg.append(s('text', { x: M.l - 6, y: y + 4, 'text-anchor': 'end' }, num(Math.round(max * i / 4 * 100) / 100)));
    }
    svg.append(s('text', { x: 12, y: M.t + ih / 2, transform: 'rotate(-90 12 ' + (M.t + ih / 2) + ')', 'text-anchor': 'middle' }, label));
  }
  // Bars with their values written above them (no colour needed to read).
  // With `edges`, labels mark where each bin starts (a histogram of a
  // continuous value), else they name the bar.
  function barChart(title, labels, values, xLabel, yLabel, mark, edges, d) {
    d = d || BIG;
    var W = d.W, H = d.H, M = d.M;
    var svg = svgRoot(title, d);
    var max = niceMax(Math.max.apply(null, values.concat([0])), true);
    yAxis(svg, max, yLabel, d);
    var iw = W - M.l - M.r, ih = H - M.t - M.b, n = values.length, bw = iw / Math.max(n, 1);
    var every = Math.ceil(n / (d === BIG ? 12 : 5)), width = Math.min(bw * 0.76, 56);
    values.forEach(function (v, i) {
      var bh = ih * v / max, x = M.l + i * bw;
      svg.append(s('rect', { class: 'bar', x: x + (bw - width) / 2, y: M.t + ih - bh, width: width, height: Math.max(bh, v ? 1 : 0) }, s('title', null, labels[i] + ': ' + num(v))));
      if (v && n <= 25) svg.append(s('text', { x: x + bw / 2, y: M.t + ih - bh - 4, 'text-anchor': 'middle' }, num(v)));
      if (i % every === 0) {
        if (edges) svg.append(s('line', { class: 'axis', x1: x, x2: x, y1: M.t + ih, y2: M.t + ih + 4 }));
        svg.append(s('text', { x: edges ? x : x + bw / 2, y: H - M.b + 16, 'text-anchor': 'middle' }, labels[i]));
      }
    });
    if (mark) {
      var x = M.l + iw * mark.at;
      svg.append(s('line', { class: 'mark', x1: x, x2: x, y1: M.t - 8, y2: M.t + ih }));
      svg.append(s('text', { class: 'marklabel', x: x + 4, y: M.t - 8 }, mark.label));
    }
    svg.append(s('text', { x: M.l + iw / 2, y: H - 8, 'text-anchor': 'middle' }, xLabel));
    return svg;
  }
  function lineChart(title, points, threshold, marks) {
    var W = BIG.W, H = BIG.H, M = BIG.M;
    var svg = svgRoot(title, BIG);
    yAxis(svg, 1, 'P(candidate)', BIG);
    var iw = W - M.l - M.r, ih = H - M.t - M.b;
    var X = function (v) { return M.l + iw * v; }, Y = function (v) { return M.t + ih - ih * v; };
    for (var i = 0; i <= 10; i++) svg.append(s('text', { x: X(i / 10), y: H - M.b + 14, 'text-anchor': 'middle' }, (i / 10).toFixed(1)));
    svg.append(s('path', { class: 'curve', d: points.map(function (p, i) { return (i ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1); }).join(' ') }));
    svg.append(s('line', { class: 'mark', x1: X(threshold), x2: X(threshold), y1: M.t - 8, y2: M.t + ih }));
    svg.append(s('text', { class: 'marklabel', x: X(threshold) + 4, y: M.t - 8 }, 'threshold ' + threshold));
    // The points, labelled in a column at the lower right.
    (marks || []).forEach(function (p, i) {
      svg.append(s('circle', { class: 'point', cx: X(p[0]), cy: Y(p[1]), r: 4 }, s('title', null, fix(p[0], 2) + ' → ' + fix(p[1], 3))));
      svg.append(s('text', { x: W - M.r - 4, y: M.t + ih - 10 - 15 * (marks.length - 1 - i), 'text-anchor': 'end' }, 'at ' + fix(p[0], 2) + ': ' + fix(p[1], 3)));
    });
    svg.append(s('text', { x: M.l + iw / 2, y: H - 8, 'text-anchor': 'middle' }, 'similarity'));
    return h('figure', null, svg);
  }
  function numbers(head, rows) {
    return h('details', { class: 'numbers' }, h('summary', null, 'Numbers'),
      h('table', { class: 'nums' }, h('thead', null, h('tr', null, head.map(function (x, i) { return h('th', { class: i ? 'n' : null, scope: 'col' }, x); }))),
        h('tbody', null, rows.map(function (r) { return h('tr', null, r.map(function (x, i) { return h('td', { class: i ? 'n' : null }, x); })); }))));
  }
  function figure(id, caption, note, chart, table) {
    return h('figure', { id: id }, h('figcaption', null, caption), note ? h('p', { class: 'note' }, note) : null, chart, table);
  }
  function sizeBuckets(sizes) {
    if (sizes.length <= 12) return sizes.map(function (x) { return [String(x[0]), x[1]]; });
    var edges = [2, 3, 4, 5, 6, 11, 21, 51, 101, 1001, 10001, Infinity], out = [];
    for (var i = 0; i + 1 < edges.length; i++) {
      var lo = edges[i], hi = edges[i + 1] - 1, n = 0;
      sizes.forEach(function (x) { if (x[0] >= lo && x[0] <= hi) n += x[1]; });
      out.push([lo === hi ? String(lo) : hi === Infinity ? lo + '+' : lo + '–' + hi, n]);
    }
    while (out.length && !out[out.length - 1][1]) out.pop();
    return out;
  }
  function binLabel(b) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], lo = Math.pow(2, b), i = 0;
    while (lo >= 1024 && i < u.length - 1) { lo /= 1024; i++; }
    return lo + ' ' + u[i] + '+';
  }
  function viewCharts() {
    var C = D.charts;
    var box = h('section', { 'aria-labelledby': 'h-charts' }, h('h2', { id: 'h-charts' }, 'Charts'));
    var sizes = sizeBuckets(C.sizes);
    box.append(figure('chart-sizes', 'Cluster sizes', 'A cluster is a kept record and the records removed as its copies; its size counts them all. ' + pl(D.clusters.length, 'cluster', 'clusters') + '.',
      barChart('Clusters by size', sizes.map(function (x) { return x[0]; }), sizes.map(function (x) { return x[1]; }), 'records in the cluster', 'clusters'),
      numbers(['size', 'clusters'], sizes.map(function (x) { return [x[0], num(x[1])]; }))));
    var sim = C.similarity, nb = sim.bins.length, lo = 0;
    var first = sim.bins.findIndex(function (v) { return v > 0; });
    var t = sim.threshold;
    lo = Math.max(0, Math.min(first < 0 ? nb : first, t === null ? nb : Math.floor(t * nb)) - 5);
    var bins = sim.bins.slice(lo), labels = bins.map(function (_, i) { return ((lo + i) / nb).toFixed(2); });
    box.append(figure('chart-similarity', 'Similarity of near duplicates to their kept record',
      pl(sim.bins.reduce(function (a, b) { return a + b; }, 0), 'near duplicate', 'near duplicates') + ' removed; ' + pl(sim.exact, 'exact duplicate', 'exact duplicates') + ' (similarity 1) not drawn.',
      barChart('Near duplicates by similarity', labels, bins, 'similarity (bins of ' + (1 / nb).toFixed(2) + ')', 'records',
        t === null ? null : { at: (t * nb - lo) / bins.length, label: 'threshold ' + t }, true),
      numbers(['similarity from', 'records'], bins.map(function (v, i) { return [labels[i], num(v)]; }).filter(function (x, i) { return bins[i]; }))));
    box.append(sourcesChart(C.sources));
    box.append(figure('chart-cut', 'Bytes cut per record', 'Records with spans cut (modified, or removed once cut), by the bytes cut from each.',
      barChart('Records by bytes cut', C.cut.map(function (x) { return binLabel(x[0]); }), C.cut.map(function (x) { return x[1]; }), 'bytes cut from the record (at least)', 'records'),
      numbers(['bytes cut, at least', 'records'], C.cut.map(function (x) { return [binLabel(x[0]), num(x[1])]; }))));
    if (C.repetition) box.append(repetitionCharts(C.repetition));
    else box.append(h('h3', null, 'Repetition statistics'), h('p', { class: 'note' }, 'Not in this ledger (dedup computes them when it writes a ledger or report).'));
    return box;
  }
  function sourcesChart(sc) {
    var rows = sc.rows.slice();
    if (sc.other) rows.push([sc.other[0] + ' other ' + sc.by + (sc.other[0] === 1 ? '' : sc.by === 'file' ? 's' : ' groups'), sc.other[1]]);
    var bh = 22, lw = 230, iw = W - lw - 150, height = 30 + rows.length * bh;
    var svg = s('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + height, role: 'img', 'aria-label': 'Share of records removed and modified per ' + sc.by },
      s('defs', null, s('pattern', { id: 'hatch2', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
        s('rect', { width: 6, height: 6, fill: 'var(--bg)' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: 'var(--bar2)', 'stroke-width': 3 }))));
    svg.append(s('rect', { class: 'bar', x: lw, y: 4, width: 12, height: 12 }), s('text', { x: lw + 16, y: 14 }, 'removed'),
      s('rect', { x: lw + 90, y: 4, width: 12, height: 12, fill: 'url(#hatch2)', stroke: 'var(--bar2)' }), s('text', { x: lw + 106, y: 14 }, 'modified (hatched)'));
    rows.forEach(function (r, i) {
      var c = r[1], y = 26 + i * bh, rw = c[0] ? iw * c[1] / c[0] : 0, mw = c[0] ? iw * c[2] / c[0] : 0;
      var name = r[0].length > 34 ? '…' + r[0].slice(-33) : r[0];
      svg.append(s('text', { x: lw - 6, y: y + 14, 'text-anchor': 'end' }, s('title', null, r[0]), name));
      svg.append(s('rect', { class: 'grid', x: lw, y: y + 2, width: iw, height: bh - 6, fill: 'none' }));
      svg.append(s('rect', { class: 'bar', x: lw, y: y + 2, width: rw, height: bh - 6 }));
      svg.append(s('rect', { x: lw + rw, y: y + 2, width: mw, height: bh - 6, fill: 'url(#hatch2)', stroke: mw ? 'var(--bar2)' : 'none' }));
      svg.append(s('text', { x: lw + iw + 6, y: y + 14 }, pct(c[1], c[0]) + ' / ' + pct(c[2], c[0]) + ' of ' + num(c[0])));
    });
    return figure('chart-sources', 'Share removed per ' + sc.by, 'Removed and modified records as a share of the records read from each ' + sc.by + '.', svg,
      numbers([sc.by, 'read', 'removed', 'modified', 'rejected'], rows.map(function (r) { return [r[0], num(r[1][0]), num(r[1][1]) + ' (' + pct(r[1][1], r[1][0]) + ')', num(r[1][2]), num(r[1][3])]; })));
  }
  function repetitionCharts(rep) {
    var box = h('section', { id: 'chart-repetition' }, h('h3', null, 'Repetition statistics (Gopher)'),
      h('p', { class: 'note' }, 'Distribution over ' + num(rep.records) + ' records; a dashed line marks the threshold above which records were removed.'));
    var grid = h('div', { class: 'small-multiples' });
    rep.names.forEach(function (name, i) {
      var bins = rep.bins[i], nb = bins.length, t = rep.thresholds[name];
      var labels = bins.map(function (_, j) { return (j / nb).toFixed(2); });
      grid.append(h('figure', null, h('figcaption', null, code(name)),
        barChart(name + ' over ' + rep.records + ' records', labels, bins, 'fraction', 'records', t === undefined ? null : { at: t, label: '> ' + t }, true, SMALL)));
    });
    box.append(grid);
    return box;
  }

  // ---- clusters ------------------------------------------------------
  function clusterList(q) {
    if (!q) return D.clusters.map(function (_, i) { return i; });
    q = q.toLowerCase();
    var out = [];
    D.clusters.forEach(function (c, i) {
      if (matches(c[0], q) || c[1].some(function (m) { return matches(m, q); })) out.push(i);
    });
    return out;
  }
  function reasons(members) {
    var n = {};
    members.forEach(function (m) { var r = reason(m) || 'removed'; n[r] = (n[r] || 0) + 1; });
    return Object.keys(n).map(function (k) { return num(n[k]) + ' ' + k + (n[k] === 1 ? '' : 's'); }).join(', ');
  }
  function simRange(members) {
    var v = members.map(function (m) { return R.sim[m]; }).filter(function (x) { return x !== null; });
    if (!v.length) return '–';
    var lo = Math.min.apply(null, v), hi = Math.max.apply(null, v);
    return lo === hi ? fix(lo, 2) : fix(lo, 2) + '–' + fix(hi, 2);
  }
  function viewClusters(p) {
    var list = clusterList(p.q || '');
    var pg = pager(p, list.length, PAGE.clusters);
    var box = h('section', { 'aria-labelledby': 'h-clusters' }, h('h2', { id: 'h-clusters' }, 'Clusters'),
      h('p', { class: 'note' }, 'Each kept record with the records removed as its copies, largest clusters first.'),
      h('div', { class: 'toolbar' }, search(p, 'Search by id or text'),
        h('span', { id: 'cluster-count' }, pl(list.length, 'cluster', 'clusters') + (p.q ? ' match' : '')), pg.nav));
    if (!list.length) { box.append(h('p', { class: 'empty' }, D.clusters.length ? 'No cluster matches.' : 'No record was removed as a copy of another.')); return box; }
    var tbody = h('tbody');
    list.slice(pg.from, pg.to).forEach(function (ci, i) {
      var c = D.clusters[ci], kept = c[0];
      tbody.append(h('tr', { 'data-href': '#cluster=' + kept },
        h('td', { class: 'n' }, num(ci + 1)), h('td', { class: 'n' }, num(c[1].length + 1)),
        h('td', null, h('a', { href: '#cluster=' + kept }, id(kept))), h('td', null, reasons(c[1])),
        h('td', { class: 'n' }, simRange(c[1])), h('td', { class: 'snip' }, snippet(kept, 120))));
    });
    box.append(h('table', { class: 'list', id: 'cluster-list' }, h('thead', null, h('tr', null,
      h('th', { class: 'n', scope: 'col' }, '#'), h('th', { class: 'n', scope: 'col' }, 'size'), h('th', { scope: 'col' }, 'kept record'),
      h('th', { scope: 'col' }, 'removed'), h('th', { class: 'n', scope: 'col' }, 'similarity'), h('th', { scope: 'col' }, 'text'))), selectable(tbody)));
    return box;
  }
  function metaList(r) {
    var items = [
      h('li', null, 'from ', h('b', null, where(r))),
      h('li', null, h('b', null, STATUS[R.status[r]]), reason(r) ? ' · ' + reason(r) : ''),
      R.sim[r] !== null && R.status[r] === 2 ? h('li', null, 'similarity ', h('b', null, fix(R.sim[r], 2))) : null,
      R.status[r] !== 3 ? h('li', null, h('b', null, bytes(R.len[r])), ' of text', excerpt(r) ? ' (the report holds the first ' + bytes(utf8len(text(r))) + ')' : '') : null,
      R.status[r] !== 3 && text(r) === null ? h('li', null, 'text not in the report (past its text budget)') : null,
      h('li', null, 'record ', h('b', null, num(R.k[r] + 1)), ' in input order')];
    return h('ul', { class: 'meta' }, items);
  }
  function viewCluster(p) {
    var kept = Number(p.cluster), ci = clusterOf.get(kept);
    if (!(kept >= 0 && kept < N) || ci === undefined || D.clusters[ci][0] !== kept) return h('p', { class: 'empty' }, 'No cluster is kept around record ' + p.cluster + '.');
    var c = D.clusters[ci], members = c[1];
    var pg = pager(p, members.length, PAGE.members);
    var prev = ci > 0 ? D.clusters[ci - 1][0] : null, next = ci + 1 < D.clusters.length ? D.clusters[ci + 1][0] : null;
    var box = h('section', { 'aria-labelledby': 'h-cluster' },
      h('nav', { class: 'crumbs', 'aria-label': 'Clusters' }, h('a', { href: '#clusters', 'data-nav': 'up' }, '↑ all clusters'),
        prev !== null ? h('a', { href: '#cluster=' + prev, 'data-nav': 'prev' }, '← previous cluster') : null,
        next !== null ? h('a', { href: '#cluster=' + next, 'data-nav': 'next' }, 'next cluster →') : null),
      h('h2', { id: 'h-cluster' }, 'Cluster ' + num(ci + 1) + ': ', code(id(kept))),
      metaList(kept),
      h('p', null, num(members.length + 1) + ' records: the kept record and ' + reasons(members) + '. ',
        h('a', { href: '#record=' + kept }, 'Open the kept record alone'), '.'),
      h('ul', { class: 'legend' }, h('li', null, h('b', null, '≈'), ' same text, other typography (quotes, dashes, spaces, case)'),
        h('li', null, h('del', { class: 'chg' }, 'solid underline'), ' only in the kept record'),
        h('li', null, h('ins', { class: 'chg' }, 'dashed underline'), ' only in the removed copy'),
        h('li', null, h('span', { class: 'typo' }, 'dotted'), ' same word, other typography')),
      h('div', { class: 'toolbar' }, pg.nav));
    members.slice(pg.from, pg.to).forEach(function (m) { box.append(member(m)); });
    if (pg.pages > 1) box.append(h('div', { class: 'toolbar' }, pager(p, members.length, PAGE.members).nav));
    return box;
  }
  function member(m) {
    var v = verdict(m);
    var art = h('article', { class: 'member', id: 'member-' + m, 'aria-labelledby': 'h-member-' + m },
      h('header', null, h('h3', { id: 'h-member-' + m }, 'Removed ', code(id(m))),
        h('span', null, reason(m) + (R.sim[m] !== null ? ', similarity ' + fix(R.sim[m], 2) : '')),
        v ? h('span', { class: 'badge ' + v.cls }, v.text) : null,
        h('span', { class: 'muted' }, where(m)),
        h('a', { href: '#record=' + m }, 'open record')));
    var body = h('div', { class: 'body' });
    art.append(body);
    if (!R.diff[m]) {
      body.append(h('p', { class: 'note' }, 'No side-by-side view: the report holds the text of ' + (text(R.of[m]) === null ? 'neither record (past its text budget).' : 'the kept record only (past its text budget).')));
      return art;
    }
    var table = diffTable(m);
    if (v && v.cls === 'same') {
      body.append(h('details', null, h('summary', null, 'Byte for byte the kept record: show the text'), table));
    } else body.append(table);
    if (R.spans[m]) body.append(spanTable(m));
    return art;
  }
  function lines(T, a, b) {
    var out = [], p = a;
    while (p < b) {
      var nl = T.indexOf('\n', p);
      if (nl < 0 || nl >= b) nl = -1;
      var end = nl < 0 ? b : nl, ce = end;
      if (nl >= 0 && ce > p && T.charCodeAt(ce - 1) === 13) ce--;
      out.push([p, ce]);
      p = nl < 0 ? b : nl + 1;
    }
    return out;
  }
  function lineNodes(T, ln, spans, side) {
    var out = [], p = ln[0];
    spans.forEach(function (sp) {
      var a = Math.max(sp[0], ln[0]), b = Math.min(sp[1], ln[1]);
      // Marks cover words, not the white space around them.
      while (a < b && /\s/.test(T[a])) a++;
      while (b > a && /\s/.test(T[b - 1])) b--;
      if (a >= b) return;
      if (a > p) out.push(T.slice(p, a));
      if (sp[2] === 2) out.push(h(side === 'a' ? 'del' : 'ins', { class: 'chg' }, T.slice(a, b)));
      else out.push(h('span', { class: 'typo', title: 'same word, other typography' }, T.slice(a, b)));
      p = b;
    });
    if (p < ln[1]) out.push(T.slice(p, ln[1]));
    return out;
  }
  var MARK = { 0: '', 1: '≈', 2: '~' };
  var MARK_TITLE = { 1: 'same text after folding quotes, dashes, spaces and case', 2: 'changed' };
  function diffTable(m) {
    var A = text(R.of[m]), B = text(m), ops = R.diff[m][0];
    var tbody = h('tbody'), pa = 0, pb = 0;
    for (var i = 0; i < ops.length; i += 4 + 3 * ops[i + 3]) {
      var tag = ops[i], la = ops[i + 1], lb = ops[i + 2], n = ops[i + 3], wa = [], wb = [], qa = pa, qb = pb;
      for (var j = 0; j < n; j++) {
        var t = ops[i + 4 + 3 * j], x = ops[i + 5 + 3 * j], y = ops[i + 6 + 3 * j];
        if (t) { wa.push([qa, qa + x, t]); wb.push([qb, qb + y, t]); }
        qa += x; qb += y;
      }
      var LA = lines(A, pa, pa + la), LB = lines(B, pb, pb + lb), rows = Math.max(LA.length, LB.length);
      var hidden = [];
      for (var k = 0; k < rows; k++) {
        var cls = ['equal', 'typography', 'changed'][tag];
        var mark = MARK[tag];
        if (tag === 2 && !LB[k]) mark = '−';
        if (tag === 2 && !LA[k]) mark = '+';
        var tr = h('tr', { class: cls },
          h('td', { class: 'm', title: MARK_TITLE[tag] || null }, mark),
          h('td', { class: 'a' }, LA[k] ? lineNodes(A, LA[k], wa, 'a') : null),
          h('td', { class: 'b' }, LB[k] ? lineNodes(B, LB[k], wb, 'b') : null));
        // Long runs of equal lines fold to their ends.
        if (tag === 0 && rows > 8 && k >= 3 && k < rows - 3) { tr.hidden = true; hidden.push(tr); }
        if (tag === 0 && rows > 8 && k === 3) tbody.append(foldRow(rows - 6, hidden));
        tbody.append(tr);
      }
      pa += la; pb += lb;
    }
    return h('table', { class: 'diff' }, h('colgroup', null, h('col', { class: 'mark' }), h('col'), h('col')),
      h('thead', null, h('tr', null, h('th', { scope: 'col', 'aria-label': 'how the lines compare' }), h('th', { scope: 'col' }, 'kept: ', code(id(R.of[m]))), h('th', { scope: 'col' }, 'removed: ', code(id(m))))), tbody);
  }
  function foldRow(n, hidden) {
    var btn = h('button', { type: 'button', 'aria-expanded': 'false' }, 'show ' + num(n) + ' equal lines');
    btn.addEventListener('click', function () {
      var open = btn.getAttribute('aria-expanded') === 'true';
      hidden.forEach(function (tr) { tr.hidden = open; });
      btn.setAttribute('aria-expanded', String(!open));
      btn.textContent = (open ? 'show ' : 'hide ') + num(n) + ' equal lines';
    });
    return h('tr', { class: 'fold' }, h('td', { class: 'm' }, '⋮'), h('td', { colspan: 2 }, btn));
  }

  // ---- cuts, records -------------------------------------------------
  function viewCuts(p) {
    var q = (p.q || '').toLowerCase();
    var list = q ? D.cuts.filter(function (r) { return matches(r, q); }) : D.cuts;
    var pg = pager(p, list.length, PAGE.cuts);
    var box = h('section', { 'aria-labelledby': 'h-cuts' }, h('h2', { id: 'h-cuts' }, 'Cuts and filters'),
      h('p', { class: 'note' }, 'Records with spans cut (repeats inside a record, repeated substrings) and records removed for their repetition statistics, most bytes cut first.'),
      h('div', { class: 'toolbar' }, search(p, 'Search by id or text'), h('span', { id: 'cuts-count' }, pl(list.length, 'record', 'records')), pg.nav));
    if (!list.length) { box.append(h('p', { class: 'empty' }, D.cuts.length ? 'No record matches.' : 'No span was cut and no record was filtered.')); return box; }
    var tbody = h('tbody');
    list.slice(pg.from, pg.to).forEach(function (r) {
      tbody.append(h('tr', { 'data-href': '#record=' + r },
        h('td', null, h('a', { href: '#record=' + r }, id(r))), h('td', null, STATUS[R.status[r]]), h('td', null, reason(r) + (R.err[r] >= 0 && R.status[r] === 2 ? ' (' + D.errors[R.err[r]] + ')' : '')),
        h('td', { class: 'n' }, R.spans[r] ? num(R.spans[r].length) : '–'), h('td', { class: 'n' }, bytes(cutBytes(r))), h('td', { class: 'snip' }, snippet(r, 100))));
    });
    box.append(h('table', { class: 'list', id: 'cuts-list' }, h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'record'), h('th', { scope: 'col' }, 'status'),
      h('th', { scope: 'col' }, 'why'), h('th', { class: 'n', scope: 'col' }, 'spans'), h('th', { class: 'n', scope: 'col' }, 'cut'), h('th', { scope: 'col' }, 'text'))), selectable(tbody)));
    return box;
  }
  // Spans of other records whose first copy is in record r.
  function copiesIn(r) {
    var out = [];
    for (var x = 0; x < N; x++) {
      var sp = R.spans[x];
      if (!sp) continue;
      sp.forEach(function (v, i) { if (v[4] === r && v[5] >= 0) out.push({ from: x, span: i, at: v[5], len: v[6] }); });
    }
    return out;
  }
  function spanTable(r) {
    var tbody = h('tbody');
    R.spans[r].forEach(function (v, i) {
      var first = null;
      if (v[4] >= 0) {
        var label = v[4] === r ? 'this record' : id(v[4]);
        first = h('a', { href: '#record=' + v[4] + '&from=' + r + '&span=' + i }, label + ', byte ' + num(v[7]));
      } else if (v[7] >= 0) first = 'byte ' + num(v[7]) + ' of a record not in the report';
      tbody.append(h('tr', null, h('td', { class: 'n' }, v[0] >= 0 ? h('a', { href: '#record=' + r + '&cut=' + i }, String(i + 1)) : String(i + 1)),
        h('td', { class: 'n' }, num(v[2])), h('td', { class: 'n' }, num(v[3])), h('td', null, first || '–'),
        h('td', null, v[0] < 0 ? 'past the excerpt the report holds' : '')));
    });
    return h('table', { class: 'list spans' }, h('caption', { class: 'note' }, 'Spans cut (byte offsets in the record\'s text, as in the ledger)'),
      h('thead', null, h('tr', null, h('th', { class: 'n', scope: 'col' }, 'span'), h('th', { class: 'n', scope: 'col' }, 'offset'), h('th', { class: 'n', scope: 'col' }, 'length'),
        h('th', { scope: 'col' }, 'first copy'), h('th', { scope: 'col' }, ''))), tbody);
  }
  // The text with its cut spans and the first copies it holds, in place.
  function markedText(r) {
    var T = text(r);
    var ranges = [];
    (R.spans[r] || []).forEach(function (v, i) { if (v[0] >= 0 && v[1] > 0) ranges.push({ a: v[0], b: v[0] + v[1], kind: 'cut', i: i }); });
    copiesIn(r).forEach(function (c) { if (c.len > 0) ranges.push({ a: c.at, b: c.at + c.len, kind: 'first', from: c.from, span: c.span }); });
    var cuts = [];
    ranges.forEach(function (x) { cuts.push(x.a, x.b); });
    cuts.push(0, T.length);
    cuts = Array.from(new Set(cuts)).filter(function (x) { return x >= 0 && x <= T.length; }).sort(function (a, b) { return a - b; });
    var pre = h('pre', { class: 'text', id: 'record-text' });
    var started = new Set();
    for (var i = 0; i + 1 < cuts.length; i++) {
      var a = cuts[i], b = cuts[i + 1];
      var node = document.createTextNode(T.slice(a, b));
      ranges.forEach(function (x) {
        if (x.a <= a && b <= x.b) {
          var key = x.kind + (x.kind === 'cut' ? x.i : x.from + '-' + x.span);
          var attrs = x.kind === 'cut'
            ? { class: 'cut', 'data-label': started.has(key) ? '' : 'cut ' + (x.i + 1), id: started.has(key) ? null : 'cut-' + x.i, tabindex: started.has(key) ? null : '-1' }
            : { class: 'first', 'data-label': started.has(key) ? '' : 'first copy of ' + (x.from === r ? 'cut ' + (x.span + 1) : id(x.from) + ' cut ' + (x.span + 1)), id: started.has(key) ? null : 'first-' + x.from + '-' + x.span, tabindex: started.has(key) ? null : '-1' };
          started.add(key);
          node = h(x.kind === 'cut' ? 'del' : 'mark', attrs, node);
        }
      });
      pre.append(node);
    }
    return pre;
  }
  function viewRecord(p) {
    var r = Number(p.record);
    if (!(r >= 0 && r < N)) return h('p', { class: 'empty' }, 'No record ' + p.record + ' in this report.');
    var order = D.cuts, at = order.indexOf(r);
    var box = h('section', { 'aria-labelledby': 'h-record' },
      h('nav', { class: 'crumbs', 'aria-label': 'Records' }, h('a', { href: '#cuts', 'data-nav': 'up' }, '↑ cuts and filters'),
        at > 0 ? h('a', { href: '#record=' + order[at - 1], 'data-nav': 'prev' }, '← previous record') : null,
        at >= 0 && at + 1 < order.length ? h('a', { href: '#record=' + order[at + 1], 'data-nav': 'next' }, 'next record →') : null,
        clusterOf.has(r) ? h('a', { href: '#cluster=' + D.clusters[clusterOf.get(r)][0] }, 'its cluster') : null),
      h('h2', { id: 'h-record' }, 'Record ', code(id(r))), metaList(r));
    if (R.of[r] >= 0) box.append(h('p', null, 'Removed in favour of ', h('a', { href: '#record=' + R.of[r] }, code(id(R.of[r]))), '.'));
    if (R.err[r] >= 0) box.append(h('p', null, R.status[r] === 3 ? 'Rejected: ' : 'Why: ', code(D.errors[R.err[r]])));
    if (R.rep[r] && D.charts.repetition) {
      var names = D.charts.repetition.names, th = D.charts.repetition.thresholds;
      box.append(h('h3', null, 'Repetition statistics'), h('table', { class: 'kv' }, h('tbody', null, names.map(function (n, i) {
        var t = th[n], over = t !== undefined && R.rep[r][i] > t;
        return row(code(n), [fix(R.rep[r][i], 3), t !== undefined ? ' (threshold ' + t + (over ? ', exceeded' : '') + ')' : '']);
      }))));
    }
    if (R.spans[r]) box.append(h('h3', null, 'Cut spans'), spanTable(r));
    var held = copiesIn(r).filter(function (c) { return c.from !== r; });
    if (held.length) {
      box.append(h('h3', null, 'First copies of spans cut elsewhere'), h('ul', { id: 'copies' }, held.map(function (c) {
        return h('li', null, h('a', { href: '#record=' + r + '&from=' + c.from + '&span=' + c.span }, 'here'), ': the first copy of cut ' + (c.span + 1) + ' of ',
          h('a', { href: '#record=' + c.from + '&cut=' + c.span }, code(id(c.from))));
      })));
    }
    if (text(r) !== null) {
      box.append(h('h3', null, 'Text'), h('ul', { class: 'legend' },
        h('li', null, h('del', { class: 'cut', 'data-label': '' }, 'struck through'), ' cut from this record'),
        h('li', null, h('mark', { class: 'first', 'data-label': '' }, 'dashed box'), ' first copy of a span cut here or elsewhere')), markedText(r));
    }
    return box;
  }
  // A linked span (`&from=R&span=I`, `&cut=I`): outlined, scrolled to.
  function focusTarget(p) {
    var el = null;
    if (p.view === 'record' && p.from !== undefined) el = document.getElementById('first-' + p.from + '-' + p.span);
    if (p.view === 'record' && p.cut !== undefined) el = document.getElementById('cut-' + p.cut);
    if (!el) return false;
    el.classList.add('target');
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
    return true;
  }

  // ---- rejected ------------------------------------------------------
  function viewRejected(p) {
    var list = D.rejected, pg = pager(p, list.length, PAGE.rejected);
    var box = h('section', { 'aria-labelledby': 'h-rejected' }, h('h2', { id: 'h-rejected' }, 'Rejected records'),
      h('p', { class: 'note' }, pl(D.summary.rejected, 'record', 'records') + ' could not be read or parsed; grouped by input file.'),
      h('div', { class: 'toolbar' }, pg.nav));
    if (!list.length) { box.append(h('p', { class: 'empty' }, 'No record was rejected.')); return box; }
    var counts = new Map();
    list.forEach(function (x) { counts.set(R.src[x], (counts.get(R.src[x]) || 0) + 1); });
    var group = null, tbody = null;
    list.slice(pg.from, pg.to).forEach(function (r) {
      if (group !== R.src[r]) {
        group = R.src[r];
        var count = counts.get(group);
        tbody = h('tbody');
        box.append(h('h3', null, code(src(r)), ' ', h('span', { class: 'muted' }, '(' + num(count) + ' rejected)')),
          h('table', { class: 'list rejected' }, h('thead', null, h('tr', null, h('th', { class: 'n', scope: 'col' }, 'line'), h('th', { scope: 'col' }, 'error'))), tbody));
      }
      tbody.append(h('tr', null, h('td', { class: 'n' }, R.line[r] ? num(R.line[r]) : 'file'), h('td', null, R.err[r] >= 0 ? D.errors[R.err[r]] : '')));
    });
    return box;
  }

  // ---- keyboard ------------------------------------------------------
  var TABS = ['summary', 'charts', 'clusters', 'cuts', 'rejected'];
  function moveSelection(d) {
    var rows = Array.prototype.slice.call(main.querySelectorAll('table.list tbody tr[data-href]'));
    if (!rows.length) return;
    var at = rows.findIndex(function (tr) { return tr.classList.contains('sel'); });
    var next = Math.max(0, Math.min(rows.length - 1, at < 0 ? 0 : at + d));
    rows.forEach(function (tr) { tr.classList.remove('sel'); tr.removeAttribute('aria-selected'); });
    rows[next].classList.add('sel');
    rows[next].setAttribute('aria-selected', 'true');
    var a = rows[next].querySelector('a');
    (a || rows[next]).focus({ preventScroll: true });
    rows[next].scrollIntoView({ block: 'nearest' });
  }
  function follow(name) {
    var a = main.querySelector('a[data-nav="' + name + '"]');
    if (a) location.hash = a.getAttribute('href');
  }
  function toggleHelp(show) {
    var help = document.getElementById('help'), btn = document.getElementById('help-button');
    var open = show === undefined ? help.hidden : show;
    help.hidden = !open;
    btn.setAttribute('aria-expanded', String(open));
  }
  document.getElementById('help-button').addEventListener('click', function () { toggleHelp(); });
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (typing) {
      if (e.key === 'Escape') e.target.blur();
      if (e.key === 'Enter' || e.key === 'ArrowDown') { e.target.blur(); moveSelection(0); e.preventDefault(); }
      return;
    }
    var view = main.getAttribute('data-view');
    if (e.key >= '1' && e.key <= '5') { location.hash = '#' + TABS[Number(e.key) - 1]; }
    else if (e.key === '/') { var q = document.getElementById('search'); if (q) { q.focus(); e.preventDefault(); } }
    else if (e.key === 'j') moveSelection(1);
    else if (e.key === 'k') moveSelection(-1);
    else if (e.key === 'Enter') {
      var sel = main.querySelector('tr.sel[data-href]');
      if (sel && !(e.target.tagName === 'A')) location.hash = sel.getAttribute('data-href');
      else return;
    }
    else if (e.key === 'n') follow('next-page');
    else if (e.key === 'p') follow('prev-page');
    else if (e.key === ']') follow('next');
    else if (e.key === '[') follow('prev');
    else if (e.key === 'u' || e.key === 'Escape') {
      if (!document.getElementById('help').hidden) toggleHelp(false);
      else if (view === 'cluster' || view === 'record') follow('up');
    }
    else if (e.key === '?') toggleHelp();
    else return;
    e.preventDefault();
  });
  main.addEventListener('click', function (e) {
    var tr = e.target.closest && e.target.closest('tr[data-href]');
    if (tr && !e.target.closest('a')) location.hash = tr.getAttribute('data-href');
  });

  // ---- start ---------------------------------------------------------
  var S = D.summary;
  document.getElementById('subtitle').textContent = num(S.read) + ' records from ' + num(S.inputs) + (S.inputs === 1 ? ' input' : ' inputs') + ' · neardup ' + D.version;
  window.addEventListener('hashchange', render);
  render();
  // When the first view was ready, for whoever measures (tests do).
  main.setAttribute('data-ready-ms', String(Math.round(performance.now())));
})();
