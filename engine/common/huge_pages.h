// Memory for large arrays that are streamed through: 2 MiB aligned and advised to use transparent
// huge pages (Linux), so a sequential read meets fewer TLB misses and no prefetcher restarts at 4 KiB
// page boundaries. Advice only: where the kernel declines, ordinary pages back it and it works the same.
// (formats/mapped_file.cpp maps large model files on the same 2 MiB boundaries.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace logitscope {

constexpr size_t kHugePageBytes = size_t(2) << 20; // the x86-64 transparent huge page

using HugePageMemory = std::unique_ptr<uint8_t, void (*)(void*)>;

// `bytes` rounded up to whole 2 MiB pages: what allocateHugePages takes for them.
size_t hugePageBytes(size_t bytes);
// hugePageBytes(bytes) of memory. Throws Error naming `what` and the size when the allocation fails.
HugePageMemory allocateHugePages(size_t bytes, const std::string& what);

} // namespace logitscope
