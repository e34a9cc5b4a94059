"""docs/openapi.yaml loads as YAML (python3-yaml) and holds an OpenAPI 3.1 document:
every operation has responses, and every $ref points at something in the file."""
import sys

import yaml


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        return False
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def main(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    problems = []
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        problems.append("not an OpenAPI 3.1 document")
    paths = doc.get("paths") if isinstance(doc, dict) else None
    if not isinstance(paths, dict) or not paths:
        problems.append("no paths")
        paths = {}
    for p, item in paths.items():
        for method, op in (item or {}).items():
            if method in ("parameters", "summary", "description"):
                continue
            if not isinstance(op, dict) or not op.get("responses"):
                problems.append(f"{method.upper()} {p}: no responses")
    found = []
    refs(doc, found)
    for r in sorted(set(found)):
        if not resolve(doc, r):
            problems.append(f"unresolved $ref {r}")
    for p in problems:
        print(p)
    print(f"{path}: {len(paths)} paths, {len(set(found))} distinct $refs, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
