// MappedFile: a read-only memory map of a whole file (weights are read in place, never copied).
// Not a general I/O layer: files are mapped once and live as long as the model that uses them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace logitscope {

class MappedFile {
public:
    // Maps `path` read-only; throws Error naming the file when it cannot be opened or mapped.
    // populate: read the whole file in now, in 2 MiB pages where the kernel can (preferHugePages) —
    // for weights about to be streamed; metadata readers leave it off and fault in what they touch.
    explicit MappedFile(const std::string& path, bool populate = false);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return m_data; }
    size_t size() const { return m_size; }
    const std::string& path() const { return m_path; }
    // Bytes of this mapping that sit in memory as 2 MiB pages (FilePmdMapped in /proc/self/smaps),
    // and the bytes resident in memory at all; both 0 where the kernel does not say.
    void residentBytes(size_t& resident, size_t& hugePages) const;
    // Whether a mapping with `resident` bytes in memory, `hugePages` of them in 2 MiB pages, is large
    // (64 MiB or more) and mostly in 4 KiB pages: what a populating load reads again, and bench warns of.
    static bool mostlySmallPages(size_t resident, size_t hugePages);

private:
    static void* mapAligned(int fd, size_t size);
    void preferHugePages(int fd);

    std::string m_path;
    const uint8_t* m_data = nullptr;
    size_t m_size = 0;
};

} // namespace logitscope
