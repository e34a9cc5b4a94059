// Dashboard: records processed this month, outcomes, the unassigned queue, recent decisions.
import { add, fill, api, h, pageHeader, card, table, outcomeBadge, fmtTime, empty } from './ui.js';

export async function render(root) {
  const [sum, recent] = await Promise.all([
    api('GET', '/v1/reports/summary'),
    api('GET', '/v1/history', { query: { limit: 8 } }),
  ]);
  const by = sum.by_outcome_this_month || {};
  // The workspace's month ("2026-11"), named at its middle: month_start is its first
  // midnight in the workspace's zone, which is the day before in UTC east of Greenwich.
  const month = sum.month ? new Date(`${sum.month}-15T12:00:00Z`).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' }) : 'this month';
  const stat = (id, num, lbl, cls = '') => h('div', { class: `stat ${cls}`, id },
    h('div', { class: 'num' }, num), h('div', { class: 'lbl' }, lbl));
  add(root, 
    pageHeader('Dashboard', `How rota has been assigning records in ${month}.`),
    h('div', { class: 'stats' },
      stat('stat-processed', sum.processed_this_month ?? 0, 'Records processed this month', 'accent'),
      stat('stat-assigned', by.assigned ?? 0, 'Assigned by a rule'),
      stat('stat-fallback', (by.fallback ?? 0) + (by.default ?? 0), 'Fallback or default owner'),
      stat('stat-unassigned', by.unassigned ?? 0, 'Left unassigned'),
      h('a', { class: 'stat', id: 'stat-waiting', href: '#/unassigned', style: { textDecoration: 'none', color: 'inherit' } },
        h('div', { class: 'num' }, sum.unassigned_waiting ?? 0), h('div', { class: 'lbl' }, 'Waiting in the unassigned queue →'))),
    card('Latest decisions',
      recent.items.length ? table([
        { label: 'When', cls: 'nowrap', render: (d) => fmtTime(d.at) },
        { label: 'Record', render: (d) => `${d.object_type} ${d.record_id}` },
        { label: 'Event', key: 'event' },
        { label: 'Outcome', render: (d) => outcomeBadge(d.outcome) },
        { label: 'Owner', render: (d) => d.owner || '—' },
        { label: 'Rule', render: (d) => d.rule || '—' },
      ], recent.items, { caption: 'Latest decisions' }) : empty('No decisions yet. Connect a CRM or send one with POST /v1/assign.'),
      h('p', null, h('a', { href: '#/history' }, 'All history →'))),
  );
}
