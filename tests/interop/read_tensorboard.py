#!/usr/bin/env python3
"""Reads a TensorBoard log folder with TensorBoard's own reader, which drops records whose checksums fail, and prints
one JSON line: {"files": N, "file_version": V, "scalars": {tag: [[step, value], ...]}}. Used by
tests/engine/tensorboard_test.cpp and the end-to-end tests. Usage: read_tensorboard.py LOG_DIR
"""
import json
import pathlib
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main():
    log_dir = sys.argv[1]
    accumulator = EventAccumulator(log_dir, size_guidance={'scalars': 0})  # 0: keep every point
    accumulator.Reload()
    scalars = {tag: [[event.step, event.value] for event in accumulator.Scalars(tag)]
               for tag in accumulator.Tags()['scalars']}
    files = len(list(pathlib.Path(log_dir).glob('events.out.tfevents.*')))
    print(json.dumps({'files': files, 'file_version': accumulator.file_version, 'scalars': scalars}))


if __name__ == '__main__':
    main()
