#!/usr/bin/env bash
# End-to-end tests of `rota simulate` (issue 3): runs the built binary on the example
# files and on broken inputs, and checks stdout, stderr and the exit code.
# Usage: simulate_test.sh PATH/TO/rota [EXAMPLES_DIR]
set -u

ROTA=${1:?usage: simulate_test.sh PATH/TO/rota [EXAMPLES_DIR]}
EXAMPLES=${2:-$(cd "$(dirname "$0")/../../examples" && pwd)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL: $*" >&2
}

# run ARGS...: runs rota, leaving $WORK/out, $WORK/err and $rc.
run() {
  "$ROTA" "$@" >"$WORK/out" 2>"$WORK/err"
  rc=$?
}

expect_rc() {  # expect_rc WANT WHAT
  if [[ $rc -eq $1 ]]; then pass; else fail "$2: exit $rc, want $1"; sed 's/^/    stderr: /' "$WORK/err" >&2; fi
}
expect_empty_stdout() {
  if [[ ! -s $WORK/out ]]; then pass; else fail "$1: stdout not empty:"; head -3 "$WORK/out" >&2; fi
}
expect_stderr() {  # expect_stderr FIXED-STRING WHAT
  if grep -qF -- "$1" "$WORK/err"; then pass; else fail "$2: stderr lacks '$1'"; sed 's/^/    stderr: /' "$WORK/err" >&2; fi
}

# check_lines PYTHON-EXPRESSIONS...: each expression is evaluated with `d` = the list of
# decisions on stdout (parsed JSON) and must be true.
check_lines() {
  local what=$1
  shift
  local out
  if out=$(python3 - "$WORK/out" "$@" <<'PY' 2>&1
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().splitlines() if l.strip()]
d = [json.loads(l) for l in lines]
by = {x.get("record_id"): x for x in d}
bad = []
for expr in sys.argv[2:]:
    try:
        ok = eval(expr, {"d": d, "by": by})
    except Exception as e:  # noqa: BLE001
        ok = False
        expr += f"  ({type(e).__name__}: {e})"
    if not ok:
        bad.append(expr)
if bad:
    print("\n".join("    not true: " + b for b in bad))
    sys.exit(1)
PY
  ); then
    pass
  else
    fail "$what"
    echo "$out" >&2
  fi
}

# --- 1. the example files -------------------------------------------------------------------
run simulate --config "$EXAMPLES/config.json" --records "$EXAMPLES/records.jsonl"
expect_rc 0 "examples"
check_lines "examples: decisions" \
  'len(d) == 10' \
  '[x["record_id"] for x in d] == ["L-1", "L-2", "L-3", "L-4", "L-0", "D-1", "D-2", "D-3", "D-4", "T-1"]' \
  'all({"outcome", "owner", "rule", "strategy", "reason", "related", "record_id", "object_type", "event"} <= set(x) for x in d)' \
  'all("trace" not in x for x in d)' \
  'by["L-1"]["owner"] == "u-anna" and by["L-1"]["outcome"] == "assigned" and by["L-1"]["rule"] == "leads"' \
  'by["L-1"]["strategy"] == "pool" and by["L-1"]["reason"] is None' \
  'by["L-1"]["object_type"] == "lead" and by["L-1"]["event"] == "created"' \
  'by["L-2"]["owner"] == "u-ben"' \
  'by["L-3"]["owner"] == "u-cleo"' \
  'by["L-4"]["owner"] == "u-anna"' \
  'by["L-0"]["event"] == "assign_requested" and by["L-0"]["owner"] == "u-ben" and by["L-0"]["strategy"] == "pool"' \
  'by["D-1"]["owner"] == "u-anna" and by["D-1"]["rule"] == "deals-by-county" and by["D-1"]["strategy"] == "distribution"' \
  'by["D-1"]["related"] == [{"object_type": "company", "id": "C-1", "owners": ["u-boss", "u-anna"]}]' \
  'by["D-2"]["owner"] == "u-ben"' \
  'by["D-3"]["outcome"] == "default" and by["D-3"]["owner"] == "u-boss"' \
  'by["D-4"]["owner"] == "u-dan" and by["D-4"]["rule"] == "big-deals" and by["D-4"]["strategy"] == "user"' \
  'by["T-1"]["outcome"] == "unassigned" and by["T-1"]["owner"] is None and by["T-1"]["reason"] == "no_rule_matched"' \
  'by["T-1"]["rule"] is None and by["T-1"]["strategy"] is None and by["T-1"]["related"] == []'
expect_stderr "owner" "examples: summary header"
expect_stderr "actual %" "examples: summary actual %"
expect_stderr "target %" "examples: summary target % for distribution keys"
if python3 - "$WORK/err" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
# Per owner: records received and actual %.
rows = {m.group(1): (int(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"^(\S+)\s+(\d+)\s+([\d.]+)\s*$", text, re.M)}
want = {"u-anna": (3, 30.0), "u-ben": (3, 30.0), "u-cleo": (1, 10.0), "u-dan": (1, 10.0), "u-boss": (1, 10.0)}
bad = {k: rows.get(k) for k, v in want.items() if rows.get(k) != v}
# Distribution key Kent: u-anna's target is 50 %.
kent = re.search(r"^by-county\s+Kent\s+u-anna\s+\d+\s+[\d.]+\s+50\.00\s*$", text, re.M)
if bad or not kent:
    print("summary rows wrong:", bad, "kent target row found:", bool(kent))
    sys.exit(1)
PY
then pass; else fail "examples: summary counts"; fi

# --- 2. --explain adds "trace" ----------------------------------------------------------------
run simulate --config "$EXAMPLES/config.json" --records "$EXAMPLES/records.jsonl" --explain
expect_rc 0 "--explain"
check_lines "--explain: traces" \
  'len(d) == 10' \
  'all(isinstance(x.get("trace"), list) and len(x["trace"]) > 0 for x in d)' \
  'all("step" in t for x in d for t in x["trace"])' \
  'any(t["step"] == "rule" and t.get("rule") == "leads" for t in by["L-1"]["trace"])' \
  'any(t["step"] == "no_rule" for t in by["T-1"]["trace"])' \
  '[x["owner"] for x in d] == ["u-anna", "u-ben", "u-cleo", "u-anna", "u-ben", "u-anna", "u-ben", "u-boss", "u-dan", None]'

# --- 3. --now applies to lines without "at" ---------------------------------------------------
# Cleo works Mon–Fri 09:00–17:00 Warsaw time; outside those hours the rule's fallback takes it.
cat >"$WORK/hours.json" <<'JSON'
{
  "users": [
    {"id": "u-cleo", "working_hours": {"tz": "Europe/Warsaw", "days": {"mon": ["09:00", "17:00"], "tue": ["09:00", "17:00"], "wed": ["09:00", "17:00"], "thu": ["09:00", "17:00"], "fri": ["09:00", "17:00"]}}},
    {"id": "u-night"}
  ],
  "pools": [{"id": "day", "object_type": "lead", "members": ["u-cleo"]}],
  "rules": [{"id": "all-leads", "object_type": "lead", "events": ["created"],
             "conditions": {"all": [{"field": "nothing", "op": "is_empty"}]},
             "assign": {"type": "pool", "pool": "day"}, "fallback_user": "u-night"}]
}
JSON
cat >"$WORK/hours.jsonl" <<'JSONL'
{"object_type": "lead", "event": "created", "record": {"id": "N-1"}}
{"object_type": "lead", "event": "created", "record": {"id": "N-2"}, "at": "2026-11-23T10:00:00Z"}

{"object_type": "lead", "event": "created", "record": {"id": "N-3"}}
JSONL
# Monday 2026-11-23 02:00 UTC is 03:00 in Warsaw: outside working hours.
run simulate --config "$WORK/hours.json" --records "$WORK/hours.jsonl" --now 2026-11-23T02:00:00Z
expect_rc 0 "--now at night"
check_lines "--now at night" \
  'len(d) == 3' \
  'by["N-1"]["owner"] == "u-night" and by["N-1"]["outcome"] == "fallback"' \
  'by["N-2"]["owner"] == "u-cleo" and by["N-2"]["outcome"] == "assigned"' \
  'by["N-3"]["owner"] == "u-night" and by["N-3"]["outcome"] == "fallback"' \
  'by["N-1"].get("at", "2026-11-23T02:00:00Z") == "2026-11-23T02:00:00Z"' \
  'by["N-2"].get("at", "2026-11-23T10:00:00Z") == "2026-11-23T10:00:00Z"'
# Monday 09:30 Warsaw (with an offset): inside working hours; "at" still wins for N-2.
sed -i 's/"at": "2026-11-23T10:00:00Z"/"at": "2026-11-23T03:00:00+01:00"/' "$WORK/hours.jsonl"
run simulate --config "$WORK/hours.json" --records "$WORK/hours.jsonl" --now 2026-11-23T09:30:00+01:00
expect_rc 0 "--now by day"
check_lines "--now by day" \
  'by["N-1"]["owner"] == "u-cleo" and by["N-1"]["outcome"] == "assigned"' \
  'by["N-2"]["owner"] == "u-night" and by["N-2"]["outcome"] == "fallback"' \
  'by["N-3"]["owner"] == "u-cleo"' \
  'by["N-1"].get("at", "2026-11-23T08:30:00Z") == "2026-11-23T08:30:00Z"'
run simulate --config "$WORK/hours.json" --records "$WORK/hours.jsonl" --now "next monday"
expect_rc 2 "bad --now"
expect_empty_stdout "bad --now"
expect_stderr "--now" "bad --now"

# --- 4. a bad config: every problem with its path, nothing on stdout --------------------------
python3 - "$EXAMPLES/config.json" "$WORK/bad-config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1], encoding="utf-8"))
c["rules"][0]["conditions"]["all"][0]["op"] = "equals"   # rules[0].conditions.all[0].op
c["pools"][0]["members"].append("u-ghost")                # pools[0].members[3]
json.dump(c, open(sys.argv[2], "w", encoding="utf-8"))
PY
run simulate --config "$WORK/bad-config.json" --records "$EXAMPLES/records.jsonl"
expect_rc 2 "bad config"
expect_empty_stdout "bad config"
expect_stderr 'rules[0].conditions.all[0].op: unknown operator "equals"' "bad config: operator"
expect_stderr 'pools[0].members[3]: unknown user "u-ghost"' "bad config: second problem"

echo '{"users": [' >"$WORK/not-json.json"
run simulate --config "$WORK/not-json.json" --records "$EXAMPLES/records.jsonl"
expect_rc 2 "config not JSON"
expect_empty_stdout "config not JSON"
expect_stderr "not-json.json" "config not JSON names the file"

# --- 5. bad record lines ----------------------------------------------------------------------
# A file that is not assign bodies (not JSON, a shape problem): every such line named,
# nothing decided, nothing on stdout (as POST /v1/simulate's 422).
{
  sed -n 1,2p "$EXAMPLES/records.jsonl"
  echo '{"object_type": "lead", "event": "created", "record": {"id": "L-9"'
  sed -n 4p "$EXAMPLES/records.jsonl"
  echo '{"object_type": "lead", "event": "created", "target": {"pool": "north"}, "record": {"id": "L-2"}}'
  echo '{"object_type": "ticket", "event": "closed", "record": {"id": "X-1"}}'
  sed -n '6,$p' "$EXAMPLES/records.jsonl"
} >"$WORK/bad.jsonl"
run simulate --config "$EXAMPLES/config.json" --records "$WORK/bad.jsonl"
expect_rc 2 "bad records"
expect_empty_stdout "bad records"
expect_stderr "bad.jsonl:3:" "bad records: line 3"
expect_stderr "bad.jsonl:5: target" "target without assign_requested"
expect_stderr "bad.jsonl:6: object_type" "unknown object type"
expect_stderr "bad.jsonl:6: event" "unknown event"
if grep -qE 'bad\.jsonl:(1|2|4|7|8|9|10|11|12):' "$WORK/err"; then fail "bad records: good lines blamed"; else pass; fi

# A target the decision cannot take (unknown, or of another object type) is a bad line
# (SPEC §3.2): its error in its place on stdout, with its line, and the other lines decided.
cat >"$WORK/bad2.jsonl" <<'JSONL'
{"object_type": "lead", "event": "assign_requested", "target": {"rule": "no-such-rule"}, "record": {"id": "L-1"}}
{"object_type": "lead", "event": "created", "record": {"id": "L-2", "properties": {"source": "web", "country": "PL"}}}
{"object_type": "lead", "event": "assign_requested", "target": {"pool": "south"}, "record": {"id": "L-8"}}
{"object_type": "deal", "event": "assign_requested", "target": {"pool": "north"}, "record": {"id": "D-1"}}
JSONL
run simulate --config "$EXAMPLES/config.json" --records "$WORK/bad2.jsonl" --now 2026-11-23T09:00:00Z
expect_rc 2 "bad targets"
if [[ $(wc -l <"$WORK/out") -eq 4 ]]; then pass; else fail "bad targets: one stdout line per record line: $(cat "$WORK/out")"; fi
if sed -n 1p "$WORK/out" | grep -q '"line":1' && sed -n 1p "$WORK/out" | grep -q 'no-such-rule'; then pass; else fail "bad targets: line 1 is its error"; fi
if sed -n 2p "$WORK/out" | grep -q '"record_id":"L-2"'; then pass; else fail "bad targets: line 2 decided"; fi
if sed -n 3p "$WORK/out" | grep -q '"line":3' && sed -n 3p "$WORK/out" | grep -q 'south'; then pass; else fail "bad targets: line 3 is its error"; fi
if sed -n 4p "$WORK/out" | grep -q '"line":4' && sed -n 4p "$WORK/out" | grep -q '"code":"validation_failed"'; then pass; else fail "bad targets: line 4 (pool of another type) is its error"; fi
expect_stderr "bad2.jsonl:1:" "unknown rule target named on stderr"
expect_stderr "bad2.jsonl:4: target.pool" "pool of another object type named on stderr"

# dry_run and idempotency_key mean what they mean to POST /v1/assign: a dry run keeps
# nothing; the same request again with its key gets the same decision.
cat >"$WORK/keys.jsonl" <<'JSONL'
{"object_type": "lead", "event": "assign_requested", "target": {"pool": "north"}, "record": {"id": "K-1"}, "dry_run": true}
{"object_type": "lead", "event": "assign_requested", "target": {"pool": "north"}, "record": {"id": "K-1"}, "idempotency_key": "k"}
{"object_type": "lead", "event": "assign_requested", "target": {"pool": "north"}, "record": {"id": "K-1"}, "idempotency_key": "k"}
JSONL
run simulate --config "$EXAMPLES/config.json" --records "$WORK/keys.jsonl" --now 2026-11-23T09:00:00Z
expect_rc 0 "dry run and keys"
owners=$(grep -o '"owner":"[^"]*"' "$WORK/out" | tr '\n' ' ')
first=$(sed -n 1p "$WORK/out" | grep -o '"owner":"[^"]*"')
if [[ $owners == "$first $first $first " ]]; then pass; else fail "dry run and keys: one owner three times, got $owners"; fi
if sed -n 1p "$WORK/out" | grep -q '"dry_run":true' && sed -n 3p "$WORK/out" | grep -q '"replayed":true'; then pass; else fail "dry run and replay marked"; fi

# A retry comes later: a line's "at" is when it arrives, not part of the request.
cat >"$WORK/retry.jsonl" <<'JSONL'
{"object_type": "lead", "event": "assign_requested", "target": {"pool": "north"}, "record": {"id": "K-2"}, "idempotency_key": "k2", "at": "2026-11-23T10:00:00Z"}
{"object_type": "lead", "event": "assign_requested", "target": {"pool": "north"}, "record": {"id": "K-2"}, "idempotency_key": "k2", "at": "2026-11-23T10:05:00Z"}
JSONL
run simulate --config "$EXAMPLES/config.json" --records "$WORK/retry.jsonl"
expect_rc 0 "a later retry"
if sed -n 2p "$WORK/out" | grep -q '"replayed":true' && sed -n 2p "$WORK/out" | grep -q '"at":"2026-11-23T10:00:00Z"'; then
  pass
else
  fail "a later retry is the first decision again: $(cat "$WORK/out")"
fi

# A draft that `rota config apply` would refuse (a reversed between) is refused here too.
cat >"$WORK/reversed.json" <<'JSON'
{"users": [{"id": "a"}],
 "rules": [{"id": "r", "object_type": "lead", "events": ["created"],
            "conditions": {"all": [{"field": "score", "op": "between", "value": [10, 1]}]},
            "assign": {"type": "user", "user": "a"}}]}
JSON
run simulate --config "$WORK/reversed.json" --records "$WORK/keys.jsonl" --now 2026-11-23T09:00:00Z
expect_rc 2 "reversed between"
expect_empty_stdout "reversed between"
expect_stderr "rules[0].conditions.all[0].value" "reversed between names the condition"

# --- 6. missing files -------------------------------------------------------------------------
run simulate --config "$WORK/nope.json" --records "$EXAMPLES/records.jsonl"
expect_rc 2 "missing config"
expect_empty_stdout "missing config"
expect_stderr "nope.json" "missing config names the file"
run simulate --config "$EXAMPLES/config.json" --records "$WORK/nope.jsonl"
expect_rc 2 "missing records"
expect_empty_stdout "missing records"
expect_stderr "nope.jsonl" "missing records names the file"
# A directory is not a file (it read as an empty one), for simulate and the other readers.
mkdir -p "$WORK/adir"
run simulate --config "$EXAMPLES/config.json" --records "$WORK/adir"
expect_rc 2 "records a directory"
expect_empty_stdout "records a directory"
expect_stderr "a directory, not a file" "records a directory is said so"
run simulate --config "$WORK/adir" --records "$EXAMPLES/records.jsonl"
expect_rc 2 "config a directory"
expect_stderr "a directory, not a file" "config a directory is said so"
run config apply --db "$WORK/dir-test.db" "$WORK/adir"
expect_rc 2 "config apply of a directory"
expect_stderr "a directory, not a file" "config apply of a directory is said so"
if [[ ! -e $WORK/dir-test.db ]]; then pass; else fail "config apply of a directory made a database"; fi
run assign --db "$WORK/dir-test.db" "$WORK/adir"
expect_rc 2 "assign of a directory"
expect_stderr "a directory, not a file" "assign of a directory is said so"

# --- 7. an empty records file is fine ---------------------------------------------------------
: >"$WORK/empty.jsonl"
run simulate --config "$EXAMPLES/config.json" --records "$WORK/empty.jsonl" --now 2026-11-23T09:00:00Z
expect_rc 0 "empty records"
expect_empty_stdout "empty records"

echo "simulate_test: $((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
