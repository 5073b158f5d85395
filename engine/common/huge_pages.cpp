// allocateHugePages: aligned_alloc + madvise(MADV_HUGEPAGE).
#include "common/huge_pages.h"

#include "common/error.h"

#include <algorithm>
#include <cstdlib>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace logitscope {

size_t hugePageBytes(size_t bytes)
{
    return (std::max<size_t>(bytes, 1) + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
}

HugePageMemory allocateHugePages(size_t bytes, const std::string& what)
{
    const size_t total = hugePageBytes(bytes);
    HugePageMemory mem(static_cast<uint8_t*>(std::aligned_alloc(kHugePageBytes, total)), std::free);
    if (!mem)
        throw Error(what + ": " + std::to_string(total >> 20) + " MiB could not be allocated");
#ifdef __linux__
    madvise(mem.get(), total, MADV_HUGEPAGE);
#endif
    return mem;
}

} // namespace logitscope
