/*
 * semihost.h - Arm semihosting for the firmware runner: text out and an exit
 * status, through the debugger trap (bkpt 0xab) that QEMU's
 * -semihosting-config enable=on,target=native answers.  No newlib needed.
 */
#ifndef CIRCNN_SEMIHOST_H
#define CIRCNN_SEMIHOST_H

#include <stdint.h>

#define SEMIHOST_SYS_WRITE0 0x04u
#define SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define SEMIHOST_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static inline uintptr_t semihost_call(uintptr_t op, uintptr_t arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Write a NUL-terminated string to the host's console. */
static inline void semihost_write0(const char *s)
{
    semihost_call(SEMIHOST_SYS_WRITE0, (uintptr_t)s);
}

/* Stop the emulator with this exit status (SYS_EXIT on 32-bit Arm only
 * tells pass or fail; SYS_EXIT_EXTENDED carries the code). */
static inline __attribute__((noreturn)) void semihost_exit(int status)
{
    volatile uintptr_t block[2] = {SEMIHOST_ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)status};
    semihost_call(SEMIHOST_SYS_EXIT_EXTENDED, (uintptr_t)block);
    for (;;) {
    }
}

#endif /* CIRCNN_SEMIHOST_H */
