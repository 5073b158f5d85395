// allocateHugePages: aligned_alloc + madvise(MADV_HUGEPAGE).
#include "model/huge_pages.h"

#include "common/error.h"

#include <algorithm>
#include <cstdlib>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace logitscope {

namespace {
constexpr size_t kHuge = size_t(2) << 20;
}

size_t hugePageBytes(size_t bytes)
{
    return (std::max<size_t>(bytes, 1) + kHuge - 1) / kHuge * kHuge;
}

HugePageMemory allocateHugePages(size_t bytes, const std::string& what)
{
    const size_t total = hugePageBytes(bytes);
    HugePageMemory mem(static_cast<uint8_t*>(std::aligned_alloc(kHuge, total)), std::free);
    if (!mem)
        throw Error(what + ": " + std::to_string(total >> 20) + " MiB could not be allocated");
#ifdef __linux__
    madvise(mem.get(), total, MADV_HUGEPAGE);
#endif
    return mem;
}

} // namespace logitscope
