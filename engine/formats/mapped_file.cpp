// POSIX memory mapping of model files.
#include "formats/mapped_file.h"

#include "common/error.h"
#include "common/huge_pages.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace logitscope {

namespace {
constexpr size_t kSmallPagesMin = size_t(64) << 20; // smaller files are not worth reading again
}

bool MappedFile::mostlySmallPages(size_t resident, size_t hugePages)
{
    return resident >= kSmallPagesMin && hugePages < resident / 2;
}

MappedFile::MappedFile(const std::string& path, bool populate) : m_path(path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    m_size = size_t(st.st_size);
    if (m_size > 0) {
        void* p = mapAligned(fd, m_size);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error(path + ": cannot map into memory: " + std::strerror(err));
        }
        m_data = static_cast<const uint8_t*>(p);
        try {
            if (populate)
                preferHugePages(fd);
        } catch (...) {
            ::close(fd);
            throw;
        }
    }
    ::close(fd);
}

// A large file the page cache holds in 4 KiB pages is read again as 2 MiB pages: decode streams every
// weight once per token, 15-20 % faster from huge pages (docs/performance.md). The mapping is
// populated now (the caller is about to read all of it); where most of it came back in small pages,
// those pages are dropped from the cache (only pages nobody else maps and nobody has dirtied go) and
// the file is mapped and read once more through the huge-page mapping.
// Files under 64 MiB, and files over a quarter of RAM (populating them would crowd the machine),
// are left to load lazily.
void MappedFile::preferHugePages(int fd)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
#ifndef MADV_POPULATE_READ
    constexpr int MADV_POPULATE_READ = 22; // Linux 5.14; older kernels answer EINVAL
#endif
    const long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
    if (m_size < kSmallPagesMin || pages <= 0 || pageSize <= 0 || m_size > size_t(pages) * size_t(pageSize) / 4)
        return;
    auto* data = const_cast<uint8_t*>(m_data);
    if (::madvise(data, m_size, MADV_POPULATE_READ) != 0)
        return;
    size_t resident = 0, huge = 0;
    residentBytes(resident, huge);
    if (!mostlySmallPages(resident, huge))
        return;
    ::munmap(data, m_size);
    m_data = nullptr;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    void* p = mapAligned(fd, m_size);
    if (p == MAP_FAILED)
        throw Error(m_path + ": cannot map into memory: " + std::strerror(errno));
    m_data = static_cast<const uint8_t*>(p);
    ::madvise(p, m_size, MADV_POPULATE_READ);
#else
    (void)fd;
#endif
}

// Large files are mapped at a 2 MiB-aligned address (file offset 0 on a 2 MiB boundary) and marked
// for huge pages: where the page cache holds the file in 2 MiB folios (Linux 6.x with large-folio
// file systems; reads through such a mapping allocate them), the kernel then maps each with one
// page-table entry. Decode streams every weight once per token, and 4 KiB pages cost a TLB miss and
// a cold hardware prefetcher every 4 KiB (measured: 15-20 % of decode speed on 2 Zen 5 cores).
void* MappedFile::mapAligned(int fd, size_t size)
{
    constexpr size_t kHuge = kHugePageBytes;
    if (size < kHuge)
        return ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    // Reserve room for an aligned start, map the file over it, and give back the slack either side.
    void* reserved = ::mmap(nullptr, size + kHuge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (reserved == MAP_FAILED)
        return MAP_FAILED;
    auto* base = static_cast<uint8_t*>(reserved);
    auto* aligned = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(base) + kHuge - 1) & ~(kHuge - 1));
    void* p = ::mmap(aligned, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        const int err = errno;
        ::munmap(reserved, size + kHuge);
        errno = err;
        return MAP_FAILED;
    }
    // The reservation spans whole pages: [base, base + kHuge + pages(size)); the file mapping covers
    // [aligned, aligned + pages(size)). What is left either side goes back.
    const size_t pageSize = size_t(::sysconf(_SC_PAGESIZE));
    const size_t pages = (size + pageSize - 1) / pageSize * pageSize;
    if (aligned > base)
        ::munmap(base, size_t(aligned - base));
    if (base + kHuge > aligned)
        ::munmap(aligned + pages, size_t(base + kHuge - aligned));
#ifdef MADV_HUGEPAGE
    ::madvise(aligned, size, MADV_HUGEPAGE); // a hint: refused on kernels without file THP, harmlessly
#endif
    return aligned;
}

MappedFile::~MappedFile()
{
    if (m_data)
        ::munmap(const_cast<uint8_t*>(m_data), m_size);
}

void MappedFile::residentBytes(size_t& resident, size_t& hugePages) const
{
    resident = hugePages = 0;
    if (!m_data)
        return;
    // smaps lists each mapping as a "start-end perms ..." line followed by "Key: value kB" lines.
    std::ifstream smaps("/proc/self/smaps");
    const auto start = reinterpret_cast<uintptr_t>(m_data);
    bool ours = false;
    for (std::string line; std::getline(smaps, line);) {
        const auto dash = line.find('-');
        if (dash != std::string::npos && line.find(':') > dash && line.find(' ') > dash) {
            ours = std::strtoull(line.c_str(), nullptr, 16) == start;
            continue;
        }
        if (!ours)
            continue;
        std::istringstream in(line);
        std::string key;
        size_t kb = 0;
        in >> key >> kb;
        if (key == "Rss:")
            resident = kb * 1024;
        else if (key == "FilePmdMapped:")
            hugePages = kb * 1024;
    }
}

} // namespace logitscope
