// Connectors: the CRMs that call rota (HubSpot, Pipedrive, any CRM through the generic
// route) and get the decided owners written back; user sync; the write-backs' outbox.
import {
  add, fill, api, h, listAll, enc, pageHeader, card, field, select, badge, busy, toast, modal, empty, notice,
  placeFieldErrors, errorBox, showError, confirmAction, copyField, deliveriesTable, pagedList, readonlyNote, OBJECT_TYPES,
} from './ui.js';

// What each kind takes (docs/openapi.yaml, ConnectorCreate).
const KINDS = {
  hubspot: {
    label: 'HubSpot',
    apiBase: { hint: 'Leave empty for https://api.hubapi.com', placeholder: 'https://api.hubapi.com' },
    credentials: [
      ['app_secret', 'App secret', 'The HubSpot app\'s client secret: checks X-HubSpot-Signature-v3 on calls in'],
      ['access_token', 'Access token', 'A private app\'s access token: writes owners back and reads owners'],
    ],
    howTo: 'In HubSpot, add the workflow action "Send a webhook" (POST) to the connector\'s inbound URL.',
  },
  pipedrive: {
    label: 'Pipedrive',
    apiBase: { hint: 'Your company\'s Pipedrive URL', placeholder: 'https://COMPANY.pipedrive.com' },
    credentials: [
      ['webhook_user', 'Webhook user', 'The HTTP basic auth user you set on the Pipedrive webhook'],
      ['webhook_password', 'Webhook password', 'The HTTP basic auth password you set on the Pipedrive webhook'],
      ['api_token', 'API token', 'A Pipedrive API token: writes owners back and reads users'],
    ],
    howTo: 'In Pipedrive, add a webhook (added and updated events) to the connector\'s inbound URL, with the basic auth user and password set here.',
  },
  generic: {
    label: 'Generic',
    apiBase: { hint: 'The URL rota POSTs its decisions to (needed while write back is on)', placeholder: 'https://crm.example.com/rota' },
    credentials: [
      ['secret', 'Secret', 'Signs calls in (Rota-Signature: t=UNIX,v1=HMAC-SHA256 of "t.body") and write-backs out'],
    ],
    howTo: 'Your CRM POSTs its records to the connector\'s inbound URL, signed with the secret; the field map says where each value is.',
  },
};
const FIELDS = ['record_id', 'object_type', 'event', 'properties', 'previous', 'links', 'owners', 'open', 'idempotency_key', 'pool', 'rule'];
const DEFAULT_FIELDS = { record_id: '$.id', object_type: '$.object_type', event: '$.event', properties: '$.properties', previous: '$.previous', links: '$.links', idempotency_key: '$.event_id' };

// The full URL to paste into the CRM: the address the CRM calls rota on (public_url when
// rota is behind a proxy, else this console's origin) + the connector's inbound path.
const inboundUrl = (c) => (c.public_url || location.origin) + c.inbound_url;

const SECRET_MISSING_TITLE = 'Connectors are switched off on this server';
function apiErrorBox(e) {
  return errorBox(e, e.code === 'secret_key_missing' ? { title: SECRET_MISSING_TITLE } : undefined);
}

// Rows of "key → value" with add and remove; each value control carries data-path
// `${path}.${key}` so the server's errors land beside it.
function mapEditor(path, entries, { keys, values, keyLabel, valueLabel, addLabel, placeholder }) {
  const rows = h('div', { class: 'map-rows' });
  const addRow = (k = '', v = '') => {
    const keyCtl = keys ? select([['', 'Choose…'], ...keys.map((x) => [x, x])], k) : h('input', { type: 'text', value: k, autocomplete: 'off' });
    const valCtl = values ? select([['', 'Choose…'], ...values.map((x) => [x, x])], v) : h('input', { type: 'text', value: v, placeholder, spellcheck: 'false' });
    const sync = () => { valCtl.dataset.path = `${path}.${keyCtl.value.trim()}`; };
    keyCtl.addEventListener('input', sync);
    keyCtl.addEventListener('change', sync);
    const row = h('div', { class: 'map-row' },
      field(keyLabel, keyCtl, { cls: 'sr-label' }), field(valueLabel, valCtl, { cls: 'sr-label' }),
      h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove this mapping', onclick: () => row.remove() }, 'Remove'));
    row._get = () => [keyCtl.value.trim(), valCtl.value.trim()];
    rows.append(row);
    sync();
    return row;
  };
  for (const [k, v] of Object.entries(entries || {})) addRow(k, v);
  const head = h('div', { class: 'map-row map-head', 'aria-hidden': 'true' }, h('span', null, keyLabel), h('span', null, valueLabel), h('span'));
  const wrap = h('div', { 'data-path': path }, head, rows,
    h('button', { type: 'button', class: 'small', onclick: () => addRow().querySelector('input, select').focus() }, addLabel));
  wrap._get = () => Object.fromEntries([...rows.children].map((r) => r._get()).filter(([k]) => k));
  return wrap;
}

export async function render(root, ctx) {
  const slot = h('div', { 'aria-live': 'polite' });
  const list = h('div');
  add(root,
    pageHeader('Connectors', 'The CRMs that send their records to rota and get the decided owner written back.',
      ctx.canEdit ? h('button', { class: 'primary', type: 'button', id: 'add-connector', onclick: () => editConnector(null) }, '+ New connector') : null),
    readonlyNote(ctx),
    slot, list);

  async function load() {
    const items = await listAll('/v1/connectors');
    fill(list, ...(items.length ? items.map(connectorCard) : [card(null, empty('No connectors yet. Add one to let a CRM send its records.'))]));
  }

  function connectorCard(c) {
    const kind = KINDS[c.kind] || KINDS.generic;
    const cardSlot = h('div', { 'aria-live': 'polite' });
    const writeBacks = h('div', { class: 'write-backs' }, h('p', { class: 'loading' }, 'Loading…'));
    const needed = kind.credentials.map(([n]) => n);
    const set = new Set(c.credentials_set || []);
    const section = h('section', { class: 'card connector', 'data-connector': c.id, 'aria-label': `Connector ${c.id}` },
      h('div', { class: 'card-head' },
        h('h2', null, c.id, ' ', badge(kind.label)),
        ctx.canEdit ? h('div', { class: 'actions' },
          // A generic CRM has no user list rota can read: no button that can only fail.
          c.kind === 'generic' ? null : h('button', { type: 'button', class: 'small', 'aria-label': `Sync users from ${c.id}`, onclick: (e) => syncUsers(c, e.target, cardSlot) }, 'Sync users'),
          h('button', { type: 'button', class: 'small', 'aria-label': `Edit ${c.id}`, onclick: () => editConnector(c) }, 'Edit'),
          h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${c.id}`, onclick: (e) => remove(c, e.target, cardSlot) }, 'Delete')) : null),
      c.error ? h('div', { class: 'alert warn', role: 'status' }, h('strong', null, 'The credentials cannot be opened'), h('p', null, c.error)) : null,
      h('dl', { class: 'facts' },
        h('dt', null, 'API base'), h('dd', null, c.api_base ? h('code', null, c.api_base) : h('span', { class: 'muted' }, 'none')),
        h('dt', null, 'Write back'), h('dd', null, c.write_back ? badge('on', 'ok') : badge('off')),
        h('dt', null, 'Credentials'), h('dd', { class: 'tags creds' }, needed.map((n) => badge(set.has(n) ? `${n} ✓` : `${n}: not set`, set.has(n) ? 'ok' : 'warn')), ' '),
        c.kind === 'generic' && c.field_map ? [h('dt', null, 'Field map'), h('dd', { class: 'tags' }, Object.entries(c.field_map).map(([k, v]) => h('span', { class: 'chip' }, `${k} ← ${v}`)))] : null,
        Object.keys(c.user_map || {}).length ? [h('dt', null, 'User map'), h('dd', { class: 'tags' }, Object.entries(c.user_map).map(([k, v]) => h('span', { class: 'chip' }, `${k} → ${v}`)))] : null),
      c.inbound_url ? copyField('Inbound URL', inboundUrl(c), { hint: kind.howTo }) : null,
      cardSlot,
      h('h3', null, 'Write-backs'),
      writeBacks);
    loadWriteBacks(c, writeBacks, cardSlot);
    return section;
  }

  async function loadWriteBacks(c, box, cardSlot) {
    try {
      await pagedList(box, `/v1/connectors/${enc(c.id)}/deliveries`, (items) => deliveriesTable(items, {
          caption: `Write-backs of ${c.id}`,
          describe: (d) => (d.body && d.body.record_id ? h('span', null, h('code', null, `${d.body.object_type} ${d.body.record_id}`), ` → ${d.body.owner}`) : h('code', null, d.event)),
          // A failed write-back (the CRM down past the last attempt) can be sent again.
          retry: ctx.canEdit ? (d) => (d.status !== 'failed' ? '' : h('button', {
            type: 'button', class: 'small', 'aria-label': `Resend write-back ${d.id}`,
            onclick: (e) => busy(e.target, cardSlot, async () => {
              await api('POST', `/v1/connectors/${enc(c.id)}/deliveries/${enc(d.id)}/retry`);
              toast(`Write-back ${d.id} queued to send again`);
              await loadWriteBacks(c, box, cardSlot);
            }),
          }, 'Resend')) : undefined,
        }), c.write_back ? 'Nothing written back yet.' : 'Write back is off: rota only answers the CRM\'s calls.');
    } catch (e) {
      fill(box, errorBox(e, { title: 'Could not read the write-backs' }));
    }
  }

  async function syncUsers(c, btn, cardSlot) {
    await busy(btn, null, async () => {
      try {
        const r = await api('POST', `/v1/connectors/${enc(c.id)}/sync-users`);
        notice(cardSlot, `Synced ${r.users} user${r.users === 1 ? '' : 's'} from ${c.id}: ${r.created} created, ${r.updated} updated, ${r.unchanged ?? 0} unchanged, ${r.inactive} inactive.`);
      } catch (e) {
        // a refusal names the connector's setting at fault: say it in words, once
        const words = (d) => (d.path && d.path !== 'kind' ? `${d.path.replace(/^credentials\./, '')}: ${d.message}` : d.message);
        const plain = e.details.length ? { status: e.status, code: e.code, message: e.details.map(words).join(' · '), details: [] } : e;
        fill(cardSlot, errorBox(plain, { title: `Users could not be synced from ${c.id}` }));
      }
    });
  }

  async function remove(c, btn, cardSlot) {
    if (!confirmAction(`Delete connector ${c.id}? Its pending write-backs are marked failed, and the CRM's calls to it will be refused.`)) return;
    await busy(btn, cardSlot, async () => {
      await api('DELETE', `/v1/connectors/${enc(c.id)}`);
      toast(`Deleted connector ${c.id}`);
      await load();
    });
  }

  function editConnector(c) {
    const isNew = !c;
    const { body, close } = modal(isNew ? 'New connector' : `Edit connector ${c.id}`, { wide: true });
    const kindSel = select(Object.entries(KINDS).map(([k, v]) => [k, v.label]), c?.kind || 'hubspot', { disabled: !isNew });
    const id = h('input', { type: 'text', value: c?.id || '', disabled: !isNew, autocomplete: 'off' });
    const apiBase = h('input', { type: 'text', inputmode: 'url', value: c?.api_base || '', spellcheck: 'false' });
    const writeBack = h('input', { type: 'checkbox', checked: c ? c.write_back : true, id: 'connector-write-back', 'data-path': 'write_back' });
    const publicUrl = h('input', { type: 'text', inputmode: 'url', value: c?.public_url || '', spellcheck: 'false', placeholder: location.origin });
    const kindBox = h('div');
    const errors = h('div', { class: 'editor-errors', 'aria-live': 'polite' });
    let creds = {};
    let fieldMap = null;
    const userMap = mapEditor('user_map', c?.user_map, { keyLabel: 'rota user id', valueLabel: 'CRM owner id', addLabel: '+ Add user mapping' });
    const customObjects = c ? c.object_map : {};
    const objectMap = mapEditor('object_map', customObjects, { values: OBJECT_TYPES, keyLabel: 'CRM object type', valueLabel: 'rota object type', addLabel: '+ Add object type' });

    // The parts that depend on the kind: API base hint, credentials, field map.
    const drawKind = () => {
      const k = KINDS[kindSel.value];
      apiBase.placeholder = k.apiBase.placeholder;
      const apiField = field('API base', apiBase, { path: 'api_base', hint: k.apiBase.hint });
      const set = new Set(c?.credentials_set || []);
      creds = Object.fromEntries(k.credentials.map(([name]) => [name, h('input', {
        type: 'password', autocomplete: 'new-password', spellcheck: 'false',
        placeholder: isNew ? '' : set.has(name) ? 'set · leave empty to keep' : 'not set',
      })]));
      fieldMap = kindSel.value === 'generic'
        ? mapEditor('field_map', isNew ? DEFAULT_FIELDS : c.field_map, { keys: FIELDS, keyLabel: 'Field', valueLabel: 'JSON path or constant', addLabel: '+ Add field', placeholder: '$.data.id' })
        : null;
      fill(kindBox,
        h('p', { class: 'hint muted' }, k.howTo),
        apiField,
        h('fieldset', null, h('legend', null, 'Credentials'),
          isNew ? null : h('p', { class: 'hint muted' }, 'Stored sealed and never shown again. Leave a field empty to keep what is stored.'),
          h('div', { class: 'form-grid', 'data-path': 'credentials' }, k.credentials.map(([name, label, hint]) => field(label, creds[name], { path: `credentials.${name}`, hint })))),
        fieldMap ? h('fieldset', null, h('legend', null, 'Field map'),
          h('p', { class: 'hint muted' }, 'Where each value is in your CRM\'s call: a path like $.data.id, or a constant text. Fields left out keep rota\'s defaults.'),
          fieldMap) : null);
    };
    kindSel.addEventListener('change', drawKind);
    drawKind();

    const save = h('button', { type: 'submit', class: 'primary' }, isNew ? 'Create connector' : 'Save');
    const form = h('form', { novalidate: true },
      h('div', { class: 'form-grid' },
        field('Kind', kindSel, { path: 'kind', hint: isNew ? 'Which CRM calls in' : 'The kind does not change' }),
        field('Connector id', id, { path: 'id', hint: isNew ? 'Leave empty to let rota make one' : undefined })),
      kindBox,
      h('div', { class: 'field inline' }, writeBack, h('label', { for: 'connector-write-back' }, 'Write the decided owner back to the CRM')),
      h('details', null, h('summary', null, 'More: public URL, user map, object map'),
        field('Public URL', publicUrl, { path: 'public_url', hint: 'scheme://host the CRM calls rota on, when rota is behind a proxy; empty: this console\'s address' }),
        h('fieldset', null, h('legend', null, 'User map'), h('p', { class: 'hint muted' }, 'Which CRM owner each rota user is; users left out have the same id in both.'), userMap),
        h('fieldset', null, h('legend', null, 'Object map'), h('p', { class: 'hint muted' }, 'CRM object types to rota object types, over the kind\'s defaults.'), objectMap)),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'), save));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const credentials = Object.fromEntries(Object.entries(creds).map(([n, i]) => [n, i.value]).filter(([, v]) => v !== ''));
      const doc = {
        api_base: apiBase.value.trim(),
        write_back: writeBack.checked,
        public_url: publicUrl.value.trim(),
        user_map: userMap._get(),
        object_map: objectMap._get(),
        credentials,
      };
      if (fieldMap) doc.field_map = fieldMap._get();
      fill(errors);
      save.disabled = true;
      try {
        if (isNew) await api('POST', '/v1/connectors', { body: { id: id.value.trim() || undefined, kind: kindSel.value, ...doc } });
        else await api('PATCH', `/v1/connectors/${enc(c.id)}`, { body: doc });
        close();
        toast(isNew ? 'Connector created' : 'Connector saved');
        await load();
      } catch (e) {
        const left = placeFieldErrors(form, e.details);
        // an error inside the closed "More" part opens it
        form.querySelector('details')?.toggleAttribute('open', !!form.querySelector('details .field-error') || form.querySelector('details').open);
        fill(errors, apiErrorBox({ ...e, message: e.message, status: e.status, code: e.code, details: left }));
      } finally { save.disabled = false; }
    });
    body.append(form);
    (isNew ? kindSel : apiBase).focus();
  }

  try {
    await load();
  } catch (e) {
    showError(slot, e, { title: 'Could not read the connectors' });
  }
}
