// Webhooks: URLs rota posts its events to (signed with the webhook's secret), and each
// webhook's deliveries, which can be sent again. Admin only.
import {
  add, fill, api, h, listAll, enc, pageHeader, card, field, badge, busy, toast, modal, empty,
  errorBox, showError, confirmAction, fmtTime, deliveriesTable, pagedList, revealOnce,
  showFormError,
} from './ui.js';

const WEBHOOK_EVENTS = [
  ['decision.assigned', 'a record got an owner'],
  ['decision.unassigned', 'a record was left without an owner'],
  ['owner.notified', 'a rule asked to notify the new owner'],
  ['record.updated', 'a record rota knows changed'],
];

export async function render(root, ctx) {
  const slot = h('div', { 'aria-live': 'polite' });
  const list = h('div');
  add(root,
    pageHeader('Webhooks', 'URLs rota posts its events to, signed with the webhook\'s secret (Rota-Signature). Failed deliveries are retried with backoff, and can be sent again from here.',
      ctx.canEdit ? h('button', { class: 'primary', type: 'button', id: 'add-webhook', onclick: () => createWebhook() }, '+ New webhook') : null),
    slot, list);

  async function load() {
    const items = await listAll('/v1/webhooks');
    fill(list, ...(items.length ? items.map(webhookCard) : [card(null, empty('No webhooks yet.'))]));
  }

  function webhookCard(w) {
    const cardSlot = h('div', { 'aria-live': 'polite' });
    const deliveries = h('div', { class: 'deliveries' }, h('p', { class: 'loading' }, 'Loading…'));
    const reload = h('button', { type: 'button', class: 'small', 'aria-label': `Refresh the deliveries of ${w.id}`,
      onclick: (e) => busy(e.target, cardSlot, () => loadDeliveries(w, deliveries, cardSlot)) }, 'Refresh');
    const section = h('section', { class: 'card webhook', 'data-webhook': w.id, 'aria-label': `Webhook ${w.id}` },
      h('div', { class: 'card-head' },
        h('h2', null, h('code', { class: 'url' }, w.url)),
        h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete webhook ${w.id}`, onclick: (e) => remove(w, e.target, cardSlot) }, 'Delete')),
      h('dl', { class: 'facts' },
        h('dt', null, 'Id'), h('dd', null, h('code', null, w.id)),
        h('dt', null, 'Events'), h('dd', { class: 'tags' }, (w.events || []).map((e) => badge(e))),
        h('dt', null, 'Created'), h('dd', null, fmtTime(w.created_at))),
      cardSlot,
      h('div', { class: 'card-head' }, h('h3', null, 'Deliveries'), reload),
      deliveries);
    loadDeliveries(w, deliveries, cardSlot).catch((e) => fill(deliveries, errorBox(e, { title: 'Could not read the deliveries' })));
    return section;
  }

  // What a delivery is about: the decision's or the record's type and id, and the owner.
  function about(d) {
    const x = d.body?.data || {};
    const type = x.object_type || x.record?.object_type;
    const id = x.record_id || x.record?.id;
    return h('span', null, h('code', null, d.event), id ? ` · ${type} ${id}` : '', x.owner ? ` → ${x.owner}` : '');
  }

  async function loadDeliveries(w, box, cardSlot) {
    await pagedList(box, `/v1/webhooks/${enc(w.id)}/deliveries`, (items) => deliveriesTable(items, {
      caption: `Deliveries of ${w.id}`,
      describe: about,
      retry: (d) => h('button', { type: 'button', class: 'small', 'aria-label': `Retry delivery ${d.id}`,
        onclick: (e) => busy(e.target, cardSlot, async () => {
          await api('POST', `/v1/webhooks/${enc(w.id)}/deliveries/${enc(d.id)}/retry`);
          toast(`Delivery ${d.id} queued to send again`);
          await loadDeliveries(w, box, cardSlot);
        }) }, d.status === 'delivered' ? 'Send again' : 'Retry'),
    }), 'Nothing sent yet.');
  }

  async function remove(w, btn, cardSlot) {
    if (!confirmAction(`Delete the webhook to ${w.url}? Its pending deliveries are marked failed.`)) return;
    await busy(btn, cardSlot, async () => {
      await api('DELETE', `/v1/webhooks/${enc(w.id)}`);
      toast('Webhook deleted');
      await load();
    });
  }

  function createWebhook() {
    const { body, close } = modal('New webhook', { wide: true });
    const url = h('input', { type: 'text', inputmode: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://example.com/rota-events' });
    const id = h('input', { type: 'text', autocomplete: 'off' });
    const secret = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
    const boxes = WEBHOOK_EVENTS.map(([e]) => h('input', { type: 'checkbox', value: e, id: `wh-ev-${e.replace('.', '-')}`, checked: e === 'decision.assigned' }));
    const errors = h('div', { class: 'editor-errors', 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Create webhook');
    const form = h('form', { novalidate: true },
      field('URL', url, { path: 'url', hint: 'http:// or https://; rota POSTs JSON to it' }),
      h('fieldset', null, h('legend', null, 'Events'),
        h('div', { class: 'checks checks-col', 'data-path': 'events' }, boxes.map((b, i) => h('label', { for: b.id }, b, h('code', null, b.value), h('span', { class: 'muted' }, ` ${WEBHOOK_EVENTS[i][1]}`))))),
      h('div', { class: 'form-grid' },
        field('Webhook id', id, { path: 'id', hint: 'Leave empty to let rota make one' }),
        field('Secret', secret, { path: 'secret', hint: 'Leave empty to let rota generate one' })),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, 'Cancel'), save));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      fill(errors);
      save.disabled = true;
      try {
        const w = await api('POST', '/v1/webhooks', { body: {
          id: id.value.trim() || undefined, url: url.value.trim(), secret: secret.value || undefined,
          events: boxes.filter((b) => b.checked).map((b) => b.value),
        } });
        load().catch((e) => showError(slot, e));
        revealOnce(body, {
          title: `Webhook to ${w.url} created`, label: 'Signing secret', value: w.secret,
          note: 'Your endpoint checks Rota-Signature with this secret. Copy it now: it is shown this once.',
          onDone: () => close(),
        });
      } catch (e) {
        showFormError(errors, form, e);
      } finally { save.disabled = false; }
    });
    body.append(form);
    url.focus();
  }

  try {
    await load();
  } catch (e) {
    showError(slot, e, { title: 'Could not read the webhooks' });
  }
}
