// Unassigned: the records whose last decision found no owner, with reasons; send one to a
// pool or rule (assign_requested, as Zendesk Sell and Livespace do), or assign by hand.
import {
  add, fill, api, h, enc, listAll, pageHeader, card, field, select, userOptions, busy, toast, empty, showError, modal,
  fmtTime, REASONS, OBJECT_TYPES, table, badge, errorBox,
} from './ui.js';

export async function render(root, ctx) {
  const [users, pools, rules] = await Promise.all([listAll('/v1/users'), listAll('/v1/pools'), listAll('/v1/rules')]);
  const otype = select([['', 'All types'], ...OBJECT_TYPES], ctx.params.get('object_type') || '');
  const slot = h('div', { 'aria-live': 'polite' });
  const box = h('div');
  add(root, 
    pageHeader('Unassigned', 'Records rota could not give an owner. They stay here until a later decision assigns them, you send one to a pool or rule, or you assign one by hand.'),
    h('div', { class: 'card' }, h('div', { class: 'row' }, field('Object type', otype),
      h('button', { type: 'button', onclick: () => load() }, 'Refresh'))),
    slot, box);
  otype.addEventListener('change', () => load());

  async function load() {
    fill(slot);
    let items;
    try {
      items = await listAll('/v1/unassigned', { object_type: otype.value });
    } catch (e) { showError(slot, e); return; }
    const reasons = {};
    items.forEach((i) => { reasons[i.reason] = (reasons[i.reason] || 0) + 1; });
    fill(box, card(`${items.length} record${items.length === 1 ? '' : 's'} waiting`,
      Object.keys(reasons).length ? h('div', { class: 'chips', style: { marginBottom: '.8rem' } },
        Object.entries(reasons).map(([r, n]) => badge(`${r}: ${n}`, 'bad'))) : null,
      items.length ? table([
        { label: 'Since', cls: 'nowrap', render: (i) => fmtTime(i.at) },
        { label: 'Type', key: 'object_type' },
        { label: 'Record', render: (i) => h('button', { type: 'button', class: 'linkish', 'aria-label': `Details of ${i.object_type} ${i.record_id}`, onclick: () => showRecord(i) }, i.record_id) },
        { label: 'Reason', render: (i) => h('span', null, h('code', null, i.reason), h('div', { class: 'muted', style: { fontSize: '.82rem' } }, REASONS[i.reason] || '')) },
        // Members send too when their key may reassign (GET /v1/me said so at sign-in).
        ...(ctx.canReassign ? [{ label: 'Send to a pool or rule', cls: 'actions-cell', render: (i) => sendControl(i) }] : []),
        ...(ctx.canEdit ? [{ label: 'Assign by hand', cls: 'actions-cell', render: (i) => assignControl(i) }] : []),
      ], items, { caption: 'Unassigned records', rowAttrs: (i) => ({ 'data-record': i.record_id }) })
        : empty('Nothing waiting: every record has an owner.')));
  }

  // assign_requested: the pool's next eligible member, or what the rule decides (its
  // conditions aside), with the rule's fallback and the default owner behind it.
  function sendControl(i) {
    const targets = [
      ...pools.filter((p) => p.object_type === i.object_type).map((p) => [`pool:${p.id}`, `Pool: ${p.name || p.id}`]),
      ...rules.filter((r) => r.object_type === i.object_type).map((r) => [`rule:${r.id}`, `Rule: ${r.name || r.id}`]),
    ];
    if (!targets.length) return h('span', { class: 'muted' }, `No pool or rule for ${i.object_type} records`);
    const sel = select([['', 'Pool or rule…'], ...targets], '', { 'aria-label': `Send ${i.object_type} ${i.record_id} to` });
    const btn = h('button', { type: 'button', class: 'small' }, 'Send');
    btn.addEventListener('click', () => busy(btn, slot, async () => {
      if (!sel.value) throw new Error(`Choose a pool or rule for ${i.record_id} first.`);
      const colon = sel.value.indexOf(':');
      const kind = sel.value.slice(0, colon);
      const id = sel.value.slice(colon + 1);
      const d = await api('POST', '/v1/assign', {
        body: { object_type: i.object_type, event: 'assign_requested', record: { id: i.record_id }, target: { [kind]: id } },
      });
      toast(d.owner
        ? `${i.object_type} ${i.record_id} sent to ${kind} ${id}: now owned by ${d.owner}`
        : `${i.object_type} ${i.record_id} sent to ${kind} ${id}: still unassigned (${d.reason})`);
      await load();
    }));
    return h('div', { class: 'row', style: { justifyContent: 'flex-end', flexWrap: 'nowrap' } }, sel, btn);
  }

  function assignControl(i) {
    const sel = select(userOptions(users, { none: 'Choose owner…' }), '', { 'aria-label': `Owner for ${i.object_type} ${i.record_id}` });
    const btn = h('button', { type: 'button', class: 'small primary' }, 'Assign');
    btn.addEventListener('click', () => busy(btn, slot, async () => {
      if (!sel.value) throw new Error(`Choose an owner for ${i.record_id} first.`);
      // PUT replaces the record: keep what rota knows and set the owner.
      const rec = await api('GET', `/v1/records/${enc(i.object_type)}/${enc(i.record_id)}`);
      await api('PUT', `/v1/records/${enc(i.object_type)}/${enc(i.record_id)}`, {
        body: { properties: rec.properties || {}, links: rec.links || {}, tags: rec.tags || [], open: rec.open !== false, owners: [sel.value] },
      });
      toast(`${i.object_type} ${i.record_id} assigned to ${sel.value}`);
      await load();
    }));
    return h('div', { class: 'row', style: { justifyContent: 'flex-end', flexWrap: 'nowrap' } }, sel, btn);
  }

  async function showRecord(i) {
    const { body } = modal(`${i.object_type} ${i.record_id}`, { wide: true });
    try {
      const r = await api('GET', `/v1/records/${enc(i.object_type)}/${enc(i.record_id)}`);
      const props = Object.entries(r.properties || {});
      body.append(
        h('h3', { style: { marginTop: 0 } }, 'Properties'),
        props.length ? table([{ label: 'Property', render: (p) => h('code', null, p[0]) }, { label: 'Value', render: (p) => JSON.stringify(p[1]) }], props, { stack: false }) : empty('No properties.'),
        h('p', null, `Owners: ${(r.owners || []).join(', ') || 'none'} · Links: ${Object.entries(r.links || {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'} · ${r.open === false ? 'closed' : 'open'}`),
        h('h3', null, 'Activity'),
        (r.activity || []).length ? h('ul', null, r.activity.map((a) => h('li', null, fmtTime(a.at), ' — ',
          a.kind === 'note' ? `note: ${a.text}` : `${a.event}: ${a.outcome}${a.owner ? ` → ${a.owner}` : ''}${a.reason ? ` (${a.reason})` : ''}`))) : empty('No activity.'));
    } catch (e) { body.append(errorBox(e)); }
  }

  await load();
}
