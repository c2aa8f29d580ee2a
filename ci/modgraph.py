#!/usr/bin/env python3
"""The module graph of the mock-server crate: which top-level module (concept) uses which.

    python3 ci/modgraph.py            # the edges, then any loop between concepts
    python3 ci/modgraph.py --dot      # Graphviz: python3 ci/modgraph.py --dot | dot -Tsvg > modules.svg

A module is a top-level module of `mock-server/src` (`server`, `pipeline`, `iam`, `policy`, ...);
a node is a module to two levels (`iam::api`, `sts::session`, `pipeline`), and a file uses
another node when it names it through `crate::` or `super::` (in a `use` or a path; unit tests
are left out). Exit status 1 when a loop runs through nodes of more than one concept (a
strongly connected component spanning two top-level modules), so the test suite keeps the
dependencies between concepts one-way.
"""

import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "mock-server" / "src"
# Modules that are the crate's face or test scaffolding, not concepts of the pipeline.
IGNORED = {"lib", "fuzzing", "container"}


def node_of(path: Path) -> str:
    """The node of a file: its module path to two levels (`iam::api`, `pipeline`)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return "::".join(parts[:2])


def concept(node: str) -> str:
    return node.split("::")[0]


def exists(node: str) -> bool:
    base = SRC.joinpath(*node.split("::"))
    return base.with_suffix(".rs").exists() or base.is_dir()


def resolve(path_text: str) -> str:
    """`iam::store::Store` -> the deepest node (up to two levels) that exists."""
    parts = path_text.split("::")
    for depth in (2, 1):
        candidate = "::".join(parts[:depth])
        if len(parts) >= depth and exists(candidate):
            return candidate
    return ""


def uses(path: Path, text: str) -> set:
    # Drop comments, so prose naming `crate::x` is not an edge.
    text = re.sub(r"//[^\n]*", "", text)
    here = list(path.relative_to(SRC).with_suffix("").parts)
    if here[-1] == "mod":
        here.pop()
    found = set()
    # Flatten `use a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
    def expand(prefix, body):
        out, depth, item = [], 0, ""
        for ch in body + ",":
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                item = item.strip()
                if "{" in item:
                    head, rest = item.split("{", 1)
                    out += expand(prefix + head, rest.rsplit("}", 1)[0])
                elif item:
                    out.append(prefix + item)
                item = ""
            else:
                item += ch
        return out
    paths = []
    for m in re.finditer(r"\b(crate|super)::((?:[A-Za-z_][A-Za-z0-9_]*::)*)\{", text):
        body, depth, i = "", 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            body += text[i]
            i += 1
        paths += expand(m.group(1) + "::" + m.group(2), body[:-1])
    paths += re.findall(r"\b(?:crate|super)::(?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*", text)
    for p in paths:
        p = re.sub(r"\s+", "", p)
        segments = p.split("::")
        if segments[0] == "crate":
            target = segments[1:]
        else:
            base = here[:]
            while segments and segments[0] == "super":
                segments.pop(0)
                base.pop()
            target = base + segments
        node = resolve("::".join(target))
        if node:
            found.add(node)
    return found


def graph() -> dict:
    edges = {}
    for path in sorted(SRC.rglob("*.rs")):
        node = node_of(path)
        if concept(node) in IGNORED:
            continue
        # Unit tests may reach anywhere.
        text = path.read_text().split("#[cfg(test)]", 1)[0]
        edges.setdefault(node, set())
        for used in uses(path, text):
            if used != node and concept(used) not in IGNORED:
                edges[node].add(used)
    return edges


def loops(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            # A loop inside one concept (iam::api <-> iam::state) is the concept's own
            # business; one through several concepts is what must not exist.
            if len({concept(n) for n in component}) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    edges = graph()
    if "--dot" in sys.argv:
        print("digraph mock_server {\n  rankdir=TB;")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
        return 0
    for a in sorted(edges):
        print(f"{a} -> {', '.join(sorted(edges[a])) or '(nothing)'}")
    found = loops(edges)
    for component in found:
        print(f"loop: {' <-> '.join(component)}")
    if not found:
        print("no loop between modules")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
