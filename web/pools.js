// Pools: members in serving order (strict round robin), who is next, join at the end, leave.
import {
  add, fill, api, h, enc, listAll, pageHeader, card, field, select, userOptions, badge, busy, toast, modal, empty,
  confirmAction, OBJECT_TYPES,
  showFormError,
} from './ui.js';

export async function render(root, ctx) {
  const slot = h('div', { 'aria-live': 'polite' });
  const list = h('div', { class: 'cols' });
  add(root, 
    pageHeader('Pools', 'Round robin teams: each record goes to the next eligible member after the one served last. New members join at the end.',
      ctx.canEdit ? h('button', { class: 'primary', type: 'button', id: 'add-pool', onclick: () => createPool() }, '+ New pool') : null),
    ctx.canEdit ? null : h('p', { class: 'readonly-note' }, 'You are signed in with a member key: everything is read only.'),
    slot, list);

  let users = [];
  const userName = (id) => { const u = users.find((x) => x.id === id); return u && u.name ? `${u.name}` : id; };

  async function load() {
    const [pools, us] = await Promise.all([listAll('/v1/pools'), listAll('/v1/users')]);
    users = us;
    fill(list, ...(pools.length ? pools.map(poolCard) : [card(null, empty('No pools yet.'))]));
  }

  function poolCard(p) {
    const cardSlot = h('div', { 'aria-live': 'polite' });
    const members = p.members || [];
    const memberIds = new Set(members.map((m) => m.user));
    const candidates = users.filter((u) => !memberIds.has(u.id));
    const addSel = select(userOptions(candidates, { none: 'Choose a user…' }), '');
    const addBtn = h('button', { type: 'button', class: 'primary', disabled: !candidates.length }, 'Add to the end');
    addBtn.addEventListener('click', () => busy(addBtn, cardSlot, async () => {
      if (!addSel.value) throw new Error('Choose a user to add.');
      await api('POST', `/v1/pools/${enc(p.id)}/members`, { body: { user: addSel.value } });
      toast(`${addSel.value} joined ${p.id}`);
      await load();
    }));
    return h('section', { class: 'card pool', 'data-pool': p.id, 'aria-label': `Pool ${p.id}` },
      h('div', { class: 'card-head' },
        h('h2', null, p.name || p.id, ' ', badge(p.object_type)),
        ctx.canEdit ? h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'small', 'aria-label': `Rename pool ${p.id}`, onclick: () => renamePool(p) }, 'Rename'),
          h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete pool ${p.id}`, onclick: (e) => removePool(p, e.target, cardSlot) }, 'Delete')) : null),
      h('p', { class: 'muted', style: { marginTop: '-.5rem' } }, 'id ', h('code', null, p.id)),
      h('p', { class: 'next-line' }, 'Next record goes to: ',
        p.next ? h('strong', { class: 'next-user' }, userName(p.next), p.next !== userName(p.next) ? ` (${p.next})` : '')
          : h('strong', { class: 'next-user' }, 'nobody eligible now')),
      members.length ? h('ol', { class: 'members', 'aria-label': `Members of ${p.id} in serving order` },
        members.map((m) => h('li', { class: m.user === p.next ? 'is-next' : '' },
          h('span', { class: 'pos', 'aria-label': `position ${m.position}` }, m.position),
          h('span', { class: 'who-name' }, userName(m.user), m.user !== userName(m.user) ? h('span', { class: 'muted' }, ` · ${m.user}`) : null),
          m.user === p.next ? badge('next', 'next') : null,
          ctx.canEdit ? h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${m.user} from ${p.id}`,
            onclick: (e) => busy(e.target, cardSlot, async () => {
              await api('DELETE', `/v1/pools/${enc(p.id)}/members/${enc(m.user)}`);
              toast(`${m.user} left ${p.id}`);
              await load();
            }) }, 'Remove') : null)))
        : empty('No members yet.'),
      ctx.canEdit ? h('div', { class: 'row' }, field(`Add a member to ${p.id}`, addSel, { cls: 'grow' }), addBtn) : null,
      cardSlot);
  }

  async function removePool(p, btn, cardSlot) {
    if (!confirmAction(`Delete pool ${p.id}?`)) return;
    await busy(btn, cardSlot, async () => {
      await api('DELETE', `/v1/pools/${enc(p.id)}`);
      toast(`Deleted pool ${p.id}`);
      await load();
    });
  }

  function renamePool(p) {
    const { body, close } = modal(`Rename pool ${p.id}`);
    const name = h('input', { type: 'text', value: p.name || '' });
    const errors = h('div', { 'aria-live': 'polite' });
    const form = h('form', { novalidate: true },
      field('Name', name, { path: 'name', hint: `The id ${p.id} stays: rules name the pool by its id` }),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Save name')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('PATCH', `/v1/pools/${enc(p.id)}`, { body: { name: name.value } });
        close();
        toast(`Pool ${p.id} renamed`);
        await load();
      } catch (e) {
        showFormError(errors, form, e);
      }
    });
    body.append(form);
    name.focus();
  }

  function createPool() {
    const { body, close } = modal('New pool');
    const id = h('input', { type: 'text', autocomplete: 'off' });
    const name = h('input', { type: 'text' });
    const type = select(OBJECT_TYPES, 'lead');
    const errors = h('div', { 'aria-live': 'polite' });
    const form = h('form', { novalidate: true },
      field('Pool id', id, { path: 'id', hint: 'Leave empty to let rota make one' }),
      field('Name', name, { path: 'name' }),
      field('Object type', type, { path: 'object_type', hint: 'A pool serves one object type only' }),
      h('p', { class: 'muted' }, 'Add members after creating the pool; they are served in the order they join.'),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Create pool')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('POST', '/v1/pools', { body: { id: id.value.trim() || undefined, name: name.value, object_type: type.value, members: [] } });
        close();
        toast('Pool created');
        await load();
      } catch (e) {
        showFormError(errors, form, e);
      }
    });
    body.append(form);
    id.focus();
  }

  await load();
}
