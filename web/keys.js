// API keys: who may call rota and with which role; a new key's secret is shown once;
// revoking stops a key at once. Admin only.
import {
  add, fill, api, h, listAll, enc, pageHeader, card, table, field, select, badge, busy, toast, modal, empty,
  showError, confirmAction, fmtTime, revealOnce,
  showFormError,
} from './ui.js';

const ROLES = [
  ['member', 'member: reads everything; with "can reassign", may ask for a new owner'],
  ['admin', 'admin: every call, including keys and webhooks'],
  ['integration', 'integration: sends records and decisions only (for your CRM or scripts)'],
];

export async function render(root, ctx) {
  const slot = h('div', { 'aria-live': 'polite' });
  const list = h('div');
  add(root,
    pageHeader('API keys', 'Each key belongs to this workspace and has a role. A key\'s secret is shown once, when it is created; revoking a key stops it at once.',
      ctx.canEdit ? h('button', { class: 'primary', type: 'button', id: 'add-key', onclick: () => createKey() }, '+ New key') : null),
    slot, list);

  async function load() {
    const items = await listAll('/v1/keys');
    const active = items.filter((k) => !k.revoked).length;
    fill(list, card(`${active} active key${active === 1 ? '' : 's'}${items.length > active ? `, ${items.length - active} revoked` : ''}`,
      items.length ? table([
        { label: 'Name', render: (k) => k.name || h('span', { class: 'muted' }, '(no name)') },
        { label: 'Id', render: (k) => h('code', null, k.id) },
        { label: 'Role', render: (k) => badge(k.role, `role-${k.role}`) },
        { label: 'Can reassign', render: (k) => (k.role !== 'member' ? h('span', { class: 'muted', title: 'Only a member key\'s setting matters' }, '—')
          : k.can_reassign ? 'yes' : h('span', { class: 'muted' }, 'no')) },
        { label: 'Created', cls: 'nowrap', render: (k) => fmtTime(k.created_at) },
        { label: 'Status', render: (k) => (k.revoked ? badge('revoked', 'bad') : badge('active', 'ok')) },
        { label: 'Actions', cls: 'actions-cell', render: (k) => (k.revoked ? null
          : h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${k.name || k.id}`, onclick: (e) => revoke(k, e.target) }, 'Revoke')) },
      ], items, { caption: 'API keys', rowAttrs: (k) => ({ 'data-key': k.id, class: k.revoked ? 'revoked' : null }) }) : empty('No keys.')));
  }

  async function revoke(k, btn) {
    if (!confirmAction(`Revoke the key ${k.name ? `"${k.name}" ` : ''}(${k.id})? It stops working at once. If it is the key you signed in with, you will be signed out.`)) return;
    await busy(btn, slot, async () => {
      await api('DELETE', `/v1/keys/${enc(k.id)}`);
      toast(`Revoked ${k.name || k.id}`);
      await load();
    });
  }

  function createKey() {
    const { body, close } = modal('New API key');
    const name = h('input', { type: 'text', autocomplete: 'off', placeholder: 'e.g. HubSpot integration' });
    const role = select(ROLES, 'member');
    const reassign = h('input', { type: 'checkbox', id: 'key-can-reassign', 'data-path': 'can_reassign' });
    const reassignBox = h('div', { class: 'field inline' }, reassign,
      h('label', { for: 'key-can-reassign' }, 'Can reassign: a member key may ask for a record to be assigned again to a pool or rule'));
    const syncRole = () => { reassignBox.hidden = role.value !== 'member'; if (reassignBox.hidden) reassign.checked = false; };
    role.addEventListener('change', syncRole);
    syncRole();
    const errors = h('div', { class: 'editor-errors', 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Create key');
    const form = h('form', { novalidate: true },
      field('Name', name, { path: 'name', hint: 'Who or what uses it' }),
      field('Role', role, { path: 'role' }),
      reassignBox,
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'), save));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fill(errors);
      save.disabled = true;
      try {
        const k = await api('POST', '/v1/keys', { body: { name: name.value.trim(), role: role.value, can_reassign: reassign.checked } });
        load().catch((e) => showError(slot, e));
        revealOnce(body, {
          title: `Key ${k.name ? `"${k.name}" ` : ''}created (${k.role})`, label: 'API key', value: k.key,
          note: 'Copy it now: it is shown this once and cannot be read again. It goes in the Authorization: Bearer header.',
          onDone: () => close(),
        });
      } catch (e) {
        showFormError(errors, form, e);
      } finally { save.disabled = false; }
    });
    body.append(form);
    name.focus();
  }

  try {
    await load();
  } catch (e) {
    showError(slot, e, { title: 'Could not read the keys' });
  }
}
