#!/usr/bin/env python3
"""Runs the shell command blocks of one Markdown file of README.md / docs/, as a user would type them.

So that a documented command that stops working fails CI: every ```bash (or ```sh) block of the file runs, in the
order of the file, in one scratch copy of the repository (its tracked files, with build/ and data/ linked to the real
ones, so that outputs never touch the checkout), from that copy's root, with build/bin on PATH and the environment
switch MAE_SMOKE_STEPS (default 1) that shortens every epoch, evaluation and benchmark (docs/toolchain.md). A block
fails on the first command that fails (bash -e -o pipefail).

A block that cannot run on a CPU machine in CI says so on the line before its opening fence, with the reason:
    <!-- docs-test: skip needs a GPU node -->
    <!-- docs-test: without "bash scripts/test.sh": the test run this check is part of -->
`skip` leaves the whole block out; `without "PREFIX"` drops the block's lines that start with PREFIX.

usage: run_doc_commands.py --source REPO --build BUILD_DIR FILE.md [--list]
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r'^```(\w*)\s*$')
MARKER = re.compile(r'^<!--\s*docs-test:\s*(skip|without)\s+(.*?)\s*-->\s*$')
WITHOUT = re.compile(r'^"([^"]+)"\s*:\s*(\S.*)$')
SHELL_LANGUAGES = {'bash', 'sh', 'shell', 'console'}
BLOCK_TIMEOUT_S = 900


class Block:
    def __init__(self, line, language, lines, marker):
        self.line, self.language, self.lines, self.marker = line, language, lines, marker

    def describe(self, path):
        return f'{path}:{self.line}'


def blocks_of(text, path):
    """The fenced blocks of `text` with the marker before each; a malformed marker is an error."""
    blocks, lines, at = [], text.split('\n'), 0
    while at < len(lines):
        fence = FENCE.match(lines[at])
        if not fence:
            at += 1
            continue
        marker = None
        previous = lines[at - 1] if at > 0 else ''
        if 'docs-test' in previous:
            found = MARKER.match(previous)
            if not found:
                sys.exit(f'{path}:{at}: malformed docs-test marker {previous!r}')
            marker = (found.group(1), found.group(2))
        end = at + 1
        while end < len(lines) and not lines[end].startswith('```'):
            end += 1
        blocks.append(Block(at + 1, fence.group(1), lines[at + 1:end], marker))
        at = end + 1
    return blocks


def script_of(block, path):
    """The block's commands after its marker; None when the whole block is skipped."""
    if block.marker is None:
        return '\n'.join(block.lines)
    kind, argument = block.marker
    if kind == 'skip':
        if not argument:
            sys.exit(f'{block.describe(path)}: a skipped block must say why')
        return None
    found = WITHOUT.match(argument)
    if not found:
        sys.exit(f'{block.describe(path)}: write the marker as without "PREFIX": REASON')
    kept = [line for line in block.lines if not line.startswith(found.group(1))]
    if len(kept) == len(block.lines):
        sys.exit(f'{block.describe(path)}: no line starts with {found.group(1)!r}')
    return '\n'.join(kept)


def scratch_copy(source, build, into):
    """The repository's tracked files under `into`, with build/ and data/ linked to the real ones."""
    files = subprocess.run(['git', '-C', str(source), 'ls-files', '-z'], check=True, capture_output=True).stdout
    for name in files.decode().split('\0'):
        if name and (source / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, into / name)
    (into / 'build').symlink_to(build.resolve(), target_is_directory=True)
    (source / 'data').mkdir(exist_ok=True)
    (into / 'data').symlink_to((source / 'data').resolve(), target_is_directory=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--source', required=True, type=pathlib.Path, help='the repository root')
    parser.add_argument('--build', required=True, type=pathlib.Path, help='the build folder (with bin/)')
    parser.add_argument('--list', action='store_true', help='only list the blocks and what would run')
    parser.add_argument('file', help='the Markdown file, relative to the repository root')
    args = parser.parse_args()
    source = args.source.resolve()
    blocks = [b for b in blocks_of((source / args.file).read_text(), args.file) if b.language in SHELL_LANGUAGES]
    scripts = [(block, script_of(block, args.file)) for block in blocks]
    if args.list or not any(script for _, script in scripts):
        for block, script in scripts:
            state = 'runs' if script is not None else f'skipped: {block.marker[1]}'
            print(f'{block.describe(args.file)}: {state}')
        return 0
    environment = dict(os.environ)
    environment.setdefault('MAE_SMOKE_STEPS', '1')
    with tempfile.TemporaryDirectory(prefix='mae_docs_') as scratch:
        root = pathlib.Path(scratch)
        scratch_copy(source, args.build, root)
        environment['PATH'] = f'{root / "build/bin"}{os.pathsep}{environment["PATH"]}'
        for block, script in scripts:
            if script is None:
                print(f'--- {block.describe(args.file)}: skipped ({block.marker[1]})')
                continue
            print(f'--- {block.describe(args.file)}:\n{script}', flush=True)
            start = time.monotonic()
            try:
                result = subprocess.run(['bash', '-e', '-o', 'pipefail', '-c', script], cwd=root, env=environment,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        timeout=BLOCK_TIMEOUT_S)
            except subprocess.TimeoutExpired as timeout:
                print((timeout.output or '')[-6000:] if isinstance(timeout.output, str) else '')
                print(f'FAILED {block.describe(args.file)}: still running after {BLOCK_TIMEOUT_S} s')
                return 1
            print(result.stdout[-6000:] if result.returncode else result.stdout[-600:])
            if result.returncode != 0:
                print(f'FAILED {block.describe(args.file)}: exit code {result.returncode}')
                return 1
            print(f'ok ({time.monotonic() - start:.0f} s)', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
