// Whole-file reads.
#include "common/read_file.h"

#include "common/error.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace logitscope {

std::string readFile(const std::string& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw Error(path + ": is a folder, not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(path + ": cannot open file");
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad())
        throw Error(path + ": could not read the file");
    return bytes.str();
}

} // namespace logitscope
