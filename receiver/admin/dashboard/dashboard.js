// hookd dashboard: polls the admin JSON API and renders it.
// Everything shown comes from Redis, and event ids, error texts and sources
// are chosen by whoever sent a request or wrote a handler: it is only ever
// put into the page as text nodes (el() below), never parsed as HTML.
'use strict';
(function () {
  const REFRESH_MS = 2000;
  // The rejected-requests summary reads the whole capped stream: every
  // fifth refresh is enough, and spares Redis during a flood of forgeries.
  const REJECTED_EVERY = 5;
  const ROUTE_COLS = [
    ['queued', 'Queued'], ['in_flight', 'In flight'], ['retry_scheduled', 'Retry scheduled'],
    ['processed', 'Processed'], ['duplicate_skipped', 'Duplicate-skipped'], ['replayed', 'Replayed'],
    ['failed_now', 'Failed now'], ['dead_letters', 'Dead letters'], ['consumers', 'Workers'],
  ];
  // The charts: 15 minutes of samples, one per refresh, kept by the page.
  const HISTORY_MS = 15 * 60 * 1000;
  const history = [];
  let paused = false;
  let timer = null;
  let busy = false;
  let ticks = 0;

  // An element with attributes (names fixed by this file) and children
  // (nodes, or anything else as text).
  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') n.className = v;
      else if (k === 'onclick') n.addEventListener('click', v);
      else n.setAttribute(k, String(v));
    }
    for (const k of kids) n.append(k instanceof Node ? k : String(k == null ? '' : k));
    return n;
  }

  function num(v, col) {
    // Red only for what is still failed: dead letters of replayed events
    // stay listed (with their state now) but are no alarm.
    const bad = col === 'failed_now' && v > 0;
    return el('td', { class: bad ? 'num bad' : 'num', 'data-col': col }, v == null ? '' : v);
  }

  // Times are shown in UTC, and say so.
  function when(ms) {
    const n = Number(ms);
    return Number.isFinite(n) && n > 0
      ? new Date(n).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '';
  }

  function pairs(obj) {
    return Object.entries(obj || {}).map(([k, v]) => k + ' ' + v).join(', ');
  }

  // Request URLs are built from location.origin, never from the page's
  // URL: opened as http://user:TOKEN@host/, relative URLs would carry the
  // credentials, and fetch() refuses those. The browser still sends the
  // Basic credentials it has for this origin.
  async function api(path, opts) {
    const url = new URL(path, location.origin);
    const r = await fetch(url, Object.assign({ cache: 'no-store', credentials: 'same-origin' }, opts));
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) throw new Error((body && body.error) || ('HTTP ' + r.status + ' from ' + path));
    return body;
  }

  function setStatus(cls, text) {
    const s = document.getElementById('status');
    s.className = 'status ' + cls;
    s.textContent = text;
  }

  function notice(cls, text) {
    const p = document.getElementById('notice');
    p.className = 'notice ' + cls;
    p.textContent = text;
    p.hidden = false;
  }

  function fill(tableId, rows, emptyText, width) {
    const body = document.querySelector('#' + tableId + ' tbody');
    if (!rows.length) rows = [el('tr', {}, el('td', { class: 'empty', colspan: width }, emptyText))];
    body.replaceChildren(...rows);
  }

  async function replay(route, payload, what, button) {
    button.disabled = true;
    try {
      const s = await api('/api/replay/' + encodeURIComponent(route), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(payload),
      });
      notice('ok', 'Replay of ' + what + ' on route ' + route + ': replayed ' + s.replayed +
        ', duplicate_skipped ' + s.duplicate_skipped + ', events_scanned ' + s.events_scanned +
        ', integrity_check ' + s.integrity_check + '.');
    } catch (e) {
      notice('error', 'Replay of ' + what + ' on route ' + route + ' failed: ' + e.message);
    }
    refresh();
  }

  // One sample per refresh: totals over the routes, for the charts.
  function sample(routes) {
    const sum = (k) => routes.reduce((a, r) => a + (Number(r[k]) || 0), 0);
    const now = Date.now();
    history.push({ t: now, received: sum('received'), processed: sum('processed'), backlog: sum('backlog') });
    while (history.length && history[0].t < now - HISTORY_MS) history.shift();
  }

  // Per second between consecutive samples (a counter that went down, as
  // after a Redis flush, gives 0 rather than a negative rate).
  function rates(key) {
    const out = [];
    for (let i = 1; i < history.length; i++) {
      const dt = (history[i].t - history[i - 1].t) / 1000;
      out.push({ t: history[i].t, v: dt > 0 ? Math.max(0, history[i][key] - history[i - 1][key]) / dt : 0 });
    }
    return out;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  const fmt = (v) => (v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1));
  function chart(id, points, unit) {
    const w = 300, h = 60, box = document.getElementById(id);
    const max = Math.max(1, ...points.map((p) => p.v));
    const t0 = Date.now() - HISTORY_MS;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('class', 'chart');
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', points.map((p) =>
      `${((p.t - t0) / HISTORY_MS * w).toFixed(1)},${(h - 2 - (p.v / max) * (h - 4)).toFixed(1)}`).join(' '));
    svg.append(line);
    const last = points.length ? points[points.length - 1].v : 0;
    box.querySelector('.chart-box').replaceChildren(svg);
    box.querySelector('.chart-now').textContent = '— ' + fmt(last) + unit + ' now, max ' + fmt(max) + unit;
  }

  function renderCharts() {
    chart('chart-received', rates('received'), '/s');
    chart('chart-processed', rates('processed'), '/s');
    chart('chart-backlog', history.map((s) => ({ t: s.t, v: s.backlog })), '');
  }

  // /readyz needs no token: whether this receiver takes events, and why not.
  async function readiness() {
    const r = await fetch(new URL('/readyz', location.origin), { cache: 'no-store' });
    let body = {};
    try { body = await r.json(); } catch (e) { body = {}; }
    const ready = document.getElementById('ready');
    ready.className = 'badge ' + (r.ok ? 'ready' : 'not-ready');
    ready.textContent = r.ok ? 'ready' : 'not ready';
    document.getElementById('ready-reason').textContent = r.ok ? 'Redis answers' : (body.reason || '');
  }

  // A dead letter's body and headers, as text, below the dead letters.
  async function details(route, id, panel) {
    try {
      const d = await api('/api/dead/' + encodeURIComponent(route) + '?id=' + encodeURIComponent(id));
      let headers = d.headers || '';
      try { headers = JSON.stringify(JSON.parse(headers), null, 2); } catch (e) { /* as stored */ }
      let body = d.body || '';
      try { body = JSON.stringify(JSON.parse(body), null, 2); } catch (e) { /* not JSON */ }
      panel.replaceChildren(el('h2', {}, 'Dead letter ' + id + ' — ' + (d.event_id || '') + ' ',
        el('small', {}, 'state now: ' + (d.state || 'expired'))),
        el('h3', {}, 'Headers'), el('pre', { class: 'mono', 'data-part': 'headers' }, headers),
        el('h3', {}, 'Body' + (d.body_encoding ? ' (' + d.body_encoding + ')' : '')),
        el('pre', { class: 'mono', 'data-part': 'body' }, body));
      panel.hidden = false;
    } catch (e) {
      notice('error', 'Dead letter ' + id + ': ' + e.message);
    }
  }

  async function purgeResolved(route, button) {
    button.disabled = true;
    try {
      const s = await api('/api/purge/' + encodeURIComponent(route), {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ resolved: true }),
      });
      notice('ok', 'Purged ' + s.purged + ' resolved dead letters of route ' + route + '.');
    } catch (e) {
      notice('error', 'Purge on route ' + route + ' failed: ' + e.message);
    }
    refresh();
  }

  function renderRoutes(routes) {
    fill('routes', routes.map((r) => {
      const all = el('button', { type: 'button', class: 'retry-all' }, 'Retry all');
      all.disabled = !(r.dead_letters > 0);
      all.addEventListener('click', () => replay(r.route, { all: true }, 'all dead letters', all));
      const name = el('th', {}, r.route);
      if (r.paused) name.append(' ', el('span', { class: 'badge paused', title: 'hookctl resume ' + r.route }, 'paused'));
      return el('tr', { 'data-route': r.route, 'data-paused': r.paused ? 'true' : 'false' }, name,
        ...ROUTE_COLS.map(([k]) => num(r[k], k)), el('td', {}, all));
    }), 'no routes configured', ROUTE_COLS.length + 2);
  }

  // Operators' brakes: paused routes, throttle overrides, and the tenants'
  // streams with the most waiting (a heavy tenant shows at the top).
  const TENANT_ROWS = 20;
  function renderBrakes(counts) {
    const paused = counts.routes.filter((r) => r.paused).map((r) => r.route);
    document.getElementById('paused-routes').textContent = paused.length ? paused.join(', ') : 'none';
    fill('throttle', Object.entries(counts.throttle || {}).map(([src, rate]) => el('tr', { 'data-source': src },
      el('td', {}, src), el('td', { class: rate === 0 ? 'num bad' : 'num' }, rate))),
    'none: every source runs at its configured rate_limit', 2);
    const tenants = [];
    for (const r of counts.routes) for (const t of r.tenants || []) tenants.push([r.route, t]);
    tenants.sort((a, b) => b[1].queued - a[1].queued);
    fill('tenants', tenants.slice(0, TENANT_ROWS).map(([route, t]) => el('tr', {},
      el('td', {}, route), el('td', { class: 'mono' }, t.tenant), el('td', { class: 'num' }, t.queued),
      el('td', { class: 'num' }, t.in_flight), el('td', { class: 'num' }, t.stream_entries))),
    'no tenant streams (no source sets tenant =)', 5);
  }

  // A dead letter can be retried while its event is still failed (or its
  // dedupe record expired); once replayed it is in flight, then processed.
  const retryable = (d) => d.state == null || d.state === 'failed_permanent';

  function deadRow(route, d) {
    const label = retryable(d) ? 'Retry' : d.state === 'processed' ? 'Done' : 'Retrying…';
    const b = el('button', { type: 'button', class: 'retry' }, label);
    b.disabled = !retryable(d);
    b.addEventListener('click', () => replay(route, { id: d.id }, 'event ' + (d.event_id || d.id), b));
    const show = el('button', { type: 'button', class: 'details' }, 'Details');
    show.addEventListener('click', () => details(route, d.id, document.getElementById('dead-details')));
    return el('tr', { 'data-entry-id': d.id },
      el('td', { class: 'mono', 'data-col': 'event_id' }, d.event_id == null ? '(not UTF-8) ' + d.id : d.event_id),
      el('td', {}, d.source), el('td', {}, d.type), el('td', {}, d.reason),
      el('td', { class: 'num' }, d.attempts), el('td', { class: 'mono' }, d.last_error),
      el('td', {}, when(d.failed_at)),
      el('td', { 'data-col': 'state', class: 'state-' + (d.state || 'expired') }, d.state || 'expired'),
      el('td', {}, b, ' ', show));
  }

  function renderDead(lists) {
    const out = [];
    for (const l of lists) {
      const open = l.dead.filter(retryable).length;
      const resolved = l.dead.filter((d) => d.state === 'processed').length;
      const purge = el('button', { type: 'button', class: 'purge-resolved' }, 'Purge resolved');
      purge.disabled = resolved === 0;
      purge.addEventListener('click', () => purgeResolved(l.route, purge));
      out.push(el('h2', {}, 'Dead letters — ' + l.route + ' ',
        el('small', {}, l.dead.length + ' newest of ' + l.total + ', ' + open + ' still failed, ' +
          resolved + ' resolved'), purge));
      out.push(el('table', { 'data-dead-route': l.route },
        el('thead', {}, el('tr', {}, ...['Event id', 'Source', 'Type', 'Reason', 'Attempts',
          'Last error', 'Failed at', 'State now', ''].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...l.dead.map((d) => deadRow(l.route, d)))));
    }
    document.getElementById('dead').replaceChildren(...out);
  }

  function renderSignatures(sigs) {
    fill('signatures', (sigs || []).map((s) => el('tr', {},
      el('td', {}, s.source), el('td', {}, s.version), el('td', { class: 'num' }, s.verified),
      el('td', {}, pairs(s.failed)))), 'no signed requests yet', 4);
  }

  function renderRejected(rej) {
    fill('rejected', Object.entries(rej.by_source || {}).filter(([, s]) => s.total > 0).map(
      ([src, s]) => el('tr', {}, el('td', {}, src), el('td', { class: 'num' }, s.total),
        el('td', {}, pairs(s.by_reason)), el('td', {}, pairs(s.by_version_tried)))),
    'no rejected requests', 4);
    fill('recent', (rej.recent || []).map((e) => el('tr', {},
      // rejected_at is ms (entries written before were seconds)
      el('td', {}, when(Number(e.rejected_at) < 1e11 ? Number(e.rejected_at) * 1000 : e.rejected_at)),
      el('td', {}, e.source),
      el('td', {}, e.reason), el('td', { class: 'mono' }, e.event_id),
      el('td', { class: 'mono' }, e.tried), el('td', { class: 'num' }, e.skew_s),
      el('td', { class: 'mono' }, e.request_id))), 'none', 7);
  }

  async function refresh() {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      const counts = await api('/api/counts');
      sample(counts.routes);
      renderCharts();
      renderRoutes(counts.routes);
      await readiness();
      renderBrakes(counts);
      renderSignatures(counts.signatures);
      const withDead = counts.routes.filter((r) => r.dead_letters > 0);
      renderDead(await Promise.all(withDead.map((r) => api('/api/dead/' + encodeURIComponent(r.route)))));
      if (ticks++ % REJECTED_EVERY === 0) renderRejected(await api('/api/rejected'));
      if (!paused) setStatus('ok', 'live — updated ' + new Date().toLocaleTimeString());
    } catch (e) {
      setStatus('error', 'cannot refresh: ' + e.message);
    } finally {
      busy = false;
      if (!paused) timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  document.getElementById('pause').addEventListener('click', (ev) => {
    paused = !paused;
    ev.target.textContent = paused ? 'Resume' : 'Pause';
    if (paused) {
      clearTimeout(timer);
      setStatus('paused', 'paused');
    } else {
      refresh();
    }
  });
  refresh();
}());
