/* libFuzzer's entry for a program that keeps its own main (compiler-rt FuzzerInterface.h).
 * Only the fuzzing builds (-sanitize=fuzzer, -D FUZZING) call it; a plain build never links it. */
#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
