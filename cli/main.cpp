// logitscope-cli: the engine from the command line (scripting, tests, benchmarks).
#include <cstdio>
int main() { std::puts("logitscope-cli: under construction"); return 0; }
