// Unicode text rewrites that tokenizers ask for (NFC composition, full lowercase), through ICU.
// Not a general Unicode library; invalid UTF-8 is left as it is (the byte fallback handles it later).
#pragma once

#include <string>
#include <string_view>

namespace logitscope {

std::string toNfc(std::string_view utf8);
std::string toLowercase(std::string_view utf8);

} // namespace logitscope
