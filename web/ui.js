// Shared helpers of the console: the API client, element building, errors, small widgets.

export const OBJECT_TYPES = ['lead', 'contact', 'company', 'deal', 'task'];
export const EVENTS = ['created', 'updated', 'bulk', 'assign_requested'];
export const OUTCOMES = ['assigned', 'fallback', 'default', 'unassigned'];

export const REASONS = {
  no_rule_matched: 'No rule matched and there is no default owner',
  user_not_found: 'The named user does not exist or is inactive',
  no_eligible_user: 'Nobody in the pool or key could take it',
  no_distribution_key: 'The value has no distribution key and there is no default owner',
  company_not_linked: 'The record has no linked company',
  person_not_linked: 'The record has no linked person',
  company_not_found: 'The linked company is unknown to rota',
  person_not_found: 'The linked person is unknown to rota',
  related_has_no_owner: 'The linked record has no owner',
  field_empty: 'The owner field is empty',
  error: 'An error occurred',
};

export const SKIPS = {
  not_found: 'does not exist',
  inactive: 'is inactive',
  out_of_office: 'is out of office',
  outside_working_hours: 'is outside working hours',
  per_day_cap: 'reached the daily cap',
  max_open_cap: 'reached the open-records cap',
};

// ---------------------------------------------------------------- session

const KEY = 'rota.key';
const ROLE = 'rota.role';
const REASSIGN = 'rota.can_reassign';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get role() { return sessionStorage.getItem(ROLE); },
  // What GET /v1/me answered at sign-in.
  set(key, me) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(ROLE, me.role);
    sessionStorage.setItem(REASSIGN, String(!!me.can_reassign));
  },
  clear() { [KEY, ROLE, REASSIGN].forEach((k) => sessionStorage.removeItem(k)); },
  get canEdit() { return this.role === 'admin'; },
  // Sends records to a pool or rule (assign_requested): admins, and members whose key may.
  get canReassign() { return this.role === 'admin' || sessionStorage.getItem(REASSIGN) === 'true'; },
};

// ---------------------------------------------------------------- API

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
  }
}

let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

// Calls the API. `body` is sent as JSON unless `raw` is given (a Blob/File with `type`).
// Answers the parsed JSON (or text / blob / the Response, by `as`), throws ApiError.
export async function api(method, path, { body, raw, contentType, accept, as = 'json', key, query } = {}) {
  const headers = { Authorization: `Bearer ${key ?? session.key ?? ''}` };
  let payload;
  if (raw !== undefined) {
    payload = raw;
    headers['Content-Type'] = contentType || raw.type || 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (accept) headers.Accept = accept;
  let url = path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, 'network', `Could not reach the server: ${e.message}`, []);
  }
  if (!res.ok) {
    let err = { code: `http_${res.status}`, message: `${method} ${path} failed with HTTP ${res.status}`, details: [] };
    try {
      const j = await res.json();
      if (j && j.error) err = { ...err, ...j.error };
    } catch { /* not JSON */ }
    const e = new ApiError(res.status, err.code, err.message, err.details);
    if (res.status === 401 && key === undefined) onUnauthenticated(e);
    throw e;
  }
  if (as === 'response') return res;
  if (res.status === 204) return null;
  if (as === 'text') return res.text();
  if (as === 'blob') return res.blob();
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// Reads every page of a list endpoint.
export async function listAll(path, query = {}) {
  const items = [];
  let cursor;
  for (let i = 0; i < 100; i++) {
    const page = await api('GET', path, { query: { ...query, limit: 1000, cursor } });
    items.push(...(page.items || []));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

export const enc = encodeURIComponent;

// ---------------------------------------------------------------- elements

// h('div', {class: 'x', onclick: fn, dataset: {a: 1}}, child, 'text', [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') el[k] = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

// Appends children, skipping null/false, flattening arrays.
export function add(el, ...children) { append(el, children); return el; }
// Replaces the children, skipping null/false.
export function fill(el, ...children) { el.replaceChildren(); append(el, children); return el; }

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
export const newId = (p = 'f') => `${p}-${++uid}`;

// A labelled control: field('Name', input) — wires label `for` and id.
export function field(label, control, { hint, path, cls } = {}) {
  if (!control.id) control.id = newId();
  if (path) control.dataset.path = path;
  const wrap = h('div', { class: `field ${cls || ''}` }, h('label', { for: control.id }, label), control);
  if (hint) {
    const hid = newId('hint');
    wrap.append(h('p', { class: 'hint', id: hid }, hint));
    control.setAttribute('aria-describedby', hid);
  }
  return wrap;
}

export function select(options, value, attrs = {}) {
  const s = h('select', attrs);
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v, selected: String(v) === String(value ?? '') }, label));
  }
  if (value !== undefined && value !== null) s.value = value;
  return s;
}

export function userOptions(users, { none } = {}) {
  const opts = users.map((u) => [u.id, u.name ? `${u.name} (${u.id})` : u.id]);
  return none ? [['', none], ...opts] : opts;
}

export function badge(text, kind = '') { return h('span', { class: `badge ${kind}` }, text); }
export function outcomeBadge(o) { return badge(o || '—', `o-${o}`); }

export function fmtTime(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(undefined, { year: sameYear ? undefined : 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
}
// Two decimals: a key's 33.33 / 33.33 / 33.34 shows as it is, not as 33.3 three times.
export const fmtPct = (n) => (n === null || n === undefined ? '—' : `${(Math.round(n * 100) / 100).toLocaleString()}%`);

// Which clock a period reads: the named days and month are the workspace's (as the API
// counts them), a range and every time shown are the browser's.
export function periodHint(workspaceZone) {
  const mine = Intl.DateTimeFormat().resolvedOptions().timeZone || 'the browser’s';
  return `Today, yesterday and this month are in the workspace’s time zone (${workspaceZone}); a range and the times shown are in yours (${mine}).`;
}

// datetime-local value <-> RFC 3339 UTC
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  // With its seconds (the inputs take them, step 1): saving a user unchanged keeps the times.
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
export function fromLocalInput(v) {
  if (!v) return null;
  return new Date(v).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function pageHeader(title, intro, ...actions) {
  return h('header', { class: 'page-head' },
    h('div', null, h('h1', { tabindex: '-1' }, title), intro ? h('p', { class: 'intro' }, intro) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

export function card(title, ...body) {
  return h('section', { class: 'card', 'aria-label': typeof title === 'string' ? title : undefined },
    title ? h('h2', null, title) : null, body);
}

export function empty(text) { return h('p', { class: 'empty' }, text); }

export function table(columns, rows, { caption, rowAttrs, stack } = {}) {
  const t = h('table', { class: 'grid' },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.cls }, c.label)))),
    h('tbody', null, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : null,
      columns.map((c) => h('td', { class: c.cls, 'data-label': c.label }, c.render ? c.render(r) : r[c.key] ?? '—'))))));
  return h('div', { class: stack === false ? 'table-wrap' : 'table-wrap stack' }, t);
}

// ---------------------------------------------------------------- errors and notices

// An alert box showing an API (or other) error: message, code and every detail.
export function errorBox(err, { title } = {}) {
  const details = Array.isArray(err.details) ? err.details : [];
  return h('div', { class: 'alert error', role: 'alert' },
    // The server's refusals have a status; the network's is 0; the rest the console found itself.
    h('strong', null, title || (err.status ? 'The server refused this' : err.status === 0 ? 'The server could not be reached' : 'Check this first')),
    h('p', null, err.message || String(err)),
    err.code ? h('p', { class: 'code' }, `${err.status || ''} ${err.code}`.trim()) : null,
    details.length ? h('ul', null, details.map((d) =>
      h('li', null, d.row !== undefined ? `Row ${d.row}: ` : d.path ? h('code', null, d.path) : null,
        d.path && d.row === undefined ? ': ' : '', d.message || JSON.stringify(d)))) : null);
}

// Shows `err` in the given slot (replacing what was there).
export function showError(slot, err, opts) {
  slot.replaceChildren(errorBox(err, opts));
  slot.scrollIntoView?.({ block: 'nearest' });
}

export function notice(slot, text, kind = 'ok') {
  slot.replaceChildren(h('div', { class: `alert ${kind}`, role: 'status' }, text));
}

// Places each error detail next to the control whose data-path matches (or its nearest
// parent path); answers the details nobody claimed.
export function placeFieldErrors(form, details) {
  clearFieldErrors(form);
  const left = [];
  for (const d of details || []) {
    if (!d.path) { left.push(d); continue; }
    let path = d.path;
    let target = null;
    while (path) {
      target = form.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (target) break;
      const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
      if (cut <= 0) break;
      path = path.slice(0, cut);
    }
    if (!target) { left.push(d); continue; }
    const id = newId('err');
    const msg = h('p', { class: 'field-error', id }, d.message);
    target.setAttribute('aria-invalid', 'true');
    const prev = target.getAttribute('aria-describedby');
    target.setAttribute('aria-describedby', prev ? `${prev} ${id}` : id);
    const host = target.closest('.field, .cond-row, fieldset') || target;
    if (host === target) target.after(msg); else host.append(msg);
  }
  return left;
}

// A refused save: each detail beside its control (placeFieldErrors), the message and the
// details nobody claimed in `slot`.
export function showFormError(slot, form, e) {
  fill(slot, errorBox({ ...e, message: e.message, details: placeFieldErrors(form, e.details) }));
}

export function clearFieldErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => {
    e.removeAttribute('aria-invalid');
    const ids = (e.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.startsWith('err-'));
    if (ids.length) e.setAttribute('aria-describedby', ids.join(' ')); else e.removeAttribute('aria-describedby');
  });
}

let toastTimer;
export function toast(text) {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
}

// Runs an async action with the button busy; errors go to `slot`.
export async function busy(button, slot, fn) {
  if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
  if (slot) slot.replaceChildren();
  try {
    return await fn();
  } catch (e) {
    if (slot) showError(slot, e); else throw e;
    return undefined;
  } finally {
    if (button) { button.disabled = false; button.removeAttribute('aria-busy'); }
  }
}

export function download(blob, name) {
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// A modal dialog; answers {dialog, body, close}.
export function modal(title, { wide } = {}) {
  const body = h('div', { class: 'dialog-body' });
  const titleId = newId('dlg');
  const dialog = h('dialog', { class: wide ? 'wide' : '', 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'icon', 'aria-label': 'Close dialog', onclick: () => close() }, '✕')),
    body);
  const close = () => { dialog.close(); dialog.remove(); };
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close };
}

export function confirmAction(text) { return window.confirm(text); }

// Horizontal bars: rows [{label, value, target}] in percent; plain SVG.
export function barChart(rows, { title, valueLabel = 'Actual', targetLabel = 'Target' } = {}) {
  const NS = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, ...kids) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  };
  const hasTarget = rows.some((r) => r.target !== null && r.target !== undefined);
  const top0 = Math.max(...rows.map((r) => Math.max(r.value || 0, r.target || 0)), 1);
  const max = top0 <= 25 ? 25 : top0 <= 50 ? 50 : 100;
  const ticks = [0, 1, 2, 3, 4].map((i) => (max * i) / 4);
  const compact = window.innerWidth < 600;
  const labelW = compact ? 140 : 175, chartW = compact ? 180 : 500, right = compact ? 64 : 70, barH = hasTarget ? 14 : 20, gap = hasTarget ? 4 : 0;
  const rowH = hasTarget ? barH * 2 + gap + 16 : barH + 14;
  const top = 30;
  const W = labelW + chartW + right;
  const H = top + rows.length * rowH + 24;
  const x = (v) => labelW + (chartW * v) / max;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title || 'Bar chart' });
  svg.append(s('title', null, title || 'Bar chart'));
  // legend
  svg.append(s('rect', { x: labelW, y: 6, width: 12, height: 12, class: 'bar-actual' }));
  svg.append(s('text', { x: labelW + 18, y: 16, class: 'legend' }, valueLabel));
  if (hasTarget) {
    svg.append(s('rect', { x: labelW + 90, y: 6, width: 12, height: 12, class: 'bar-target' }));
    svg.append(s('text', { x: labelW + 108, y: 16, class: 'legend' }, targetLabel));
  }
  for (const t of ticks) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: top - 4, y2: H - 20, class: 'gridline' }));
    svg.append(s('text', { x: x(t), y: H - 6, class: 'tick', 'text-anchor': 'middle' }, `${t}%`));
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const maxLen = compact ? 15 : 22;
    const label = r.label.length > maxLen ? `${r.label.slice(0, maxLen - 1)}…` : r.label;
    svg.append(s('text', { x: labelW - 10, y: y + (hasTarget ? barH + gap / 2 + 4 : barH / 2 + 5), class: 'label', 'text-anchor': 'end', style: compact ? 'font-size:12px' : null }, label));
    svg.append(s('rect', { x: labelW, y, width: Math.max(1, x(r.value || 0) - labelW), height: barH, class: 'bar-actual', rx: 2 },
      s('title', null, `${r.label}: ${valueLabel.toLowerCase()} ${fmtPct(r.value)}`)));
    svg.append(s('text', { x: x(r.value || 0) + 6, y: y + barH - 3, class: 'val' }, `${fmtPct(r.value)}${r.count !== undefined ? ` (${r.count})` : ''}`));
    if (hasTarget) {
      const ty = y + barH + gap;
      if (r.target !== null && r.target !== undefined) {
        svg.append(s('rect', { x: labelW, y: ty, width: Math.max(1, x(r.target) - labelW), height: barH, class: 'bar-target', rx: 2 },
          s('title', null, `${r.label}: ${targetLabel.toLowerCase()} ${fmtPct(r.target)}`)));
        svg.append(s('text', { x: x(r.target) + 6, y: ty + barH - 3, class: 'val muted' }, fmtPct(r.target)));
      }
    }
  });
  return h('figure', { class: 'chart-fig' }, svg);
}

// ---------------------------------------------------------------- secrets, copying, deliveries

// Copies `text`; answers whether it worked (the clipboard API needs a secure context and
// permission, so fall back to a selection and execCommand).
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch { /* fall back */ }
  const ta = h('textarea', { readonly: true, style: { position: 'fixed', opacity: '0' } });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let done = false;
  try { done = document.execCommand('copy'); } catch { done = false; }
  ta.remove();
  return done;
}

// A read-only text with a Copy button beside it.
export function copyField(label, value, { hint, id } = {}) {
  const input = h('input', { type: 'text', readonly: true, value, spellcheck: 'false', id: id || newId() });
  input.addEventListener('focus', () => input.select());
  const btn = h('button', { type: 'button', 'aria-label': `Copy ${label}`,
    onclick: async () => toast(await copyText(value) ? 'Copied' : 'Could not copy: select the text and copy it by hand') }, 'Copy');
  const wrap = h('div', { class: 'field copy-field' }, h('label', { for: input.id }, label), h('div', { class: 'copy-line' }, input, btn));
  if (hint) {
    const hid = newId('hint');
    wrap.append(h('p', { class: 'hint', id: hid }, hint));
    input.setAttribute('aria-describedby', hid);
  }
  return wrap;
}

// Fills a modal's body with a secret the server answers once, then Done.
export function revealOnce(body, { title, label, value, note, onDone }) {
  const done = h('button', { type: 'button', class: 'primary', onclick: onDone }, 'Done');
  fill(body,
    h('div', { class: 'alert warn', role: 'status' }, h('strong', null, title),
      h('p', null, note || 'Copy it now: it is shown this once and cannot be read again.')),
    copyField(label, value, { id: 'secret-once' }),
    h('div', { class: 'dialog-foot' }, done));
  body.querySelector('#secret-once').focus();
}

export const STATUS_KINDS = { delivered: 'ok', pending: 'warn', failed: 'bad', superseded: '' };

// Outbox deliveries (webhooks and connector write-backs), newest first.
export function deliveriesTable(items, { caption, describe, retry } = {}) {
  return table([
    { label: 'Created', cls: 'nowrap', render: (d) => fmtTime(d.created_at) },
    describe ? { label: 'What', render: describe } : { label: 'Event', render: (d) => h('code', null, d.event) },
    { label: 'Status', render: (d) => badge(d.status, STATUS_KINDS[d.status] || '') },
    { label: 'Attempts', cls: 'num', render: (d) => String(d.attempts) },
    { label: 'Last error', render: (d) => (d.last_error || (d.last_status && (d.last_status < 200 || d.last_status > 299) ? `HTTP ${d.last_status}` : null)
      || h('span', { class: 'muted' }, '—')) },
    { label: 'Next / delivered', cls: 'nowrap', render: (d) => (d.status === 'pending' ? `next ${fmtTime(d.next_attempt_at)}`
      : d.delivered_at ? fmtTime(d.delivered_at) : '—') },
    ...(retry ? [{ label: 'Actions', cls: 'actions-cell', render: (d) => retry(d) }] : []),
  ], items, { caption, rowAttrs: (d) => ({ 'data-delivery': d.id }) });
}

// Fills `box` with a list's first page (newest first) and a "Show older" button while
// the list goes on; `render(items)` draws what has been read so far.
export async function pagedList(box, path, render, emptyText, pageSize = 20) {
  let items = [];
  let cursor = null;
  const slot = h('div');
  const draw = () => {
    if (!items.length) { fill(box, empty(emptyText)); return; }
    const older = cursor ? h('button', { type: 'button', class: 'small', onclick: (e) => busy(e.target, slot, more) }, 'Show older') : null;
    fill(box, render(items), older, slot);
  };
  const more = async () => {
    const page = await api('GET', path, { query: { limit: pageSize, ...(cursor ? { cursor } : {}) } });
    items = items.concat(page.items);
    cursor = page.next_cursor || null;
    draw();
  };
  await more();
}

export function readonlyNote(ctx) {
  return ctx.canEdit ? null : h('p', { class: 'readonly-note' }, 'You are signed in with a member key: everything is read only.');
}
