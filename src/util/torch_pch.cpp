// Anchor for the shared precompiled header (third_party/torch.cmake); it has no code of its own.
