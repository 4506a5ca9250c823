#pragma once
// The one implementation of "a file appears under its final name only when it is whole", for every layer that
// writes files (io's AtomicFile, data's shard packer): the temporary name, flushing to disk, and the rename.
#include <string>

namespace mae {

// "<path>.tmp.<pid>": the name a file is written under until it is whole (io::remove_stale_temporaries recognises it
// after a crash).
std::string temporary_name(const std::string& path);

// fsync of a file, or of a folder after renames in it. IoError naming the path when a file's fails; a folder's is
// best effort (one that cannot be opened, or a filesystem that cannot sync folders, is not an error), since the
// renames it makes durable have already succeeded.
void sync_to_disk(const std::string& path, bool folder);

// Flushes the closed file `temporary` to disk and renames it over `path`: `path` is its old content or the whole new
// one. Sync `path`'s folder afterwards (once, after several) to make the rename itself durable.
void rename_durably(const std::string& temporary, const std::string& path);

}  // namespace mae
