// History: filtered, paged decisions; CSV download; a decision's explain trace.
import {
  add, fill, api, h, listAll, pageHeader, card, field, select, userOptions, badge, busy, empty, showError, download,
  outcomeBadge, fmtTime, fromLocalInput, toLocalInput, periodHint, REASONS, SKIPS, OBJECT_TYPES, EVENTS, OUTCOMES, table,
} from './ui.js';

export function traceList(trace) {
  if (!trace) {
    return h('div', { class: 'alert info', id: 'no-trace' }, h('strong', null, 'No trace recorded.'),
      h('p', null, 'rota keeps the explain trace of every decision that was not assigned by its strategy (fallback, default, unassigned), and of others only when requested with "explain": true. Ask for it on the next request to see each rule tried and each member skipped.'));
  }
  if (!trace.length) return empty('The trace is empty.');
  const item = (mark, cls, what, detail) => h('li', null, h('span', { class: `mark ${cls}`, 'aria-hidden': 'true' }, mark),
    h('div', null, h('div', { class: 'what' }, what), detail ? h('div', { class: 'detail' }, detail) : null));
  return h('ol', { class: 'trace', 'aria-label': 'Explain trace' }, trace.map((t) => {
    switch (t.step) {
      case 'rule':
        return t.matched ? item('✓', 'good', `Rule ${t.rule} matched`, t.detail)
          : item('✗', 'bad', `Rule ${t.rule} did not match${t.failed_set ? ` — the “${t.failed_set}” set failed${t.failed_index !== undefined ? ` at condition ${t.failed_index + 1}` : ''}` : ''}`, t.detail);
      case 'target': return item('→', 'info', `Requested target ${t.id}`, t.detail);
      case 'no_rule': return item('∅', 'bad', 'No rule matched', t.detail);
      case 'member':
        return t.chosen ? item('★', 'good', `${t.user} chosen`, t.detail)
          : item('↷', 'bad', `${t.user} skipped${t.skipped ? `: ${SKIPS[t.skipped] || t.skipped}` : ''}`, t.detail);
      case 'strategy': return item('⚙', 'info', `The strategy of ${t.id}${t.reason ? ` found nobody (${t.reason})` : ''}`, t.detail);
      case 'fallback': return item(t.taken ? '✓' : '✗', t.taken ? 'good' : 'bad', `Fallback user ${t.user || '—'} ${t.taken ? 'took the record' : `could not take it${t.skipped ? `: ${SKIPS[t.skipped] || t.skipped}` : ''}`}`, t.detail);
      case 'default': return item(t.taken ? '✓' : '✗', t.taken ? 'good' : 'bad', `Default owner ${t.user || '—'} ${t.taken ? 'took the record' : 'could not take it'}`, t.detail);
      default: return item('•', '', t.step, t.detail);
    }
  }));
}

export function decisionFacts(d) {
  const row = (k, v) => [h('dt', null, k), h('dd', null, v)];
  return h('dl', { class: 'facts' },
    row('Decision', h('code', null, d.decision_id || '—')), row('When', fmtTime(d.at)),
    row('Record', `${d.object_type} ${d.record_id}`), row('Event', d.event),
    row('Outcome', outcomeBadge(d.outcome)), row('Owner', d.owner || '—'),
    row('Rule', d.rule || '—'), row('Strategy', d.strategy || '—'),
    d.reason ? row('Reason', `${d.reason} — ${REASONS[d.reason] || ''}${d.message ? `: ${d.message}` : ''}`) : null,
    d.related?.length ? row('Related', d.related.map((x) => `${x.object_type} ${x.id} → ${x.owners.join(', ')}`).join('; ')) : null,
    d.actions ? row('Actions', [d.actions.tag ? `tag “${d.actions.tag}”` : null, d.actions.note ? 'note' : null, d.actions.notify ? 'notify' : null].filter(Boolean).join(', ')) : null);
}

export async function render(root, ctx) {
  const [rules, users, settings] = await Promise.all([listAll('/v1/rules'), listAll('/v1/users'), api('GET', '/v1/settings')]);
  const p = ctx.params;
  const period = select([['', 'Any time'], ['today', 'Today'], ['yesterday', 'Yesterday'], ['month', 'This month'], ['range', 'A range…']],
    p.get('period') || (p.get('from') || p.get('to') ? 'range' : ''), { name: 'period' });
  const from = h('input', { type: 'datetime-local', name: 'from', step: 1, value: toLocalInput(p.get('from')) });
  const to = h('input', { type: 'datetime-local', name: 'to', step: 1, value: toLocalInput(p.get('to')) });
  const otype = select([['', 'All'], ...OBJECT_TYPES], p.get('object_type') || '', { name: 'object_type' });
  const event = select([['', 'All'], ...EVENTS], p.get('event') || '', { name: 'event' });
  const rule = select([['', 'All'], ...rules.map((r) => [r.id, `${r.name || r.id} (${r.object_type})`])], p.get('rule') || '', { name: 'rule' });
  const owner = select([['', 'All'], ...userOptions(users)], p.get('owner') || '', { name: 'owner' });
  const outcome = select([['', 'All'], ...OUTCOMES], p.get('outcome') || '', { name: 'outcome' });
  const limit = select([['25', '25'], ['50', '50'], ['100', '100']], '25', { name: 'limit' });
  const fromF = field('From', from), toF = field('To (excluded)', to);
  const syncRange = () => { fromF.hidden = toF.hidden = period.value !== 'range'; };
  period.addEventListener('change', syncRange);
  syncRange();

  const slot = h('div', { 'aria-live': 'polite' });
  const results = h('div');
  const detail = h('div', { id: 'decision-detail' });
  const apply = h('button', { type: 'submit', class: 'primary' }, 'Apply filters');
  const csv = h('button', { type: 'button', id: 'csv-download' }, '⬇ Download CSV');
  const form = h('form', { class: 'card', 'aria-label': 'Filters' },
    h('div', { class: 'filters' }, field('Period', period, { hint: periodHint(settings.time_zone) }), fromF, toF, field('Object type', otype), field('Event', event),
      field('Rule', rule), field('Owner', owner), field('Outcome', outcome), field('Rows per page', limit)),
    h('div', { class: 'actions' }, apply, h('button', { type: 'reset' }, 'Clear'), h('span', { class: 'spacer' }), csv));

  add(root, pageHeader('History', 'Every decision rota made, newest first. Select one to see why it went that way.'),
    form, slot, results, detail);

  let cursors = [null]; // cursor of each page seen
  let pageNo = 0;

  const filters = () => {
    const q = { object_type: otype.value, event: event.value, rule: rule.value, owner: owner.value, outcome: outcome.value };
    if (['today', 'yesterday', 'month'].includes(period.value)) q.period = period.value;
    if (period.value === 'range') { q.from = fromLocalInput(from.value); q.to = fromLocalInput(to.value); }
    return q;
  };

  async function loadPage() {
    fill(slot);
    const q = filters();
    if (q.from && q.to && q.to <= q.from) {
      showError(slot, new Error('“To” is not after “From”: no decision can be between them.'));
      fill(results);
      return;
    }
    try {
      const page = await api('GET', '/v1/history', { query: { ...filters(), limit: limit.value, cursor: cursors[pageNo] } });
      cursors[pageNo + 1] = page.next_cursor;
      const items = page.items;
      const open = (d, tr) => {
        results.querySelectorAll('tr.selected').forEach((x) => x.classList.remove('selected'));
        tr.classList.add('selected');
        fill(detail, card(`Decision for ${d.object_type} ${d.record_id}`, decisionFacts(d), h('h3', null, 'Explain trace'), traceList(d.trace)));
        detail.scrollIntoView({ block: 'start', behavior: 'smooth' });
        detail.querySelector('h2')?.setAttribute('tabindex', '-1');
        detail.querySelector('h2')?.focus({ preventScroll: true });
      };
      fill(results, card(null,
        items.length ? table([
          { label: 'When', cls: 'nowrap', render: (d) => fmtTime(d.at) },
          { label: 'Event', key: 'event' },
          { label: 'Type', key: 'object_type' },
          { label: 'Record', render: (d) => h('button', { type: 'button', class: 'linkish', 'aria-label': `Show decision for ${d.object_type} ${d.record_id}` }, d.record_id) },
          { label: 'Rule', cls: 'nowrap', render: (d) => d.rule || '—' },
          { label: 'Strategy', render: (d) => d.strategy || '—' },
          { label: 'Outcome', render: (d) => outcomeBadge(d.outcome) },
          { label: 'Owner', render: (d) => d.owner || '—' },
          { label: 'Reason', render: (d) => (d.reason ? h('span', { title: REASONS[d.reason] || '' }, d.reason) : '—') },
          { label: 'Trace', render: (d) => (d.trace ? badge('trace', 'ok') : h('span', { class: 'muted' }, 'none')) },
        ], items, {
          caption: 'Decisions',
          rowAttrs: (d) => ({ class: 'clickable', 'data-decision': d.decision_id, onclick: (e) => open(d, e.currentTarget) }),
        }) : empty('No decisions match these filters.'),
        h('div', { class: 'pager' },
          h('span', { class: 'muted', id: 'page-info' }, `Page ${pageNo + 1} · ${items.length} decision${items.length === 1 ? '' : 's'}`),
          h('button', { type: 'button', disabled: pageNo === 0, onclick: () => { pageNo -= 1; loadPage(); } }, '← Newer'),
          h('button', { type: 'button', id: 'next-page', disabled: !page.next_cursor, onclick: () => { pageNo += 1; loadPage(); } }, 'Older →'))));
    } catch (e) {
      fill(results);
      showError(slot, e, { title: 'Could not load the history' });
    }
  }

  // The filters go in the page's address, so that a reload, Back or a shared link keeps them.
  const remember = () => {
    const q = new URLSearchParams(Object.entries(filters()).filter(([, v]) => v)).toString();
    history.replaceState(null, '', `#/history${q ? `?${q}` : ''}`);
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); remember(); cursors = [null]; pageNo = 0; fill(detail); loadPage(); });
  form.addEventListener('reset', () => setTimeout(() => { syncRange(); remember(); cursors = [null]; pageNo = 0; fill(detail); loadPage(); }));
  csv.addEventListener('click', () => busy(csv, slot, async () => {
    // every page of the filtered history, as one CSV file
    let cursor, out = '';
    for (let i = 0; i < 1000; i++) {
      const res = await api('GET', '/v1/history', { accept: 'text/csv', as: 'response', query: { ...filters(), limit: 1000, cursor } });
      let text = await res.text();
      if (out) text = text.slice(text.indexOf('\n') + 1);
      out += text;
      cursor = res.headers.get('Next-Cursor');
      if (!cursor) break;
    }
    download(new Blob([out], { type: 'text/csv' }), `rota-history-${new Date().toISOString().slice(0, 10)}.csv`);
  }));

  await loadPage();
}
