// Settings: the workspace's default owners, time zone and history retention; and "rules
// as files": the whole configuration downloaded as one JSON document, or a document
// checked with a dry run (its changes listed) and then applied. Admin only.
import {
  add, fill, api, h, listAll, pageHeader, card, field, select, userOptions, badge, busy, toast, table, newId,
  placeFieldErrors, clearFieldErrors, errorBox, showError, notice, download, confirmAction, OBJECT_TYPES,
} from './ui.js';

const TYPE_LABELS = { lead: 'Leads', contact: 'Contacts', company: 'Companies', deal: 'Deals', task: 'Tasks' };
const KIND_LABELS = { user: 'User', pool: 'Pool', distribution: 'Distribution', rule: 'Rule', rules: 'Rule order', settings: 'Settings', records: 'Records' };
const CHANGE_KINDS = { added: 'ok', changed: 'warn', removed: 'bad' };

// Indents JSON text without parsing it, so numbers keep every digit they were sent with.
export function indentJson(text, pad = '  ') {
  let out = '', depth = 0, inStr = false, esc = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (esc) esc = false; else if (c === '\\') esc = true; else if (c === '"') inStr = false;
    } else if (c === '"') { inStr = true; out += c; }
    else if (c === '{' || c === '[') {
      let j = i + 1;
      while (/\s/.test(text[j] || '')) j++;
      if (text[j] === (c === '{' ? '}' : ']')) { out += c + text[j]; i = j; } // empty: one line
      else { depth++; out += `${c}\n${pad.repeat(depth)}`; }
    } else if (c === '}' || c === ']') { depth--; out += `\n${pad.repeat(depth)}${c}`; }
    else if (c === ',') out += `,\n${pad.repeat(depth)}`;
    else if (c === ':') out += ': ';
    else if (!/\s/.test(c)) out += c;
  }
  return out;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function render(root, ctx) {
  const slot = h('div', { 'aria-live': 'polite' });
  const settingsBox = h('div');
  add(root,
    pageHeader('Settings', 'The workspace\'s default owners, time zone and history retention; and the whole configuration as one file to review, version and apply.'),
    slot, settingsBox, filesCard());

  let users = [];

  async function load(saved) {
    const [s, us] = await Promise.all([api('GET', '/v1/settings'), listAll('/v1/users')]);
    users = us;
    fill(settingsBox, settingsForm(s, saved));
  }

  function ownerPicker(t, current) {
    const opts = userOptions(users, { none: 'None (unassigned)' });
    if (current && !users.some((u) => u.id === current)) opts.push([current, `${current} (unknown user)`]);
    return select(opts, current || '', { id: `default-owner-${t}`, disabled: !ctx.canEdit });
  }

  function settingsForm(s, saved) {
    const owners = Object.fromEntries(OBJECT_TYPES.map((t) => [t, ownerPicker(t, s.default_owners?.[t])]));
    const zonesId = newId('zones');
    const tz = h('input', { type: 'text', value: s.time_zone || 'UTC', list: zonesId, autocomplete: 'off', spellcheck: 'false', id: 'settings-tz', disabled: !ctx.canEdit });
    const zones = h('datalist', { id: zonesId }, ['UTC', ...(Intl.supportedValuesOf?.('timeZone') || [])].map((z) => h('option', { value: z })));
    const days = h('input', { type: 'number', min: 1, max: 36500, step: 1, value: s.history_retention_days ?? '', id: 'settings-retention', disabled: !ctx.canEdit });
    const status = h('div', { class: 'editor-errors', 'aria-live': 'polite', id: 'settings-status' });
    const save = h('button', { type: 'submit', class: 'primary', id: 'settings-save' }, 'Save settings');
    const form = h('form', { novalidate: true, id: 'settings-form', class: 'card', 'aria-label': 'Workspace settings' },
      h('h2', null, 'Default owners'),
      h('p', { class: 'muted', style: { marginTop: '-.4rem' } }, 'Records that no rule matched go to the default owner of their type. With none, they stay unassigned and wait in the unassigned queue.'),
      h('div', { class: 'form-grid' }, OBJECT_TYPES.map((t) => field(TYPE_LABELS[t], owners[t], { path: `default_owners.${t}` }))),
      h('h2', { style: { marginTop: '.6rem' } }, 'Time and history'),
      h('div', { class: 'form-grid' },
        field('Time zone', tz, { path: 'time_zone', hint: 'IANA name, e.g. Europe/Warsaw. "Today" and "yesterday" in the history, the month of the reports, and the daily caps of users without their own working-hours zone begin at midnight here.' }),
        field('Keep history for (days)', days, { path: 'history_retention_days', hint: '1 to 36500. Older decisions are deleted every hour; pool positions and key counters are kept.' })),
      zones,
      status,
      ctx.canEdit ? h('div', { class: 'actions' }, save) : null);
    if (saved) notice(status, 'Saved. The fields show the settings as the server stored them.');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearFieldErrors(form);
      const problems = [];
      if (!tz.value.trim()) problems.push({ path: 'time_zone', message: 'Enter a time zone, e.g. UTC or Europe/London.' });
      if (days.value === '') problems.push({ path: 'history_retention_days', message: 'Enter a number of days from 1 to 36500.' });
      if (problems.length) { refused(form, status, { message: 'Some fields need a value.', details: problems }); return; }
      busy(save, null, async () => {
        fill(status);
        try {
          await api('PUT', '/v1/settings', { body: {
            default_owners: Object.fromEntries(OBJECT_TYPES.filter((t) => owners[t].value).map((t) => [t, owners[t].value])),
            time_zone: tz.value.trim(),
            history_retention_days: Number(days.value),
          } });
        } catch (e) { refused(form, status, e); return; }
        toast('Settings saved');
        await load(true);
        settingsBox.querySelector('#settings-status')?.scrollIntoView?.({ block: 'nearest' });
      });
    });
    return form;
  }

  // Places each problem beside its field; what no field claims goes in the box.
  function refused(form, status, e) {
    const left = placeFieldErrors(form, e.details);
    fill(status, errorBox({ ...e, message: left.length < (e.details || []).length ? `${e.message} — see the marked fields.` : e.message, details: left },
      { title: 'The settings were not saved' }));
    form.querySelector('[aria-invalid="true"]')?.focus();
  }

  // ------------------------------------------------------------ rules as files
  function filesCard() {
    const fslot = h('div', { 'aria-live': 'polite', id: 'config-result' });
    const dl = h('button', { type: 'button', id: 'config-download' }, '⬇ Download the configuration');
    dl.addEventListener('click', () => busy(dl, fslot, async () => {
      const text = await api('GET', '/v1/config', { as: 'text' });
      download(new Blob([`${indentJson(text)}\n`], { type: 'application/json' }), `rota-config-${new Date().toISOString().slice(0, 10)}.json`);
      toast('Configuration downloaded');
    }));
    const file = h('input', { type: 'file', accept: '.json,application/json', id: 'config-file' });
    const check = h('button', { type: 'button', class: 'primary', id: 'config-check' }, 'Check the file');
    file.addEventListener('change', () => fill(fslot));
    check.addEventListener('click', () => busy(check, fslot, async () => {
      const f = file.files[0];
      if (!f) throw new Error('Choose a configuration file (JSON) first.');
      const text = await f.text();
      let doc;
      try { doc = JSON.parse(text); } catch (e) { throw new Error(`${f.name} is not JSON: ${e.message}`); }
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${f.name} is not a configuration document: it must be one JSON object, {"users": [...], "pools": [...], …}.`);
      let r;
      try {
        r = await api('PUT', '/v1/config', { raw: text, contentType: 'application/json', query: { dry_run: 'true' } });
      } catch (e) {
        showError(fslot, e, { title: `${f.name} cannot be applied${e.details?.length ? `: ${plural(e.details.length, 'problem')}` : ''}` });
        return;
      }
      preview(fslot, f, text, r.changes || []);
    }));
    return card('Rules as files',
      h('p', { class: 'muted', style: { marginTop: '-.4rem' } },
        'The whole workspace (users, pools, distribution keys, rules in priority order, settings) as one JSON document, to review and keep under version control. Pool positions and key counters are not in it.'),
      h('div', { class: 'actions' }, dl),
      ctx.canEdit ? [
        h('h3', null, 'Apply a configuration file'),
        h('p', { class: 'muted', style: { marginTop: 0 } }, 'Checking shows what the file would change, and changes nothing. Applying replaces the whole configuration: users, pools, distributions and rules the file leaves out are removed, and settings it leaves out go back to their defaults.'),
        h('div', { class: 'row' }, field('Configuration file (JSON)', file), check),
      ] : null,
      fslot);
  }

  function preview(fslot, f, text, changes) {
    if (!changes.length) { notice(fslot, `${f.name} matches the workspace: applying it would change nothing.`, 'info'); return; }
    const count = (c) => changes.filter((x) => x.change === c).length;
    const summary = ['added', 'changed', 'removed', 'upserted'].filter(count).map((c) => `${count(c)} ${c}`).join(', ');
    const apply = h('button', { type: 'button', class: 'primary', id: 'config-apply' }, 'Apply these changes');
    const cancel = h('button', { type: 'button', onclick: () => fill(fslot) }, 'Cancel');
    const result = h('div', { 'aria-live': 'polite' });
    apply.addEventListener('click', () => {
      if (count('removed') && !confirmAction(`Apply ${f.name}? It removes ${plural(count('removed'), 'item')} from the workspace.`)) return;
      busy(apply, result, async () => {
        const r = await api('PUT', '/v1/config', { raw: text, contentType: 'application/json' });
        notice(fslot, `Applied ${f.name}: ${plural((r.changes || []).length, 'change')}.`);
        toast('Configuration applied');
        await load();
      });
    });
    fill(fslot,
      h('div', { class: 'alert warn', role: 'status' }, h('strong', null, `${f.name} would make ${plural(changes.length, 'change')} (${summary})`),
        h('p', null, 'Nothing has changed yet. Look the list over, then apply.')),
      table([
        { label: 'What', render: (c) => KIND_LABELS[c.kind] || c.kind },
        { label: 'Id', render: (c) => (c.kind === 'records' ? `${c.id} records` : c.kind === 'rules' ? 'priority order' : h('code', null, c.id)) },
        { label: 'Change', render: (c) => badge(c.change, CHANGE_KINDS[c.change] || '') },
      ], changes, { caption: 'Changes the file would make', rowAttrs: (c) => ({ 'data-change': `${c.kind}:${c.id}` }) }),
      result,
      h('div', { class: 'actions', style: { marginTop: '.8rem' } }, apply, cancel));
  }

  try {
    await load();
  } catch (e) {
    showError(slot, e, { title: 'Could not read the settings' });
  }
}
