// Users: the owner ids rota may assign to, with availability (active, out of office,
// working hours) and caps.
import {
  add, fill, api, h, enc, listAll, pageHeader, card, table, field, badge, busy, toast, modal, empty,
  placeFieldErrors, errorBox, fmtTime, toLocalInput, fromLocalInput, confirmAction, showError,
} from './ui.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function hoursText(day) {
  if (!day) return '';
  const list = Array.isArray(day[0]) ? day : [day];
  return list.map((i) => `${i[0]}-${i[1]}`).join(', ');
}
function parseHours(text) {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  const list = parts.map((p) => p.split('-').map((s) => s.trim()));
  if (!list.length) return null;
  return list.length === 1 ? list[0] : list;
}
function summarizeHours(wh) {
  if (!wh) return 'Always';
  const days = DAYS.filter((d) => wh.days && wh.days[d]);
  if (!days.length) return `Never (${wh.tz})`;
  const first = hoursText(wh.days[days[0]]);
  const same = days.every((d) => hoursText(wh.days[d]) === first);
  return same ? `${days.length === 5 && days[0] === 'mon' && days[4] === 'fri' ? 'Mon–Fri' : days.join(', ')} ${first} (${wh.tz})`
    : `${days.length} days (${wh.tz})`;
}
function oooText(u) {
  const now = Date.now();
  const current = (u.out_of_office || []).filter((p) => new Date(p.to).getTime() > now);
  if (!current.length) return '—';
  const p = current[0];
  const active = new Date(p.from).getTime() <= now;
  return h('span', null, active ? badge('away', 'warn') : null, ` ${fmtTime(p.from)} → ${fmtTime(p.to)}`,
    current.length > 1 ? ` (+${current.length - 1})` : '');
}

export async function render(root, ctx) {
  const slot = h('div', { 'aria-live': 'polite' });
  const listCard = h('div');
  add(root, 
    pageHeader('Users', 'The people rota can assign records to. The id is the owner id in your CRM.',
      ctx.canEdit ? h('button', { class: 'primary', type: 'button', id: 'add-user', onclick: () => editUser(null) }, '+ Add user') : null),
    ctx.canEdit ? null : h('p', { class: 'readonly-note' }, 'You are signed in with a member key: everything is read only.'),
    slot, listCard);

  async function load() {
    const users = await listAll('/v1/users');
    fill(listCard, card(`${users.length} user${users.length === 1 ? '' : 's'}`,
      users.length ? table([
        { label: 'Owner id', render: (u) => h('code', null, u.id) },
        { label: 'Name', render: (u) => u.name || '—' },
        { label: 'Email', render: (u) => u.email || '—' },
        { label: 'Active', render: (u) => ctx.canEdit
          ? h('label', { class: 'field inline', style: { margin: 0 } },
            h('input', { type: 'checkbox', checked: u.active, 'aria-label': `${u.id} active`, onchange: (e) => toggle(u, e.target) }),
            u.active ? 'Active' : 'Inactive')
          : badge(u.active ? 'active' : 'inactive', u.active ? 'ok' : 'bad') },
        { label: 'Out of office', render: oooText },
        { label: 'Working hours', render: (u) => summarizeHours(u.working_hours) },
        { label: 'Caps', render: (u) => [u.caps?.per_day != null ? `${u.caps.per_day} a day` : null, u.caps?.max_open != null ? `${u.caps.max_open} open` : null].filter(Boolean).join(' · ') || h('span', { class: 'muted' }, 'none') },
        ...(ctx.canEdit ? [{ label: 'Actions', cls: 'actions-cell', render: (u) => [
          h('button', { type: 'button', class: 'small', onclick: () => editUser(u), 'aria-label': `Edit ${u.id}` }, 'Edit'),
          h('button', { type: 'button', class: 'small danger', onclick: (e) => remove(u, e.target), 'aria-label': `Delete ${u.id}` }, 'Delete'),
        ] }] : []),
      ], users, { caption: 'Users' }) : empty('No users yet.')));
  }

  async function toggle(u, box) {
    box.disabled = true;
    try {
      await api('PATCH', `/v1/users/${enc(u.id)}`, { body: { active: box.checked } });
      toast(`${u.id} is now ${box.checked ? 'active' : 'inactive'}`);
      await load();
    } catch (e) {
      box.checked = !box.checked;
      showError(slot, e);
    } finally { box.disabled = false; }
  }

  async function remove(u, btn) {
    if (!confirmAction(`Delete user ${u.id}?`)) return;
    await busy(btn, slot, async () => {
      await api('DELETE', `/v1/users/${enc(u.id)}`);
      toast(`Deleted ${u.id}`);
      await load();
    });
  }

  function editUser(u) {
    const isNew = !u;
    u = u || { active: true, out_of_office: [], working_hours: null, caps: {} };
    const { body, close } = modal(isNew ? 'Add user' : `Edit ${u.id}`, { wide: true });
    const id = h('input', { type: 'text', value: u.id || '', required: true, disabled: !isNew, autocomplete: 'off' });
    const name = h('input', { type: 'text', value: u.name || '' });
    const email = h('input', { type: 'email', value: u.email || '' });
    const active = h('input', { type: 'checkbox', checked: u.active !== false, id: 'user-active' });
    const perDay = h('input', { type: 'number', min: 0, step: 1, value: u.caps?.per_day ?? '' });
    const maxOpen = h('input', { type: 'number', min: 0, step: 1, value: u.caps?.max_open ?? '' });
    const useHours = h('input', { type: 'checkbox', checked: !!u.working_hours, id: 'user-hours-on' });
    const tz = h('input', { type: 'text', value: u.working_hours?.tz || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
    const dayInputs = Object.fromEntries(DAYS.map((d) => [d, h('input', { type: 'text', placeholder: 'e.g. 09:00-17:00', value: hoursText(u.working_hours?.days?.[d]) })]));
    const hoursBox = h('div', { class: 'form-grid' },
      field('Time zone', tz, { path: 'working_hours.tz', hint: 'IANA name, e.g. Europe/London' }),
      DAYS.map((d) => field(d[0].toUpperCase() + d.slice(1), dayInputs[d], { path: `working_hours.days.${d}` })));
    const syncHours = () => { hoursBox.hidden = !useHours.checked; };
    useHours.addEventListener('change', syncHours);
    syncHours();
    const oooList = h('div');
    const addPeriod = (p = {}) => {
      const i = oooList.children.length;
      const from = h('input', { type: 'datetime-local', step: 1, value: toLocalInput(p.from) });
      const to = h('input', { type: 'datetime-local', step: 1, value: toLocalInput(p.to) });
      const row = h('div', { class: 'row ooo-row', style: { marginBottom: '.5rem' } },
        field('From', from, { path: `out_of_office[${i}].from` }), field('To (excluded)', to, { path: `out_of_office[${i}].to` }),
        h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove this period', onclick: () => row.remove() }, 'Remove'));
      row._get = () => ({ from: fromLocalInput(from.value), to: fromLocalInput(to.value) });
      oooList.append(row);
    };
    (u.out_of_office || []).forEach(addPeriod);
    const errors = h('div', { class: 'editor-errors', 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, isNew ? 'Add user' : 'Save');
    const form = h('form', { novalidate: true },
      h('div', { class: 'form-grid' },
        field('Owner id', id, { path: 'id', hint: 'The owner id in your CRM' }),
        field('Name', name, { path: 'name' }),
        field('Email', email, { path: 'email' })),
      h('div', { class: 'field inline' }, active, h('label', { for: 'user-active' }, 'Active: can receive records')),
      h('fieldset', null, h('legend', null, 'Caps'),
        h('div', { class: 'form-grid' },
          field('Max new records per day', perDay, { path: 'caps.per_day', hint: 'Empty: no cap' }),
          field('Max open records', maxOpen, { path: 'caps.max_open', hint: 'Empty: no cap' }))),
      h('fieldset', null, h('legend', null, 'Working hours'),
        h('div', { class: 'field inline' }, useHours, h('label', { for: 'user-hours-on' }, 'Only inside working hours (otherwise always available)')),
        hoursBox, h('p', { class: 'hint muted' }, 'Per day, one or more intervals: 09:00-12:00, 13:00-17:00. Leave a day empty for none.')),
      h('fieldset', { 'data-path': 'out_of_office' }, h('legend', null, 'Out of office'), oooList,
        h('button', { type: 'button', class: 'small', onclick: () => addPeriod() }, '+ Add period')),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'), save));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const num = (v) => (v.value === '' ? null : Number(v.value));
      const doc = {
        name: name.value, email: email.value, active: active.checked,
        caps: { per_day: num(perDay), max_open: num(maxOpen) },
        out_of_office: [...oooList.children].map((r) => r._get()),
        working_hours: useHours.checked ? {
          tz: tz.value.trim(),
          days: Object.fromEntries(DAYS.map((d) => [d, parseHours(dayInputs[d].value)]).filter(([, v]) => v)),
        } : null,
      };
      fill(errors);
      // The CRM's owner id is what rota writes back: a made-up one would match no owner.
      if (isNew && !id.value.trim()) {
        placeFieldErrors(form, [{ path: 'id', message: 'the owner id in your CRM is required' }]);
        id.focus();
        return;
      }
      save.disabled = true;
      try {
        if (isNew) await api('POST', '/v1/users', { body: { id: id.value.trim() || undefined, ...doc } });
        else await api('PATCH', `/v1/users/${enc(u.id)}`, { body: doc });
        close();
        toast(isNew ? 'User added' : 'User saved');
        await load();
      } catch (e) {
        const left = placeFieldErrors(form, e.details);
        fill(errors, errorBox({ ...e, message: e.message, details: left }));
      } finally { save.disabled = false; }
    });
    body.append(form);
    (isNew ? id : name).focus();
  }

  await load();
}
