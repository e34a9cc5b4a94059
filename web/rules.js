// Rules: per object type in priority order; reorder by drag and drop or the move buttons;
// an editor for the whole rule with the server's validation shown beside each field.
import {
  add, fill, api, h, enc, listAll, pageHeader, card, field, select, userOptions, badge, busy, toast, modal, empty,
  placeFieldErrors, clearFieldErrors, errorBox, confirmAction, showError, newId, OBJECT_TYPES, EVENTS,
} from './ui.js';

export const OPERATORS = [
  ['eq', 'equals'], ['neq', 'does not equal'], ['in', 'is one of'], ['not_in', 'is none of'],
  ['contains', 'contains'], ['not_contains', 'does not contain'], ['starts_with', 'starts with'], ['ends_with', 'ends with'],
  ['gt', 'greater than'], ['gte', 'greater or equal'], ['lt', 'less than'], ['lte', 'less or equal'],
  ['between', 'between (inclusive)'], ['is_empty', 'is empty'], ['is_not_empty', 'is not empty'],
  ['changed', 'changed (updated)'], ['changed_from', 'changed from (updated)'], ['changed_to', 'changed to (updated)'],
];
const OP_LABEL = Object.fromEntries(OPERATORS);
const NO_VALUE = new Set(['is_empty', 'is_not_empty', 'changed']);
const LIST_VALUE = new Set(['in', 'not_in']);
const ASSIGN_TYPES = [
  ['pool', 'Round robin in a pool'], ['distribution', 'Distribution key'], ['least_loaded', 'Least loaded in a pool'],
  ['user', 'One user'], ['field', 'User named in a record field'], ['related_owner', 'Owner of the linked record'],
];

const ORDERING = new Set(['gt', 'gte', 'lt', 'lte']);

// One stored value as the editor shows it.
const show = (v) => (v === null || v === undefined ? '' : String(v));
// A value in the rule list: text with a comma or quote is quoted, so list items stay apart.
const quoted = (v) => (typeof v === 'string' && (/[,"]/.test(v) || v !== v.trim() || !v) ? JSON.stringify(v) : show(v));

// What the admin typed is saved as text (SPEC §4: text that is wholly a decimal number
// already compares as a number). A text left as the stored value showed it gives that
// stored value back, so numbers, booleans and text the admin did not touch round-trip.
function storedValues(value) {
  const pool = (Array.isArray(value) ? value : [value]).filter((v) => v !== undefined);
  return (text) => {
    const i = pool.findIndex((v) => show(v) === text);
    return i < 0 ? text.trim() : pool.splice(i, 1)[0];
  };
}
// The lines of a list textarea: one value per line, blank lines skipped.
const listLines = (text) => text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim());

export function describeCondition(c) {
  const v = NO_VALUE.has(c.op) ? '' : c.op === 'between' && Array.isArray(c.value) ? ` ${quoted(c.value[0])} and ${quoted(c.value[1])}`
    : Array.isArray(c.value) ? ` ${c.value.length ? c.value.map(quoted).join(', ') : '(no values)'}` : ` ${quoted(c.value)}`;
  return `${c.field} ${OP_LABEL[c.op] || c.op}${v}`;
}
export function describeAssign(a) {
  if (!a) return '—';
  switch (a.type) {
    case 'user': return `user ${a.user}`;
    case 'pool': return `pool ${a.pool} (round robin)`;
    case 'distribution': return `distribution ${a.distribution}`;
    case 'least_loaded': return `least loaded in ${a.pool}`;
    case 'field': return `user in field ${a.field}`;
    case 'related_owner': return `owner of linked ${a.relation}`;
    default: return a.type;
  }
}

export async function render(root, ctx) {
  let type = ctx.params.get('type') || 'lead';
  const slot = h('div', { 'aria-live': 'polite', id: 'rules-status' });
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Object type' });
  const listBox = h('div', { role: 'tabpanel' });
  add(root, 
    pageHeader('Rules', 'For each object type, rules are tried from the top; the first whose conditions hold decides.',
      ctx.canEdit ? h('button', { class: 'primary', type: 'button', id: 'add-rule', disabled: true, onclick: () => editRule(null) }, '+ New rule') : null),
    ctx.canEdit ? null : h('p', { class: 'readonly-note' }, 'You are signed in with a member key: everything is read only.'),
    tabs, slot, listBox);

  let all = [], users = [], pools = [], dists = [];

  async function load() {
    [all, users, pools, dists] = await Promise.all([listAll('/v1/rules'), listAll('/v1/users'), listAll('/v1/pools'), listAll('/v1/distributions')]);
    if (!ctx.params.get('type') && !all.some((r) => r.object_type === type) && all.length) type = all[0].object_type;
    draw();
  }

  function draw() {
    fill(tabs, ...OBJECT_TYPES.map((t) => {
      const n = all.filter((r) => r.object_type === t).length;
      return h('button', { type: 'button', role: 'tab', 'aria-selected': String(t === type), id: `tab-${t}`,
        onclick: () => { type = t; draw(); },
        onkeydown: (e) => {
          const i = OBJECT_TYPES.indexOf(t);
          const j = e.key === 'ArrowRight' ? (i + 1) % 5 : e.key === 'ArrowLeft' ? (i + 4) % 5 : -1;
          if (j >= 0) { type = OBJECT_TYPES[j]; draw(); tabs.querySelector(`#tab-${type}`).focus(); }
        } }, t, h('span', { class: 'count' }, n));
    }));
    listBox.setAttribute('aria-labelledby', `tab-${type}`);
    const rules = all.filter((r) => r.object_type === type).sort((a, b) => a.priority - b.priority);
    if (!rules.length) { fill(listBox, card(null, empty(`No ${type} rules. Records of this type go to the default owner, or stay unassigned.`))); return; }
    const ol = h('ol', { class: 'rule-list', 'aria-label': `${type} rules in priority order` });
    rules.forEach((r, i) => ol.append(ruleItem(r, i, rules)));
    fill(listBox, 
      ctx.canEdit ? h('p', { class: 'muted', id: 'reorder-help' }, 'Drag a rule by its handle, or use Move up / Move down, to change the order.') : null,
      ol);
  }

  function ruleItem(r, i, rules) {
    const conds = [...(r.conditions?.all || []).map(describeCondition)];
    const any = (r.conditions?.any || []).map(describeCondition);
    const li = h('li', { class: `rule-item ${r.active ? '' : 'inactive'}`, 'data-rule': r.id, draggable: ctx.canEdit ? 'true' : null },
      ctx.canEdit ? h('span', { class: 'handle', 'aria-hidden': 'true', title: 'Drag to reorder' }, '⠿') : h('span'),
      h('span', { class: 'prio', 'aria-label': `priority ${r.priority}` }, r.priority),
      h('div', { class: 'rule-main' },
        h('div', { class: 'name' }, r.name || r.id, ' ', r.active ? null : badge('inactive', 'warn')),
        r.description ? h('div', { class: 'desc' }, r.description) : null,
        h('div', { class: 'rule-meta' },
          h('span', null, 'on ', r.events.join(', ')), '·',
          h('span', null, 'if ', [conds.join(' and '), any.length ? `${conds.length ? ' and ' : ''}any of (${any.join('; ')})` : ''].join('')), '·',
          h('span', null, '→ ', h('strong', null, describeAssign(r.assign))),
          r.fallback_user ? h('span', null, `· fallback ${r.fallback_user}`) : null)),
      h('div', { class: 'rule-controls' },
        ctx.canEdit ? h('button', { type: 'button', class: 'small', disabled: i === 0, 'aria-label': `Move ${r.name || r.id} up`, onclick: () => move(rules, i, i - 1, r.id, 'up') }, '↑ Move up') : null,
        ctx.canEdit ? h('button', { type: 'button', class: 'small', disabled: i === rules.length - 1, 'aria-label': `Move ${r.name || r.id} down`, onclick: () => move(rules, i, i + 1, r.id, 'down') }, '↓ Move down') : null,
        h('button', { type: 'button', class: 'small', 'aria-label': `${ctx.canEdit ? 'Edit' : 'View'} ${r.name || r.id}`, onclick: () => editRule(r) }, ctx.canEdit ? 'Edit' : 'View'),
        ctx.canEdit ? h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${r.name || r.id}`, onclick: (e) => {
          if (!confirmAction(`Delete rule ${r.name || r.id}?`)) return;
          busy(e.target, slot, async () => { await api('DELETE', `/v1/rules/${enc(r.id)}`); toast('Rule deleted'); await load(); });
        } }, 'Delete') : null));
    if (ctx.canEdit) {
      li.addEventListener('dragstart', (e) => { e.dataTransfer.setData('text/plain', r.id); e.dataTransfer.effectAllowed = 'move'; li.classList.add('dragging'); });
      li.addEventListener('dragend', () => li.classList.remove('dragging'));
      li.addEventListener('dragover', (e) => {
        e.preventDefault();
        // Measured on the row: offsetY is relative to the element under the pointer.
        const box = li.getBoundingClientRect();
        const after = e.clientY > box.top + box.height / 2;
        li.classList.toggle('drop-after', after);
        li.classList.toggle('drop-before', !after);
      });
      li.addEventListener('dragleave', () => li.classList.remove('drop-after', 'drop-before'));
      li.addEventListener('drop', (e) => {
        e.preventDefault();
        const after = li.classList.contains('drop-after');
        li.classList.remove('drop-after', 'drop-before');
        const from = rules.findIndex((x) => x.id === e.dataTransfer.getData('text/plain'));
        if (from < 0) return;
        let to = i + (after ? 1 : 0);
        if (from < to) to -= 1;
        if (from !== to) move(rules, from, to, rules[from].id);
      });
    }
    return li;
  }

  async function move(rules, from, to, id, dir) {
    const order = rules.map((r) => r.id);
    const [x] = order.splice(from, 1);
    order.splice(to, 0, x);
    fill(slot);
    try {
      await api('PUT', '/v1/rules/priority', { body: { object_type: type, order } });
      toast(`Moved ${id} to position ${to + 1}`);
      await load();
      if (dir) {
        const btn = listBox.querySelector(`[data-rule="${CSS.escape(id)}"] button[aria-label^="Move"][aria-label$="${dir}"]`);
        (btn && !btn.disabled ? btn : listBox.querySelector(`[data-rule="${CSS.escape(id)}"] button:not(:disabled)`))?.focus();
      }
    } catch (e) { showError(slot, e, { title: 'Could not reorder' }); }
  }

  // ------------------------------------------------------------ the editor
  function editRule(rule) {
    const isNew = !rule;
    const ro = !ctx.canEdit;
    const r = rule ? structuredClone(rule) : {
      object_type: type, events: ['created'], active: true, conditions: { all: [{ field: '', op: 'eq', value: '' }], any: [] },
      assign: { type: 'pool' }, actions: {},
    };
    const { body, close } = modal(isNew ? 'New rule' : ro ? `Rule ${r.name || r.id}` : `Edit ${r.name || r.id}`, { wide: true });
    const id = h('input', { type: 'text', value: r.id || '', disabled: !isNew, autocomplete: 'off' });
    const name = h('input', { type: 'text', value: r.name || '' });
    const desc = h('textarea', { rows: 2, style: { minHeight: '3rem', fontFamily: 'inherit' } }, r.description || '');
    const otype = select(OBJECT_TYPES, r.object_type, { disabled: !isNew });
    const active = h('input', { type: 'checkbox', checked: r.active !== false, id: newId('active') });
    const evBoxes = EVENTS.map((ev) => h('input', { type: 'checkbox', value: ev, checked: (r.events || []).includes(ev), id: newId('ev') }));

    // condition sets
    const sets = {};
    const setBox = (key, title, hint) => {
      const rows = h('div', { class: 'cond-rows' });
      sets[key] = rows;
      const add = (c) => rows.append(condRow(key, c, rows));
      (r.conditions?.[key] || []).forEach(add);
      return h('fieldset', { 'data-path': `conditions.${key}` }, h('legend', null, title),
        h('p', { class: 'hint muted', style: { margin: '0 0 .5rem' } }, hint), rows,
        h('button', { type: 'button', class: 'small', onclick: () => { add({ field: '', op: 'eq', value: '' }); renumber(); rows.lastChild.querySelector('input').focus(); } }, '+ Add condition'));
    };
    const renumber = () => {
      for (const key of ['all', 'any']) {
        [...sets[key].children].forEach((row, i) => {
          row._subs.forEach((el) => { el.dataset.path = `conditions.${key}[${i}]${el.dataset.sub}`; });
          row.dataset.path = `conditions.${key}[${i}]`;
        });
      }
    };
    function condRow(key, c, rows) {
      const f = h('input', { type: 'text', value: c.field || '', placeholder: 'property, e.g. county', 'data-sub': '.field' });
      const op = select(OPERATORS, c.op || 'eq', { 'data-sub': '.op' });
      const v1 = h('input', { type: 'text', placeholder: 'value', 'data-sub': '.value' });
      const list = h('textarea', { rows: 3, class: 'value-list', placeholder: 'Kent\nEssex\nKraków, centrum', 'data-sub': '.value' });
      const lo = h('input', { type: 'text', 'aria-label': 'Low end', placeholder: 'from', 'data-sub': '.value[0]' });
      const hi = h('input', { type: 'text', 'aria-label': 'High end', placeholder: 'to', 'data-sub': '.value[1]' });
      const valueField = field('Value', v1);
      const listField = field('Values, one per line', list, { hint: 'One value per line; a value may contain commas.' });
      const betweenBox = h('div', { class: 'field' }, h('span', { class: 'label' }, 'From – to (both included)'),
        h('div', { class: 'between', role: 'group', 'aria-label': 'From – to', 'data-sub': '.value' }, lo, hi));
      const noneBox = h('div', { class: 'field' }, h('span', { class: 'label' }, 'Value'), h('span', { class: 'muted', style: { padding: '.45rem 0' } }, 'none needed'));
      const valueSlot = h('div');
      const v = c.value;
      if (Array.isArray(v) && c.op === 'between') { lo.value = show(v[0]); hi.value = show(v[1]); }
      else if (Array.isArray(v)) list.value = v.map(show).join('\n');
      else v1.value = show(v);
      const sync = () => {
        const o = op.value;
        // carry what was typed over to the new operator's value shape
        if (LIST_VALUE.has(o) && !list.value.trim() && v1.value.trim()) list.value = v1.value;
        if (!LIST_VALUE.has(o) && o !== 'between' && !v1.value.trim() && listLines(list.value).length === 1) v1.value = listLines(list.value)[0];
        fill(valueSlot, NO_VALUE.has(o) ? noneBox : o === 'between' ? betweenBox : LIST_VALUE.has(o) ? listField : valueField);
      };
      op.addEventListener('change', sync);
      sync();
      const row = h('div', { class: 'cond-row' }, field('Field', f), field('Operator', op), valueSlot,
        h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove this condition', onclick: () => { row.remove(); renumber(); } }, 'Remove'));
      // every control with a path, shown or not, so renumbering reaches the hidden ones too
      row._subs = [f, op, v1, list, lo, hi, betweenBox.querySelector('.between')];
      row._get = () => {
        const o = op.value;
        const out = { field: f.value.trim(), op: o };
        if (NO_VALUE.has(o)) return out;
        const kept = storedValues(v);
        if (o === 'between') out.value = [kept(lo.value), kept(hi.value)];
        else if (LIST_VALUE.has(o)) out.value = listLines(list.value).map(kept);
        else out.value = kept(v1.value);
        return out;
      };
      // Problems the console sees before sending, as the server would word them.
      row._check = () => {
        const o = op.value;
        const p = row.dataset.path;
        if (o === 'between') {
          return [[lo, 'Enter the low end (from).', '.value[0]'], [hi, 'Enter the high end (to).', '.value[1]']]
            .filter(([el]) => !el.value.trim()).map(([, message, sub]) => ({ path: `${p}${sub}`, message }));
        }
        if (ORDERING.has(o) && !v1.value.trim()) return [{ path: `${p}.value`, message: 'Enter a value to compare with.' }];
        return [];
      };
      return row;
    }

    // assignee
    const a = r.assign || { type: 'pool' };
    const aType = select(ASSIGN_TYPES, a.type, { 'data-path': 'assign.type' });
    const aUser = select(userOptions(users, { none: 'Choose a user…' }), a.user || '', { 'data-path': 'assign.user' });
    const aPool = h('select', { 'data-path': 'assign.pool' });
    const aDist = h('select', { 'data-path': 'assign.distribution' });
    // Pools and distributions serve one object type: offer those of the rule's type.
    const fillChoices = (sel, items, kind, label, keep) => {
      const t = otype.value;
      const mine = items.filter((x) => x.object_type === t);
      const chosen = sel.value || keep || '';
      const stray = chosen && !mine.some((x) => x.id === chosen) ? items.find((x) => x.id === chosen) : null;
      fill(sel, h('option', { value: '' }, mine.length ? `Choose a ${kind}…` : `No ${t} ${kind}s yet`),
        mine.map((x) => h('option', { value: x.id }, label(x))),
        stray ? h('option', { value: stray.id }, `${label(stray)} — a ${stray.object_type} ${kind}`) : null);
      sel.value = stray || mine.some((x) => x.id === chosen) ? chosen : '';
    };
    const syncChoices = (keepPool, keepDist) => {
      fillChoices(aPool, pools, 'pool', (p) => (p.name && p.name !== p.id ? `${p.name} (${p.id})` : p.id), keepPool);
      fillChoices(aDist, dists, 'distribution', (d) => `${d.name || d.id} (${d.property})`, keepDist);
    };
    syncChoices(a.pool, a.distribution);
    otype.addEventListener('change', () => syncChoices());
    const aField = h('input', { type: 'text', value: a.field || '', placeholder: 'e.g. owner_id', 'data-path': 'assign.field' });
    const aRel = select([['company', 'linked company'], ['person', 'linked person']], a.relation || 'company', { 'data-path': 'assign.relation' });
    const aSlot = h('div');
    const syncAssign = () => {
      const t = aType.value;
      fill(aSlot, 
        t === 'user' ? field('User', aUser) : t === 'pool' || t === 'least_loaded' ? field('Pool', aPool)
          : t === 'distribution' ? field('Distribution', aDist) : t === 'field' ? field('Record field holding the user id', aField)
            : field('Relation', aRel));
    };
    aType.addEventListener('change', syncAssign);
    syncAssign();
    const fallback = select(userOptions(users, { none: 'None' }), r.fallback_user || '');

    // actions
    const act = r.actions || {};
    const relBoxes = ['company', 'person'].map((x) => h('input', { type: 'checkbox', value: x, checked: (act.apply_to_related || []).includes(x), id: newId('rel') }));
    const modeName = newId('mode');
    const modes = ['replace', 'add'].map((m) => h('input', { type: 'radio', name: modeName, value: m, checked: (act.related_mode || 'replace') === m, id: newId('m') }));
    const tag = h('input', { type: 'text', value: act.tag || '' });
    const note = h('textarea', { rows: 2, style: { minHeight: '3rem', fontFamily: 'inherit' } }, act.note || '');
    const notify = h('input', { type: 'checkbox', checked: !!act.notify, id: newId('notify') });
    const notifyText = h('input', { type: 'text', value: act.notify_message || '', disabled: !act.notify });
    notify.addEventListener('change', () => { notifyText.disabled = !notify.checked || ro; });

    const errors = h('div', { class: 'editor-errors', 'aria-live': 'polite' });
    const save = h('button', { type: 'submit', class: 'primary', id: 'rule-save' }, isNew ? 'Create rule' : 'Save rule');
    const form = h('form', { novalidate: true, id: 'rule-form' },
      h('div', { class: 'form-grid' },
        field('Rule id', id, { path: 'id', hint: isNew ? 'Empty: rota makes one' : undefined }),
        field('Name', name, { path: 'name' }),
        field('Object type', otype, { path: 'object_type' })),
      field('Description', desc, { path: 'description' }),
      h('div', { class: 'field inline' }, active, h('label', { for: active.id }, 'Active: the rule is tried for new events')),
      h('fieldset', { 'data-path': 'events' }, h('legend', null, 'Events that trigger the rule'),
        h('div', { class: 'checks' }, evBoxes.map((b) => h('label', { for: b.id }, b, b.value.replace('_', ' '))))),
      h('h3', null, 'Conditions'),
      setBox('all', 'All of these must hold', 'Every condition here must be true.'),
      setBox('any', 'And at least one of these (if any)', 'Leave empty to skip; otherwise at least one must be true.'),
      h('fieldset', { 'data-path': 'assign' }, h('legend', null, 'Assign to'),
        h('div', { class: 'form-grid' }, field('Assignee type', aType), aSlot),
        field('Fallback user', fallback, { path: 'fallback_user', hint: 'Takes the record when the assignee finds nobody' })),
      h('fieldset', { 'data-path': 'actions' }, h('legend', null, 'After assigning'),
        h('div', { class: 'label' }, 'Set the owner on linked records too'),
        h('div', { class: 'checks', 'data-path': 'actions.apply_to_related' }, relBoxes.map((b) => h('label', { for: b.id }, b, `linked ${b.value}`))),
        h('div', { class: 'checks', role: 'radiogroup', 'aria-label': 'How to set linked owners', 'data-path': 'actions.related_mode' },
          h('label', { for: modes[0].id }, modes[0], 'replace their owners'), h('label', { for: modes[1].id }, modes[1], 'add as another owner')),
        h('div', { class: 'form-grid' }, field('Tag to add', tag, { path: 'actions.tag' }), field('Note for the record', note, { path: 'actions.note' })),
        h('div', { class: 'field inline' }, notify, h('label', { for: notify.id }, 'Notify the new owner')),
        field('Notification text', notifyText, { path: 'actions.notify_message', hint: 'Empty: "New deal D-1 assigned to you"' })),
      errors,
      h('div', { class: 'dialog-foot' }, h('button', { type: 'button', onclick: () => close() }, ro ? 'Close' : 'Cancel'), ro ? null : save));
    renumber();
    if (ro) {
      form.querySelectorAll('input, select, textarea').forEach((e) => { e.disabled = true; });
      form.querySelectorAll('fieldset button').forEach((e) => { e.hidden = true; });
    }

    const collect = () => {
      const t = aType.value;
      const assign = { type: t };
      if (t === 'user') assign.user = aUser.value;
      if (t === 'pool' || t === 'least_loaded') assign.pool = aPool.value;
      if (t === 'distribution') assign.distribution = aDist.value;
      if (t === 'field') assign.field = aField.value.trim();
      if (t === 'related_owner') assign.relation = aRel.value;
      return {
        ...(isNew && id.value.trim() ? { id: id.value.trim() } : {}),
        name: name.value, description: desc.value, object_type: otype.value, active: active.checked,
        events: evBoxes.filter((b) => b.checked).map((b) => b.value),
        conditions: { all: [...sets.all.children].map((x) => x._get()), any: [...sets.any.children].map((x) => x._get()) },
        assign, fallback_user: fallback.value || null,
        actions: {
          apply_to_related: relBoxes.filter((b) => b.checked).map((b) => b.value),
          related_mode: modes.find((m) => m.checked)?.value || 'replace',
          tag: tag.value, note: note.value, notify: notify.checked,
          ...(notify.checked && notifyText.value.trim() ? { notify_message: notifyText.value.trim() } : {}),
        },
      };
    };
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (ro) return;
      fill(errors);
      clearFieldErrors(form);
      const problems = [...sets.all.children, ...sets.any.children].flatMap((x) => x._check());
      if (problems.length) {
        placeFieldErrors(form, problems);
        fill(errors, errorBox({ message: `${problems.length === 1 ? 'A condition is' : 'Some conditions are'} not complete — see the marked fields.` },
          { title: 'The rule was not saved' }));
        form.querySelector('[aria-invalid="true"]')?.focus();
        return;
      }
      save.disabled = true;
      try {
        const doc = collect();
        if (isNew) await api('POST', '/v1/rules', { body: doc });
        else await api('PUT', `/v1/rules/${enc(r.id)}`, { body: doc });
        type = doc.object_type;
        close();
        toast(isNew ? 'Rule created' : 'Rule saved');
        await load();
      } catch (e) {
        const left = placeFieldErrors(form, e.details);
        const placed = (e.details || []).length - left.length;
        fill(errors, errorBox({ ...e, message: placed ? `${e.message}${left.length ? '' : ' — see the marked fields.'}` : e.message, details: left },
          { title: 'The rule was not saved' }));
        form.querySelector('[aria-invalid="true"]')?.focus();
      } finally { save.disabled = false; }
    });
    body.append(form);
    (isNew ? id : name).focus();
  }

  await load();
  root.querySelector('#add-rule')?.removeAttribute('disabled'); // the editor needs the users loaded first
}
