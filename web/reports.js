// Reports: records per owner for a period, actual vs target per distribution; the month's figures.
import {
  add, fill, api, h, listAll, pageHeader, card, field, select, empty, showError, barChart, table, fmtPct, fromLocalInput, periodHint, OBJECT_TYPES,
  busy, download,
} from './ui.js';

// Actual minus target in percentage points, to one decimal; a difference that rounds to
// nothing is "0 pt", never "-0 pt" or "+0 pt".
export function diffPt(d) {
  const r = Math.round(d * 10) / 10 || 0;
  return r === 0 ? '0 pt' : `${r > 0 ? '+' : ''}${r.toLocaleString()} pt`;
}

export async function render(root, ctx) {
  const [rules, dists, sum, users, settings] = await Promise.all([listAll('/v1/rules'), listAll('/v1/distributions'), api('GET', '/v1/reports/summary'), listAll('/v1/users'), api('GET', '/v1/settings')]);
  const who = (id) => { if (!id) return '(no owner)'; const u = users.find((x) => x.id === id); return u && u.name ? `${u.name} (${id})` : id; };
  const p = ctx.params;
  const period = select([['month', 'This month'], ['today', 'Today'], ['yesterday', 'Yesterday'], ['range', 'A range…'], ['', 'All time']], p.get('period') ?? 'month');
  const from = h('input', { type: 'datetime-local' });
  const to = h('input', { type: 'datetime-local' });
  const subject = select([
    ['', 'All decisions'],
    ...dists.map((d) => [`d:${d.id}`, `Distribution ${d.name || d.id} (${d.property})`]),
    ...rules.map((r) => [`r:${r.id}`, `Rule ${r.name || r.id} (${r.object_type})`]),
  ], p.get('distribution') ? `d:${p.get('distribution')}` : p.get('rule') ? `r:${p.get('rule')}` : (dists[0] ? `d:${dists[0].id}` : ''));
  const otype = select([['', 'All types'], ...OBJECT_TYPES], p.get('object_type') || '');
  const fromF = field('From', from), toF = field('To (excluded)', to);
  const sync = () => { fromF.hidden = toF.hidden = period.value !== 'range'; };
  period.addEventListener('change', sync);
  sync();
  const slot = h('div', { 'aria-live': 'polite' });
  const out = h('div', { id: 'report' });
  const csv = h('button', { type: 'button', id: 'report-csv' }, '⬇ Download CSV');
  const form = h('form', { class: 'card', 'aria-label': 'Report options' },
    h('div', { class: 'filters' }, field('Period', period, { hint: periodHint(settings.time_zone) }), fromF, toF, field('Rule or distribution', subject), field('Object type', otype)),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show report'), h('span', { class: 'spacer' }), csv));
  const by = sum.by_outcome_this_month || {};
  add(root, pageHeader('Reports', 'Records received per owner, and for distribution keys the target share beside the actual one.'),
    h('div', { class: 'stats' },
      h('div', { class: 'stat accent', id: 'report-processed' }, h('div', { class: 'num' }, sum.processed_this_month ?? 0), h('div', { class: 'lbl' }, 'Records processed this month')),
      h('div', { class: 'stat' }, h('div', { class: 'num' }, by.assigned ?? 0), h('div', { class: 'lbl' }, 'Assigned')),
      h('div', { class: 'stat' }, h('div', { class: 'num' }, sum.unassigned_waiting ?? 0), h('div', { class: 'lbl' }, 'Waiting unassigned'))),
    form, slot, out);

  // The report's options as its query.
  function query() {
    const q = { object_type: otype.value };
    if (['today', 'yesterday', 'month'].includes(period.value)) q.period = period.value;
    if (period.value === 'range') { q.from = fromLocalInput(from.value); q.to = fromLocalInput(to.value); }
    const s = subject.value;
    if (s.startsWith('d:')) q.distribution = s.slice(2);
    if (s.startsWith('r:')) q.rule = s.slice(2);
    return q;
  }

  async function load() {
    fill(slot);
    const q = query();
    // A range needs both ends, the second after the first: else it is all time, or nothing.
    if (period.value === 'range' && (!q.from || !q.to || q.to <= q.from)) {
      fill(out);
      showError(slot, new Error(!q.from || !q.to ? 'A range needs both “From” and “To”.' : '“To” is not after “From”.'));
      return;
    }
    let r;
    try { r = await api('GET', '/v1/reports/distribution', { query: q }); } catch (e) { fill(out); showError(slot, e, { title: 'Could not load the report' }); return; }
    const rows = (r.rows || []).map((x) => ({ ...x, owner: who(x.owner) }));
    const hasTarget = rows.some((x) => x.target_percent !== null && x.target_percent !== undefined);
    const title = `${subject.selectedOptions[0].textContent} · ${period.selectedOptions[0].textContent}`;
    fill(out, 
      card(title,
        h('p', { class: 'muted', style: { marginTop: '-.4rem' } }, `${r.total ?? rows.reduce((a, x) => a + x.count, 0)} records`,
          r.unassigned ? `, ${r.unassigned} left unassigned` : '',
          r.from ? ` from ${new Date(r.from).toLocaleString()}` : '', r.to ? ` to ${new Date(r.to).toLocaleString()}` : ''),
        rows.length ? [
          barChart(rows.map((x) => ({ label: x.owner, value: x.percent, target: hasTarget ? x.target_percent : null, count: x.count })),
            { title: `Share per owner, ${title}` }),
          table([
            { label: 'Owner', key: 'owner' },
            { label: 'Records', cls: 'num', key: 'count' },
            { label: 'Actual %', cls: 'num', render: (x) => fmtPct(x.percent) },
            ...(hasTarget ? [{ label: 'Target %', cls: 'num', render: (x) => fmtPct(x.target_percent) },
              { label: 'Difference', cls: 'num', render: (x) => (x.target_percent === null || x.target_percent === undefined ? '—' : diffPt(x.percent - x.target_percent)) }] : []),
          ], rows, { caption: 'Records per owner' }),
        ] : empty(r.unassigned ? 'No records got an owner in this period.' : 'No decisions in this period.')),
      ...(r.by_value || []).map((v) => card(`Key “${v.value}” · ${v.count} record${v.count === 1 ? '' : 's'}`,
        v.rows.length ? table([
          { label: 'Owner', key: 'owner' },
          { label: 'Records', cls: 'num', key: 'count' },
          { label: 'Actual %', cls: 'num', render: (x) => fmtPct(x.percent) },
          { label: 'Target %', cls: 'num', render: (x) => fmtPct(x.target_percent) },
        ], v.rows.map((x) => ({ ...x, owner: who(x.owner) })), { caption: `Key ${v.value}` }) : empty('No owners.'))));
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  csv.addEventListener('click', () => busy(csv, slot, async () => {
    const res = await api('GET', '/v1/reports/distribution', { accept: 'text/csv', as: 'response', query: query() });
    download(new Blob([await res.text()], { type: 'text/csv' }), `rota-report-${period.value || 'all-time'}-${new Date().toISOString().slice(0, 10)}.csv`);
  }));
  await load();
}
