// Simulate: run a JSON Lines file of records through the current rules or a draft document
// and show the distribution it would give. Nothing is stored.
import {
  add, fill, api, h, pageHeader, card, field, busy, empty, showError, barChart, table, fmtPct, outcomeBadge, errorBox, newId, REASONS, ApiError,
} from './ui.js';

export async function render(root) {
  const file = h('input', { type: 'file', accept: '.jsonl,.ndjson,.json,.txt,application/x-ndjson', id: 'sim-file' });
  const text = h('textarea', { rows: 6, id: 'sim-records', placeholder: '{"object_type": "deal", "event": "created", "record": {"id": "D-1", "properties": {"county": "Kent"}}}\n{"object_type": "deal", "event": "created", "record": {"id": "D-2", "properties": {"county": "Essex"}}}' });
  const cfgName = newId('cfg');
  const useCurrent = h('input', { type: 'radio', name: cfgName, value: 'current', checked: true, id: newId('c') });
  const useDraft = h('input', { type: 'radio', name: cfgName, value: 'draft', id: newId('c') });
  const draftFile = h('input', { type: 'file', accept: '.json,application/json' });
  const draftText = h('textarea', { rows: 8, id: 'sim-draft', placeholder: '{"users": [...], "pools": [...], "distributions": [...], "rules": [...], "settings": {...}}' });
  const loadCurrent = h('button', { type: 'button', class: 'small' }, 'Start from the current configuration');
  const draftBox = h('div', null,
    field('Draft document file (JSON)', draftFile),
    field('…or the draft document', draftText, { hint: 'The same document as GET /v1/config. Edit rules here to try them out.' }),
    loadCurrent);
  const sync = () => { draftBox.hidden = !useDraft.checked; };
  useCurrent.addEventListener('change', sync);
  useDraft.addEventListener('change', sync);
  sync();
  file.addEventListener('change', async () => { if (file.files[0]) text.value = await file.files[0].text(); });
  draftFile.addEventListener('change', async () => { if (draftFile.files[0]) draftText.value = await draftFile.files[0].text(); });
  const slot = h('div', { 'aria-live': 'polite' });
  loadCurrent.addEventListener('click', () => busy(loadCurrent, slot, async () => {
    draftText.value = JSON.stringify(await api('GET', '/v1/config'), null, 2);
  }));
  const run = h('button', { type: 'submit', class: 'primary', id: 'sim-run' }, 'Run simulation');
  const out = h('div', { id: 'sim-result' });
  const form = h('form', { class: 'card', 'aria-label': 'Simulation' },
    h('h2', null, '1. Records'),
    field('JSON Lines file (one assign request per line)', file),
    field('…or paste the lines', text),
    h('h2', null, '2. Rules'),
    h('div', { class: 'checks', role: 'radiogroup', 'aria-label': 'Configuration to simulate' },
      h('label', { for: useCurrent.id }, useCurrent, 'The current rules'), h('label', { for: useDraft.id }, useDraft, 'A draft document')),
    draftBox,
    h('div', { class: 'actions', style: { marginTop: '1rem' } }, run, h('span', { class: 'muted' }, 'Runs from the current state (pool positions, counters) and stores nothing.')));
  add(root, pageHeader('Simulate', 'See the distribution a set of records would get, without changing anything.'), form, slot, out);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(run, slot, async () => {
      fill(out);
      const records = [], bad = [];
      lineOf = [];
      text.value.split(/\r?\n/).forEach((line, i) => {
        if (!line.trim()) return;
        try { records.push(JSON.parse(line)); lineOf.push(i + 1); } catch (err) { bad.push({ message: `Line ${i + 1}: not JSON: ${err.message}` }); }
      });
      if (bad.length) { fill(slot, errorBox({ message: 'Some lines are not JSON; nothing was run.', details: bad }, { title: 'The records file has errors' })); return; }
      if (!records.length) { fill(slot, errorBox(new Error('Choose a JSON Lines file or paste records first.'), { title: 'No records' })); return; }
      const body = { records };
      if (useDraft.checked) {
        try { body.config = JSON.parse(draftText.value); } catch (err) {
          fill(slot, errorBox(new Error(`The draft is not JSON: ${err.message}`), { title: 'The draft document has errors' })); return;
        }
      }
      let r;
      try { r = await api('POST', '/v1/simulate', { body }); } catch (err) { throw byLine(err); }
      show(r);
    });
  });

  // The line (1-based, of what was pasted) that records[i] came from: blank lines are skipped.
  let lineOf = [];
  const lineNo = (i) => lineOf[i] ?? i + 1;
  // The server names a refused record by its index (records[3].record); say which line it is.
  function byLine(err) {
    if (!(err instanceof ApiError) || !err.details.some((d) => /^records\[\d+\]/.test(d.path || ''))) return err;
    const details = err.details.map((d) => {
      const m = /^records\[(\d+)\]\.?(.*)$/.exec(d.path || '');
      return m ? { message: `Line ${lineNo(Number(m[1]))}${m[2] ? ` (${m[2]})` : ''}: ${d.message}` } : d;
    });
    const lines = new Set(err.details.map((d) => /^records\[(\d+)\]/.exec(d.path || '')).filter(Boolean).map((m) => m[1]));
    return new ApiError(err.status, err.code,
      `${lines.size === 1 ? 'A line was' : `${lines.size} lines were`} refused, so nothing was run. Fix ${lines.size === 1 ? 'it' : 'them'} and run again.`, details);
  }

  function show(r) {
    const s = r.summary || {};
    const owners = (s.owners || []).map((o) => ({ ...o, owner: o.owner || '(unassigned)' }));
    const unassigned = Object.entries(s.unassigned || {});
    const failed = (r.decisions || []).map((d, i) => ({ d, i })).filter((x) => x.d.error);
    fill(out, 
      h('div', { class: 'stats' },
        h('div', { class: 'stat accent', id: 'sim-total' }, h('div', { class: 'num' }, s.total ?? r.decisions.length), h('div', { class: 'lbl' }, 'Records simulated')),
        h('div', { class: 'stat' }, h('div', { class: 'num' }, unassigned.reduce((a, [, n]) => a + n, 0)), h('div', { class: 'lbl' }, 'Would stay unassigned')),
        h('div', { class: 'stat' }, h('div', { class: 'num' }, failed.length), h('div', { class: 'lbl' }, 'Lines refused'))),
      card('Distribution per owner',
        owners.length ? [barChart(owners.map((o) => ({ label: o.owner, value: o.percent, count: o.count })), { title: 'Simulated share per owner', valueLabel: 'Share' }),
          table([{ label: 'Owner', key: 'owner' }, { label: 'Records', cls: 'num', key: 'count' }, { label: 'Share', cls: 'num', render: (o) => fmtPct(o.percent) }], owners, { caption: 'Simulated owners' })]
          : empty('No records were assigned.')),
      (s.keys || []).length ? card('Distribution keys: target vs simulated',
        table([
          { label: 'Distribution', key: 'distribution' }, { label: 'Value', key: 'value' }, { label: 'Owner', key: 'owner' },
          { label: 'Records', cls: 'num', key: 'count' }, { label: 'Simulated %', cls: 'num', render: (k) => fmtPct(k.percent) },
          { label: 'Target %', cls: 'num', render: (k) => fmtPct(k.target_percent) },
        ], s.keys, { caption: 'Keys' })) : null,
      unassigned.length ? card('Why records would stay unassigned',
        table([{ label: 'Reason', render: ([k]) => h('code', null, k) }, { label: 'Meaning', render: ([k]) => REASONS[k] || '' }, { label: 'Records', cls: 'num', render: ([, n]) => n }], unassigned)) : null,
      failed.length ? card('Refused lines', table([{ label: 'Line', cls: 'num', render: (x) => lineNo(x.i) }, { label: 'Error', render: (x) => x.d.error.message }], failed)) : null,
      card('Decisions', (r.decisions || []).length ? [
        table([
          { label: 'Line', cls: 'num', render: (d) => lineNo(r.decisions.indexOf(d)) },
          { label: 'Record', render: (d) => (d.error ? '—' : `${d.object_type} ${d.record_id}`) },
          { label: 'Outcome', render: (d) => (d.error ? h('span', { class: 'badge bad' }, 'error') : outcomeBadge(d.outcome)) },
          { label: 'Owner', render: (d) => d.owner || '—' },
          { label: 'Rule', render: (d) => d.rule || '—' },
          { label: 'Reason', render: (d) => (d.error ? d.error.message : d.reason || '—') },
        ], r.decisions.slice(0, 200), { caption: 'Simulated decisions' }),
        r.decisions.length > 200 ? h('p', { class: 'muted' }, `Showing the first 200 of ${r.decisions.length}.`) : null,
      ] : empty('No decisions.')),
    );
  }
}
