#!/usr/bin/env python3
"""Writes the official argparse defaults of main_pretrain.py, main_finetune.py and main_linprobe.py as JSON fixtures.

Usage: official_defaults.py MAE_CHECKOUT OUT_DIR

MAE_CHECKOUT is a checkout of facebookresearch/mae. Only each file's get_args_parser() is taken (by parsing the
source, so none of the reference's imports, timm 0.3.2 among them, are needed) and run with no arguments; the
resulting Namespace is written as <job>.json. tests/config/official_defaults_test.cpp compares our job configs with
these files, so our defaults are checked against the reference's own code, not against a transcription.
"""
import argparse
import ast
import json
import pathlib
import sys


def official_defaults(source_path: pathlib.Path) -> dict:
    tree = ast.parse(source_path.read_text())
    function = next(node for node in tree.body
                    if isinstance(node, ast.FunctionDef) and node.name == 'get_args_parser')
    namespace = {'argparse': argparse}
    exec(compile(ast.Module(body=[function], type_ignores=[]), str(source_path), 'exec'), namespace)
    return vars(namespace['get_args_parser']().parse_args([]))


def main() -> None:
    checkout, out_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    for job in ('pretrain', 'finetune', 'linprobe'):
        defaults = official_defaults(checkout / f'main_{job}.py')
        (out_dir / f'{job}.json').write_text(json.dumps(defaults, indent=2) + '\n')
        print(f'{job}: {len(defaults)} settings')


if __name__ == '__main__':
    main()
