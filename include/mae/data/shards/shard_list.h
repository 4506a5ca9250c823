#pragma once
// --data_path as a set of WebDataset shards rather than an image folder: which paths name shards, and the list of
// shard URLs (file paths or `pipe:COMMAND`) that they name.
#include <string>
#include <vector>

namespace mae::data {

// Whether `data_path` names shards. It does when it
//   1. starts with `pipe:` (a command whose standard output is a shard; braces expand inside it);
//   2. ends with `.tar`: one shard, or a brace pattern of shards (`/data/train-{000000..001023}.tar`);
//   3. ends with `.txt`: a text file listing shards;
//   4. is a folder that directly holds at least one `.tar` file. An image folder holds class folders or images at its
//      top, never tar files, so such a folder cannot be meant as one.
// Anything else is left to the image folder path. Only rule 4 looks at the filesystem.
bool is_shard_spec(const std::string& data_path);

// The shards that `data_path` names, in order:
// - a `pipe:` URL or a path ending in `.tar`: its brace expansion (expand_braces);
// - a `.txt` list: one shard per line, blank lines and lines starting with `#` ignored, surrounding whitespace
//   trimmed; a relative path is relative to the list file's folder; `pipe:` lines are kept as written (no brace
//   expansion in a list, which is the explicit form);
// - a folder: its `.tar` files (regular files or links to them; not below subfolders), sorted by name.
// Shards are not opened here: a missing one is reported when it is read (ShardSource), which also holds for pipes.
// Throws UsageError naming `data_path` for a malformed brace, a list file that cannot be read, and a spec that names
// no shard.
std::vector<std::string> expand_shard_spec(const std::string& data_path);

// Brace expansion as bash and WebDataset's braceexpand do it, for shard names:
// - `{FIRST..LAST}`, two non-negative integers with FIRST <= LAST: every integer between them; when either bound
//   is written with a leading zero, all are zero-padded to the wider bound's width (`{000..011}`: 000 ... 011);
// - `{a,b,c}`: each item in turn (items may hold braces of their own, or be empty);
// - several braces expand as a product, the first varying slowest: `{a,b}{1..2}` gives a1 a2 b1 b2.
// Throws UsageError naming `pattern` for an unbalanced brace, a brace that is neither form (`{x}`, `{a..z}`), a
// descending range (`{5..1}`), or an expansion of more than 10 million names.
std::vector<std::string> expand_braces(const std::string& pattern);

}  // namespace mae::data
