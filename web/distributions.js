// Distributions: weighted keys per property value (percents add up to 100), values seen
// without a key, CSV/XLSX import with every rejected row shown, template download.
import {
  add, fill, api, h, enc, listAll, pageHeader, card, field, select, userOptions, badge, busy, toast, modal, empty,
  placeFieldErrors, errorBox, confirmAction, showError, notice, download, fmtPct, table, OBJECT_TYPES,
  showFormError,
} from './ui.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export async function render(root, ctx) {
  const slot = h('div', { 'aria-live': 'polite' });
  const side = h('nav', { class: 'card', 'aria-label': 'Distributions' });
  const detail = h('div');
  add(root, 
    pageHeader('Distributions', 'Weighted keys: for each value of a record property, which users get what share.',
      ctx.canEdit ? h('button', { class: 'primary', type: 'button', id: 'add-distribution', disabled: true, onclick: () => createDist() }, '+ New distribution') : null),
    ctx.canEdit ? null : h('p', { class: 'readonly-note' }, 'You are signed in with a member key: everything is read only.'),
    slot, h('div', { class: 'split' }, side, detail));

  let users = [];
  let current = ctx.params.get('id');
  const userName = (id) => { const u = users.find((x) => x.id === id); return u && u.name ? `${u.name} (${id})` : id; };

  async function load() {
    const [dists, us] = await Promise.all([listAll('/v1/distributions'), listAll('/v1/users')]);
    users = us;
    if (!dists.find((d) => d.id === current)) current = dists[0]?.id;
    fill(side, h('h2', null, 'All distributions'),
      dists.length ? h('ul', { class: 'dist-list' }, dists.map((d) => h('li', null,
        h('button', { type: 'button', 'aria-current': d.id === current ? 'true' : 'false', onclick: () => { current = d.id; load(); } },
          d.name || d.id, h('small', null, `${d.object_type} · ${d.property}`))))) : empty('None yet.'));
    if (current) await showDist(current); else fill(detail, card(null, empty('Create a distribution to set up keys.')));
  }

  async function showDist(id) {
    const d = await api('GET', `/v1/distributions/${enc(id)}`);
    const dslot = h('div', { 'aria-live': 'polite' });
    const keys = d.keys || [];
    const unkeyed = d.unkeyed_values || [];

    const defSel = select(userOptions(users, { none: 'No default owner (unassigned)' }), d.default_owner || '', { disabled: !ctx.canEdit });
    const settings = h('div', { class: 'row' },
      field('Default owner', defSel, { path: 'default_owner', hint: 'Gets records whose value has no key' }),
      ctx.canEdit ? h('button', { type: 'button', onclick: (e) => busy(e.target, dslot, async () => {
        await api('PATCH', `/v1/distributions/${enc(id)}`, { body: { default_owner: defSel.value || null } });
        toast('Default owner saved');
        await load();
      }) }, 'Save default owner') : null,
      h('span', { class: 'spacer' }),
      ctx.canEdit ? h('button', { type: 'button', class: 'danger', onclick: (e) => {
        if (!confirmAction(`Delete distribution ${id}?`)) return;
        busy(e.target, dslot, async () => { await api('DELETE', `/v1/distributions/${enc(id)}`); current = null; toast('Distribution deleted'); await load(); });
      } }, 'Delete distribution') : null);

    const unkeyedBox = unkeyed.length ? h('section', { class: 'unkeyed', 'aria-label': 'Values seen without a key' },
      h('h3', null, `⚠ ${unkeyed.length} value${unkeyed.length === 1 ? '' : 's'} seen without a key`),
      h('p', { style: { margin: '0 0 .6rem' } }, d.default_owner ? `Records with these values go to the default owner, ${userName(d.default_owner)}.` : 'Records with these values stay unassigned (no default owner).'),
      h('div', { class: 'chips' }, unkeyed.map((v) => h('span', { class: 'chip' }, v,
        ctx.canEdit ? h('button', { type: 'button', class: 'small primary', 'aria-label': `Add key for ${v}`, onclick: () => editKey(d, v, []) }, '+ Add key') : null)))) : null;

    const keyBlocks = keys.map((k) => {
      const total = k.owners.reduce((s, o) => s + (o.assigned || 0), 0);
      const sum = k.owners.reduce((s, o) => s + Number(o.percent), 0);
      return h('section', { class: 'key-block', 'data-value': k.value, 'aria-label': `Key ${k.value}` },
        h('div', { class: 'key-head' },
          h('span', { class: 'value' }, k.value),
          h('span', { class: 'muted' }, `${total} record${total === 1 ? '' : 's'} since the key changed`),
          Math.abs(sum - 100) > 0.01 ? badge(`sums to ${sum}%`, 'bad') : null,
          h('span', { class: 'spacer' }),
          ctx.canEdit ? h('button', { type: 'button', class: 'small', 'aria-label': `Edit key ${k.value}`, onclick: () => editKey(d, k.value, k.owners) }, 'Edit') : null,
          ctx.canEdit ? h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete key ${k.value}`, onclick: (e) => {
            if (!confirmAction(`Delete the key for ${k.value}?`)) return;
            busy(e.target, dslot, async () => { await api('DELETE', `/v1/distributions/${enc(id)}/keys/${enc(k.value)}`); toast('Key deleted'); await load(); });
          } }, 'Delete') : null),
        table([
          { label: 'User', render: (o) => userName(o.user) },
          { label: 'Target %', cls: 'num', render: (o) => h('span', null, fmtPct(o.percent), h('span', { class: 'pct-bar', 'aria-hidden': 'true' }, h('span', { style: { width: `${Math.min(100, o.percent)}%`, background: '#b9c2f3' } }))) },
          { label: 'Actual %', cls: 'num', render: (o) => h('span', null, total ? fmtPct((100 * (o.assigned || 0)) / total) : '—', h('span', { class: 'pct-bar', 'aria-hidden': 'true' }, h('span', { style: { width: `${total ? (100 * (o.assigned || 0)) / total : 0}%` } }))) },
          { label: 'Records', cls: 'num', render: (o) => o.assigned ?? 0 },
        ], k.owners, { caption: `Key ${k.value}` }));
    });

    fill(detail, 
      card(null,
        h('div', { class: 'card-head' }, h('h2', null, d.name || d.id, ' ', badge(d.object_type)),
          ctx.canEdit ? h('button', { type: 'button', class: 'small', id: 'edit-distribution', onclick: () => editDist(d) }, 'Edit name and property') : null),
        h('p', { class: 'muted', style: { marginTop: '-.4rem' } }, 'id ', h('code', null, d.id), ' · property ', h('code', null, d.property)),
        settings, dslot),
      card(null,
        h('div', { class: 'card-head' }, h('h2', null, `Keys (${keys.length})`),
          ctx.canEdit ? h('button', { type: 'button', id: 'add-key', onclick: () => editKey(d, null, []) }, '+ Add key for a value') : null),
        unkeyedBox,
        keys.length ? keyBlocks : empty('No keys yet. Add one, or import a file below.')),
      importCard(d));
  }

  function importCard(d) {
    const islot = h('div', { 'aria-live': 'polite', id: 'import-result' });
    const file = h('input', { type: 'file', accept: '.csv,.xlsx,text/csv,' + XLSX });
    const header = h('input', { type: 'checkbox', id: 'import-header' });
    const go = h('button', { type: 'button', class: 'primary', id: 'import-go' }, 'Import');
    go.addEventListener('click', () => busy(go, null, async () => {
      fill(islot);
      const f = file.files[0];
      if (!f) { showError(islot, new Error('Choose a CSV or XLSX file first.'), { title: 'Nothing to import' }); return; }
      const isX = /\.xlsx$/i.test(f.name) || f.type === XLSX;
      try {
        const r = await api('POST', `/v1/distributions/${enc(d.id)}/import`, {
          raw: f, contentType: isX ? XLSX : 'text/csv', query: { header: header.checked ? 'true' : 'false' },
        });
        toast(`Imported ${r.imported} row${r.imported === 1 ? '' : 's'}`);
        await load();
        notice(document.getElementById('import-result') || islot, `Imported ${r.imported} row${r.imported === 1 ? '' : 's'} from ${f.name}.`);
      } catch (e) {
        const rows = (e.details || []).filter((x) => x.row !== undefined);
        fill(islot, errorBox({ ...e, message: `${e.message}${rows.length ? ' — nothing was imported.' : ''}`, details: rows.length ? [] : e.details },
          { title: rows.length ? `The file was rejected: ${rows.length} bad row${rows.length === 1 ? '' : 's'}` : 'The import failed' }),
        rows.length ? table([{ label: 'Row', cls: 'num', key: 'row' }, { label: 'Problem', key: 'message' }], rows, { caption: 'Rejected rows', stack: false }) : null);
      }
    }));
    const tpl = (ext) => h('button', { type: 'button', class: 'small', onclick: (e) => busy(e.target, islot, async () => {
      const blob = await api('GET', `/v1/distributions/${enc(d.id)}/import/template.${ext}`, { as: 'blob' });
      download(blob, `${d.id}-keys-template.${ext}`);
    }) }, `Download .${ext} template`);
    return card('Import keys from a file',
      h('p', { class: 'muted', style: { marginTop: 0 } }, 'Column A the value, B the user id, C the percent (50, 50% or 0.5). The import is all or nothing: one bad row rejects the file.'),
      ctx.canEdit ? h('div', { class: 'row' },
        field('CSV or XLSX file', file),
        h('div', { class: 'field inline' }, header, h('label', { for: 'import-header' }, 'With header row')),
        go) : h('p', { class: 'muted' }, 'Only admins can import.'),
      h('div', { class: 'actions', style: { marginTop: '.8rem' } }, tpl('csv'), tpl('xlsx')),
      islot);
  }

  // The key editor: users with percents, the sum shown live.
  function editKey(d, value, owners) {
    const { body, close } = modal(value ? `Key for “${value}”` : 'New key', { wide: true });
    const valueInput = h('input', { type: 'text', value: value || '', disabled: !!value && owners.length > 0 });
    const rows = h('div', { id: 'key-owners' });
    const sumOut = h('output', { class: 'sum', 'aria-live': 'polite', id: 'key-sum' });
    const update = () => {
      const sum = [...rows.querySelectorAll('input[type=number]')].reduce((s, i) => s + (Number(i.value) || 0), 0);
      const good = Math.abs(sum - 100) <= 0.01;
      sumOut.className = `sum ${good ? 'good' : 'bad'}`;
      sumOut.textContent = `Total ${Math.round(sum * 100) / 100}% ${good ? '✓' : `— must add up to 100 (${sum < 100 ? `${Math.round((100 - sum) * 100) / 100} to go` : `${Math.round((sum - 100) * 100) / 100} too many`})`}`;
    };
    const addRow = (o = {}) => {
      const i = rows.children.length;
      const user = select(userOptions(users, { none: 'Choose a user…' }), o.user || '');
      const pct = h('input', { type: 'number', min: 0, max: 100, step: 'any', value: o.percent ?? '', oninput: update });
      const row = h('div', { class: 'owner-row' },
        field('User', user, { path: `owners[${i}].user` }), field('Percent', pct, { path: `owners[${i}].percent` }),
        h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove this user', onclick: () => { row.remove(); update(); } }, 'Remove'));
      row._get = () => ({ user: user.value, percent: pct.value === '' ? null : Number(pct.value) });
      rows.append(row);
      update();
    };
    (owners.length ? owners : [{}, {}]).forEach((o) => addRow(o));
    const errors = h('div', { 'aria-live': 'polite' });
    const form = h('form', { novalidate: true },
      field(`Value of ${d.property}`, valueInput, { path: 'value', hint: 'Matched ignoring case and surrounding spaces' }),
      h('fieldset', { 'data-path': 'owners' }, h('legend', null, 'Users and their share'), rows,
        h('div', { class: 'row', style: { alignItems: 'center' } },
          h('button', { type: 'button', class: 'small', onclick: () => addRow() }, '+ Add user'), h('span', { class: 'spacer' }), sumOut)),
      h('p', { class: 'muted' }, 'Saving resets this value’s counters (a redistribution).'),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Save key')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fill(errors);
      const v = valueInput.value.trim();
      if (!v) { fill(errors, errorBox(new Error('Enter the value this key is for.'), { title: 'Missing value' })); return; }
      try {
        await api('PUT', `/v1/distributions/${enc(d.id)}/keys/${enc(v)}`, { body: { owners: [...rows.children].map((r) => r._get()) } });
        close();
        toast(`Key for ${v} saved`);
        await load();
      } catch (e) {
        showFormError(errors, form, e);
      }
    });
    body.append(form);
    (value ? rows.querySelector('select') : valueInput).focus();
  }

  function editDist(d) {
    const { body, close } = modal(`Edit ${d.name || d.id}`);
    const name = h('input', { type: 'text', value: d.name || '' });
    const prop = h('input', { type: 'text', value: d.property || '' });
    const errors = h('div', { 'aria-live': 'polite' });
    const form = h('form', { novalidate: true },
      field('Name', name, { path: 'name' }),
      field('Property', prop, { path: 'property', hint: 'The record property whose value picks the key. The keys stay, and are matched against this property from now on.' }),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Save')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fill(errors);
      const property = prop.value.trim();
      if (!property) { fill(errors, errorBox({ message: 'A distribution needs a property.', details: placeFieldErrors(form, [{ path: 'property', message: 'Enter the record property, e.g. county.' }]) })); return; }
      try {
        await api('PATCH', `/v1/distributions/${enc(d.id)}`, { body: { name: name.value, property } });
        close();
        toast('Distribution saved');
        await load();
      } catch (e) {
        showFormError(errors, form, e);
      }
    });
    body.append(form);
    name.focus();
  }

  function createDist() {
    const { body, close } = modal('New distribution');
    const id = h('input', { type: 'text', autocomplete: 'off' });
    const name = h('input', { type: 'text' });
    const type = select(OBJECT_TYPES, 'deal');
    const prop = h('input', { type: 'text', placeholder: 'e.g. county' });
    const def = select(userOptions(users, { none: 'None' }), '');
    const errors = h('div', { 'aria-live': 'polite' });
    const form = h('form', { novalidate: true },
      h('div', { class: 'form-grid' }, field('Distribution id', id, { path: 'id', hint: 'Empty: rota makes one' }), field('Name', name, { path: 'name' })),
      h('div', { class: 'form-grid' }, field('Object type', type, { path: 'object_type' }), field('Property', prop, { path: 'property', hint: 'The record property whose value picks the key' })),
      field('Default owner', def, { path: 'default_owner' }),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Create')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = await api('POST', '/v1/distributions', { body: {
          id: id.value.trim() || undefined, name: name.value, object_type: type.value, property: prop.value.trim(), default_owner: def.value || null } });
        current = r.id;
        close();
        toast('Distribution created');
        await load();
      } catch (e) {
        showFormError(errors, form, e);
      }
    });
    body.append(form);
    id.focus();
  }

  await load();
  root.querySelector('#add-distribution')?.removeAttribute('disabled'); // the editor needs the users loaded first
}
