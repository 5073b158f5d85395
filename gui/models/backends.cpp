// Optional backend registration.
#include "models/backends.h"

#ifdef LOGITSCOPE_HAVE_CUDA
#include "cuda_backend.h"
#endif

namespace logitscope::gui {

void registerOptionalBackends()
{
    static const bool once = [] {
#ifdef LOGITSCOPE_HAVE_CUDA
        logitscope::registerCudaBackend();
#endif
        return true;
    }();
    (void)once;
}

} // namespace logitscope::gui
