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
    ['failed_now', 'Failed now'], ['dead_letters', 'Dead letters'],
  ];
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

  function when(ms) {
    const n = Number(ms);
    return Number.isFinite(n) && n > 0 ? new Date(n).toISOString().replace('T', ' ').slice(0, 19) : '';
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
    return el('tr', { 'data-entry-id': d.id },
      el('td', { class: 'mono', 'data-col': 'event_id' }, d.event_id == null ? '(not UTF-8) ' + d.id : d.event_id),
      el('td', {}, d.source), el('td', {}, d.type), el('td', {}, d.reason),
      el('td', { class: 'num' }, d.attempts), el('td', { class: 'mono' }, d.last_error),
      el('td', {}, when(d.failed_at)),
      el('td', { 'data-col': 'state', class: 'state-' + (d.state || 'expired') }, d.state || 'expired'),
      el('td', {}, b));
  }

  function renderDead(lists) {
    const out = [];
    for (const l of lists) {
      const open = l.dead.filter(retryable).length;
      out.push(el('h2', {}, 'Dead letters — ' + l.route + ' ',
        el('small', {}, l.dead.length + ' newest of ' + l.total + ', ' + open + ' still failed')));
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
      el('td', {}, when(Number(e.rejected_at) * 1000)), el('td', {}, e.source),
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
      renderRoutes(counts.routes);
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
