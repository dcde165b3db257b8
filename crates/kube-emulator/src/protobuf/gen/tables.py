#!/usr/bin/env python3
"""Writes the message tables of the sandbox's protobuf request decoder.

Field numbers and protobuf types come from the upstream `generated.proto` files; JSON
names, `omitempty`, pointers and embedding come from the Go struct tags beside them,
because the decoder must print what a Go client would have sent as JSON.

    python3 tables.py --api API_GIT_DIR --apimachinery APIMACHINERY_GIT_DIR \
        --rev v0.36.3 --out ..

API_GIT_DIR and APIMACHINERY_GIT_DIR are clones of kubernetes/api and
kubernetes/apimachinery; --rev is a tag both share.
"""
import argparse
import re
import subprocess

SCALARS = {'string', 'bytes', 'bool', 'int32', 'int64'}
# Messages the decoder handles by hand, mapped to their `Ty` variant.
SPECIAL = {
    'k8s.io.apimachinery.pkg.apis.meta.v1.Time': 'Time',
    'k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime': 'MicroTime',
    'k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1': 'FieldsV1',
    'k8s.io.apimachinery.pkg.api.resource.Quantity': 'Quantity',
    'k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'IntOrString',
}
TY = {'string': 'Str', 'bytes': 'Bytes', 'bool': 'Bool', 'int32': 'I32', 'int64': 'I64'}
CORE = 'k8s.io.api.core.v1.'
META = 'k8s.io.apimachinery.pkg.apis.meta.v1.'
ROOTS = [CORE + k for k in ('Secret', 'ConfigMap', 'Namespace', 'ServiceAccount', 'Pod',
                            'PersistentVolumeClaim', 'PersistentVolume', 'Event')] + [
    'k8s.io.api.authentication.v1.TokenRequest', 'k8s.io.api.batch.v1.Job',
    'k8s.io.api.coordination.v1.Lease'] + [
    'k8s.io.api.rbac.v1.' + k for k in ('Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding')
] + [META + 'DeleteOptions']

FIELD = re.compile(r'^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;')
MAP_FIELD = re.compile(r'^\s*map<\s*string\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;')
STRUCT = re.compile(r'^type\s+(\w+)\s+struct\s*\{')
GO_FIELD = re.compile(r'^\t(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`')


class Source:
    def __init__(self, args):
        self.rev = args.rev
        self.pkgs = {
            'k8s.io.api.core.v1': (args.api, 'core/v1'),
            'k8s.io.api.batch.v1': (args.api, 'batch/v1'),
            'k8s.io.api.rbac.v1': (args.api, 'rbac/v1'),
            'k8s.io.api.coordination.v1': (args.api, 'coordination/v1'),
            'k8s.io.api.authentication.v1': (args.api, 'authentication/v1'),
            META[:-1]: (args.apimachinery, 'pkg/apis/meta/v1'),
            'k8s.io.apimachinery.pkg.api.resource': (args.apimachinery, 'pkg/api/resource'),
            'k8s.io.apimachinery.pkg.util.intstr': (args.apimachinery, 'pkg/util/intstr'),
            'k8s.io.apimachinery.pkg.runtime': (args.apimachinery, 'pkg/runtime'),
            'k8s.io.apimachinery.pkg.runtime.schema': (args.apimachinery, 'pkg/runtime/schema'),
        }
        self.protos = {}
        for pkg in self.pkgs:
            for name, fields in self.parse_proto(pkg).items():
                self.protos[pkg + '.' + name] = fields
        self.structs = {pkg: self.parse_go(pkg) for pkg in self.pkgs}

    def git(self, *args):
        repo = args[0]
        return subprocess.run(['git', '--git-dir', repo, *args[1:]], capture_output=True,
                              text=True, check=True).stdout

    def parse_proto(self, pkg):
        repo, d = self.pkgs[pkg]
        msgs, cur = {}, None
        for line in self.git(repo, 'show', f'{self.rev}:{d}/generated.proto').splitlines():
            s = line.strip()
            m = re.match(r'^message\s+(\w+)\s*\{', s)
            if m:
                cur = msgs.setdefault(m.group(1), [])
            elif s == '}':
                cur = None
            elif cur is not None and s and not s.startswith('//'):
                if m := FIELD.match(line):
                    label, ty, name, num = m.groups()
                    cur.append(dict(label=label, type=qualify(ty, pkg), name=name, num=int(num)))
                elif m := MAP_FIELD.match(line):
                    ty, name, num = m.groups()
                    cur.append(dict(label='map', type=qualify(ty, pkg), name=name, num=int(num)))
                else:
                    raise SystemExit(f'cannot read {pkg}: {line}')
        return msgs

    def parse_go(self, pkg):
        repo, d = self.pkgs[pkg]
        structs = {}
        for f in self.git(repo, 'ls-tree', '--name-only', self.rev, d + '/').split():
            if not f.endswith('.go') or f.endswith('_test.go') or 'generated' in f:
                continue
            lines = self.git(repo, 'show', f'{self.rev}:{f}').splitlines()
            i = 0
            while i < len(lines):
                m = STRUCT.match(lines[i])
                if m and lines[i].rstrip().endswith('{}'):
                    structs[m.group(1)] = []
                elif m:
                    fields = structs.setdefault(m.group(1), [])
                    i += 1
                    while i < len(lines) and lines[i] != '}':
                        if fm := GO_FIELD.match(lines[i]):
                            goname, gotype, tags = fm.groups()
                            fields.append(dict(goname=goname, gotype=gotype,
                                               tags=dict(re.findall(r'(\w+):"([^"]*)"', tags))))
                        i += 1
                i += 1
        return structs

    def closure(self, roots):
        seen, stack = [], list(reversed(roots))
        while stack:
            m = stack.pop()
            if m in seen or m in SPECIAL:
                continue
            seen.append(m)
            stack.extend(reversed([f['type'] for f in self.protos[m] if f['type'] not in SCALARS]))
        return seen

    def fields(self, m):
        """The fields of `m` in Go declaration order, with JSON name and printing rule."""
        pkg, name = m.rsplit('.', 1)
        by_number = {f['num']: f for f in self.protos[m]}
        out = []
        for gf in self.structs[pkg][name]:
            tag = gf['tags'].get('protobuf')
            if not tag:
                continue
            f = by_number.pop(int(tag.split(',')[1]))
            json_name, *opts = gf['tags'].get('json', '').split(',')
            gotype = gf['gotype']
            if (gf['goname'] is None and json_name == '') or 'inline' in opts:
                rule, json_name = 'inline', ''
            elif gotype.startswith('*'):
                rule = 'ptr' if 'omitempty' in opts else 'ptr_null'
            elif 'omitempty' in opts:
                rule = 'omit'
            else:
                rule = 'req'
            if json_name == '-':
                raise SystemExit(f'{m} field {f["num"]} is not in JSON')
            if rule != 'inline' and not json_name:
                json_name = gf['goname'] or gotype.split('.')[-1]
            out.append(dict(f, json=json_name, rule=rule))
        if by_number:
            raise SystemExit(f'{m}: no Go field for protobuf fields {sorted(by_number)}')
        return out


def qualify(ty, pkg):
    if ty in SCALARS:
        return ty
    if ty.startswith('.'):
        return ty[1:]
    return ty if '.' in ty else pkg + '.' + ty


def static(m):
    n = m.rsplit('.', 1)[1]
    n = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', n)
    n = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', n)
    return n.upper()


def helper(f):
    shape = {'map': 'map', 'repeated': 'list'}.get(f['label'], 'one')
    if shape == 'one':
        return f['rule']
    if f['rule'] in ('omit', 'req'):
        return shape + ('_req' if f['rule'] == 'req' else '')
    raise SystemExit(f'no helper for a {shape} with rule {f["rule"]}: {f}')


def use_line(path, names):
    one = f'use {path}::{{{", ".join(names)}}};' if len(names) > 1 else f'use {path}::{names[0]};'
    if len(one) <= 100:
        return [one]
    lines, line = [f'use {path}::{{'], '   '
    for n in names:
        if len(line) + len(n) + 2 > 100:
            lines.append(line)
            line = '   '
        line += f' {n},'
    return lines + [line, '};']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--api', required=True)
    ap.add_argument('--apimachinery', required=True)
    ap.add_argument('--rev', required=True)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    src = Source(args)
    msgs = src.closure(ROOTS)
    container = set(src.closure([CORE + 'Container', CORE + 'EphemeralContainer']))
    volume = set(src.closure([CORE + 'Volume'])) - container
    storage = set(src.closure([CORE + 'PersistentVolume', CORE + 'PersistentVolumeClaim']))
    storage -= container | volume
    files = [
        ('meta', 'meta/v1 messages the objects embed, and `DeleteOptions`.',
         lambda m: m.startswith(META)),
        ('core_container', 'core/v1 container messages: env, ports, probes, resources, security.',
         lambda m: m in container),
        ('core_volume', 'core/v1 pod volume sources.', lambda m: m in volume),
        ('core_storage', 'core/v1 persistent volumes and their claims.',
         lambda m: m in storage and m.startswith(CORE)),
        ('core_objects', 'core/v1 objects other than volumes, and the pod spec and status.',
         lambda m: m.startswith(CORE)),
        ('batch', 'batch/v1 `Job`.', lambda m: m.startswith('k8s.io.api.batch.v1.')),
        ('rbac', 'rbac/v1 roles and bindings.', lambda m: m.startswith('k8s.io.api.rbac.v1.')),
        ('coordination', 'coordination/v1 `Lease`.',
         lambda m: m.startswith('k8s.io.api.coordination.v1.')),
        ('authentication', 'authentication/v1 `TokenRequest`.',
         lambda m: m.startswith('k8s.io.api.authentication.v1.')),
    ]
    home = {}
    for m in msgs:
        home[m] = next((name for name, _, pred in files if pred(m)), None)
        if home[m] is None:
            raise SystemExit(f'no file for {m}')
    for file, doc, _ in files:
        body, refs, helpers, tys = [], {}, set(), set()
        for m in msgs:
            if home[m] != file:
                continue
            items = []
            for f in src.fields(m):
                h = helper(f)
                helpers.add(h)
                t = f['type']
                if t in TY or t in SPECIAL:
                    ty = TY.get(t) or SPECIAL[t]
                    tys.add(ty)
                else:
                    tys.add('Msg')
                    ty = f'Msg(&{static(t)})'
                    if home[t] != file:
                        refs.setdefault(home[t], set()).add(static(t))
                items.append(f'{h}({f["num"]}, {ty})' if h == 'inline'
                             else f'{h}({f["num"]}, "{f["json"]}", {ty})')
            body.append(f'pub(super) static {static(m)}: Message = Message {{')
            body.append(f'    name: "{m}",')
            body.append('    fields: &[')
            line = '       '
            for it in items:
                if len(line) + len(it) + 2 > 100:
                    body.append(line)
                    line = '       '
                line += f' {it},'
            body.append(line)
            body.append('    ],')
            body.append('};')
            body.append('')
        out = [f'//! {doc}', '//!',
               f'//! Written by `gen/tables.py` from `k8s.io/api` and `k8s.io/apimachinery` {args.rev};',
               '//! change the script and run it again rather than editing.',
               '']
        for r in sorted(refs):
            out += use_line(f'super::{r}', sorted(refs[r]))
        out += use_line('super::schema', ['Message'] + sorted(helpers))
        out += use_line('super::schema::Ty', sorted(tys))
        out.append('')
        with open(f'{args.out}/{file}.rs', 'w') as fh:
            fh.write('\n'.join(out + body).rstrip() + '\n')
        print(f'{file}.rs: {sum(1 for m in msgs if home[m] == file)} messages, '
              f'{len(out) + len(body)} lines')


if __name__ == '__main__':
    main()
