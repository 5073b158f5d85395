// Registers the optional backends this build contains (the CUDA backend when logitscope_cuda is
// linked) with the engine's backend factory. Idempotent; the controller calls it before any load.
#pragma once

namespace logitscope::gui {

void registerOptionalBackends();

} // namespace logitscope::gui
